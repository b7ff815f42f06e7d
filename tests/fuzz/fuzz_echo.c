/* fuzz_echo.c — libFuzzer target: the echo parser (raw until close) gives
 * the same trace however its input is split.  See tests/fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>

#include "echo_trace.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return echo_trace_fuzz(data, size);
}
