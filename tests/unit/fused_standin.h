/* fused_standin.h — a stand-in for the `fused` hook (lines.h) of generated
 * parsers, shared by test_lines and fuzz_lines: it finds the lines of a
 * LINE mode itself, bounded by max_line + delim_len like the driver, and
 * delivers them through line() while nothing halts and the mode has no
 * `next`; it leaves lines of odd length to the driver (as a grammar leaves
 * a mismatch), so a replay mixes both paths and must give the same trace
 * as without it. */
#ifndef WEFT_TEST_FUSED_STANDIN_H
#define WEFT_TEST_FUSED_STANDIN_H

#include <stdint.h>
#include <string.h>                 /* memmem: -D_GNU_SOURCE */

#include "lines.h"

static inline size_t standin_fused(weft_lines *p, const char *d, size_t n,
                                   void (*line)(weft_lines *, const char *,
                                                size_t))
{
    const weft_mode *m = &p->modes[weft_lines_mode(p)];
    size_t used = 0;
    do {
        size_t lim = m->max_line > SIZE_MAX - m->delim_len
                     ? SIZE_MAX : m->max_line + m->delim_len;
        size_t win = n - used < lim ? n - used : lim;
        const char *s = d + used;
        const char *hit = memmem(s, win, m->delim, m->delim_len);
        if (!hit || (size_t)(hit - s) % 2)
            break;
        line(p, s, (size_t)(hit - s));
        used += (size_t)(hit - s) + m->delim_len;
    } while (m->next < 0 && used < n && !weft__lines_halted(p));
    return used;
}

#endif
