/* fuzz_memcache.c — libFuzzer target: the parser generated from
 * spec/memcache.weft gives the same trace however the input is split
 * (tests/fuzz/README.md).  A storage command enters the counted data mode
 * with <bytes> + 2, as weft-memcached's handlers do. */
#include <stddef.h>
#include <stdint.h>

#define MEMCACHE_TRACE_COMMAND(t, p, m)                                   \
    do {                                                                  \
        uint64_t n_;                                                      \
        if ((m)->bytes.p &&                                               \
            memcache_trace_number((m)->bytes, 10, &n_) == 0)              \
            memcache_set_mode((p), MEMCACHE_MODE_DATA, n_ + 2);           \
    } while (0)
#include "memcache_trace.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return memcache_trace_fuzz(data, size);
}
