/* fuzz_lineecho.c — libFuzzer target: the parser generated from
 * spec/lineecho.weft (one line mode, "\r\n", max_line 16384) gives the
 * same trace however its input is split (tests/fuzz/README.md). */
#include <stddef.h>
#include <stdint.h>

#include "lineecho_trace.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return lineecho_trace_fuzz(data, size);
}
