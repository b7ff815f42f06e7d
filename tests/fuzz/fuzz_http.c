/* fuzz_http.c — split invariance of the parser generated from
 * spec/http.weft (tests/fuzz/README.md), with a server's framing as hooks
 * (tests/unit/http_trace_hooks.h). */
#include "../unit/http_trace_hooks.h"
#include "http_trace.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return http_trace_fuzz(data, size);
}
