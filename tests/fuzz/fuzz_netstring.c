/* fuzz_netstring.c — libFuzzer target: netstrings ("5:hello,") give the
 * same trace however the input is split.  The length line enters the
 * counted payload mode, as weft-netstring's handlers do. */
#include <stddef.h>
#include <stdint.h>

#define NETSTRING_TRACE_LENGTH(t, p, m)                                   \
    do {                                                                  \
        uint64_t n_;                                                      \
        if (netstring_trace_number((m)->len, 10, &n_) == 0)               \
            netstring_set_mode((p), NETSTRING_MODE_PAYLOAD, n_);          \
    } while (0)
#include "netstring_trace.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return netstring_trace_fuzz(data, size);
}
