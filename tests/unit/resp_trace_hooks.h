/* resp_trace_hooks.h — how weft-redis walks the modes of spec/resp.weft,
 * as hooks of the generated trace harness (build/gen/resp_trace.c,
 * tests/fuzz/README.md): a count line "*N" with N > 0 enters bulk_len, a
 * length line enters the counted bulk mode, the end of a block enters
 * bulk_len again or, after the last argument, command.  (weft-redis also
 * closes on the errors; the harness keeps parsing, which shows what the
 * parser alone does.)  Include it before "resp_trace.c"; shared by
 * tests/unit/test_resp_cases.c and tests/fuzz/fuzz_resp.c. */
#ifndef WEFT_RESP_TRACE_HOOKS_H
#define WEFT_RESP_TRACE_HOOKS_H

#include <stdint.h>

#include "resp.h"

/* The grammar already gave string2ll syntax; this only reads the value,
 * or returns -1 for a negative or an out-of-range one. */
static long long resp_hook_number(weft_span s)
{
    long long v = 0;
    if (!s.p || s.len == 0 || s.p[0] == '-' || s.len > 18)
        return -1;
    for (size_t i = 0; i < s.len; i++)
        v = v * 10 + (s.p[i] - '0');
    return v;
}

/* var[0]: arguments still to come in the current multibulk request. */
#define RESP_TRACE_COMMAND(t, p, m)                                       \
    do {                                                                  \
        long long n_ = resp_hook_number((m)->count);                      \
        if ((m)->count.p && n_ > 0 && n_ <= 0x7fffffff) {                 \
            (t)->var[0] = (uint64_t)n_;                                   \
            resp_set_mode((p), RESP_MODE_BULK_LEN, 0);                    \
        }                                                                 \
    } while (0)
#define RESP_TRACE_BULK_LEN(t, p, m)                                      \
    do {                                                                  \
        long long n_ = resp_hook_number((m)->len);                        \
        if (n_ >= 0 && n_ <= 512ll * 1024 * 1024)                         \
            resp_set_mode((p), RESP_MODE_BULK, (uint64_t)n_);             \
    } while (0)
#define RESP_TRACE_BULK_END(t, p)                                         \
    do {                                                                  \
        if (--(t)->var[0] > 0)                                            \
            resp_set_mode((p), RESP_MODE_BULK_LEN, 0);                    \
        else                                                              \
            resp_set_mode((p), RESP_MODE_COMMAND, 0);                     \
    } while (0)

#endif
