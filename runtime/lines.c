/* lines.c — the line/raw driver; the rules are written in lines.h.
 *
 * Shape: weft_lines_feed() runs one loop (run) over the caller's bytes.
 * Each turn looks at the current mode and handles one unit: a line, a raw
 * piece, a trailer, an end mark.  After every callback the loop re-reads
 * the mode and the stop/pause/clear flags, so a switch applies at the next
 * byte without recursion.
 *
 * Bytes the driver has taken from the caller but not delivered live in buf:
 * either the partial line of the current LINE mode (reparse == 0, every
 * byte of it already searched), or bytes that a mode switch sent back to be
 * parsed again (reparse == 1); the latter are run through the same loop,
 * detached from p, before any new input.
 */
#include "lines.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

/* The delimiter scan uses SSE2 where the compiler offers it (always on
 * x86-64); elsewhere a portable byte loop builds the same masks. */
#if defined(__SSE2__) && !defined(WEFT_LINES_NO_SIMD)
#define WEFT_LINES_SSE2 1
#include <emmintrin.h>
#endif

/* A buffer above this size is freed once it is empty at the end of a feed. */
#define SMALL_BUF 256

static size_t sat_add(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* Anything that must end the current pass over the input. */
static bool halted(const weft_lines *p)
{
    /* || of adjacent bit-fields compiles to one test of their word. */
    return p->stopped || p->paused || p->discard || p->reparse;
}

/* Starts mode `mode` afresh. */
static void enter(weft_lines *p, int mode, uint64_t count)
{
    p->mode = mode;
    p->remaining = count;
    p->matched = 0;
    p->raw_total = 0;
    p->skipping = 0;
    p->ended = 0;
}

/* Grows buf to hold need bytes; fails the parser when memory runs out. */
static bool ensure(weft_lines *p, size_t need)
{
    if (need <= p->buf_cap)
        return true;
    size_t cap = p->buf_cap ? p->buf_cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    /* Do not overshoot the current line mode's limit: the buffer never
     * needs more than max_line + delim_len for a partial line. */
    const weft_mode *m = &p->modes[p->mode];
    if (m->kind == WEFT_MODE_LINE) {
        size_t lim = sat_add(m->max_line, m->delim_len);
        if (cap > lim && lim >= need)
            cap = lim;
    }
    char *nb = realloc(p->buf, cap);
    if (!nb) {
        weft_lines_fail(p, WEFT_ENOMEM, "out of memory for the line buffer");
        return false;
    }
    p->buf = nb;
    p->buf_cap = cap;
    return true;
}

static bool append(weft_lines *p, const char *d, size_t n)
{
    if (!ensure(p, p->buf_len + n))
        return false;
    memcpy(p->buf + p->buf_len, d, n);
    p->buf_len += n;
    p->stat_copied += n;
    return true;
}

/* Puts n bytes back in front of whatever waits to be re-parsed. */
static void unshift(weft_lines *p, const char *d, size_t n)
{
    if (!n || !ensure(p, p->buf_len + n))
        return;
    memmove(p->buf + n, p->buf, p->buf_len);
    memcpy(p->buf, d, n);
    p->stat_copied += n + p->buf_len;
    p->buf_len += n;
    p->reparse = 1;
    p->poked = 1;
    p->scanned = 0;
}

/* Longest k (1..m) such that mark[0..k) ends mark[0..m) followed by c;
 * 0 if none.  Used when c breaks a partial match of m bytes. */
static size_t border(const char *mark, size_t m, char c)
{
    for (size_t k = m; k >= 1; k--)
        if (mark[k - 1] == c && memcmp(mark, mark + m - (k - 1), k - 1) == 0)
            return k;
    return 0;
}

/* Longest t < ml such that d[0..n) ends with mark[0..t). */
static size_t tail_prefix(const char *mark, size_t ml, const char *d, size_t n)
{
    size_t t = ml - 1 < n ? ml - 1 : n;
    for (; t > 0; t--)
        if (memcmp(d + n - t, mark, t) == 0)
            return t;
    return 0;
}

/* Continues a search for mark in d, p->matched bytes of it having been seen
 * at the end of earlier input.  Returns the index just past the mark and
 * sets *found, or returns n with p->matched set to the mark prefix that
 * ends d.  Used where the bytes before the mark are dropped. */
static size_t find_mark(weft_lines *p, const char *mark, size_t ml,
                        const char *d, size_t n, bool *found)
{
    size_t i = 0;
    *found = false;
    while (p->matched && i < n) {
        char c = d[i++];
        if (c == mark[p->matched]) {
            if (++p->matched == ml) {
                p->matched = 0;
                p->stat_searched += i;
                *found = true;
                return i;
            }
        } else {
            p->matched = border(mark, p->matched, c);
        }
    }
    p->stat_searched += i;
    if (i == n)
        return n;
    const char *hit = memmem(d + i, n - i, mark, ml);
    if (hit) {
        size_t e = (size_t)(hit - d) + ml;
        p->stat_searched += e - i;
        *found = true;
        return e;
    }
    p->stat_searched += n - i;
    p->matched = tail_prefix(mark, ml, d + i, n - i);
    return n;
}

/* ---- callbacks ----------------------------------------------------------- */

static void call_data(weft_lines *p,
                      void (*fn)(weft_lines *, const char *, size_t),
                      const char *d, size_t n)
{
    p->switched = 0;
    p->acted = 1;
    if (fn)
        fn(p, d, n);
}

static void call_end(weft_lines *p, void (*fn)(weft_lines *))
{
    p->switched = 0;
    p->acted = 1;
    if (fn)
        fn(p);
}

/* A complete line; then `next` unless the callback chose a mode. */
static void deliver_line(weft_lines *p, const weft_mode *m,
                         const char *line, size_t len)
{
    call_data(p, m->line, line, len);
    if (!p->switched && !p->stopped && m->next >= 0)
        enter(p, m->next, 0);
}

/* max_line + delim_len bytes without a delimiter: too_long, then drop the
 * rest of the line unless the callback switched mode or cleared. */
static void reject_line(weft_lines *p, const weft_mode *m,
                        const char *bad, size_t len)
{
    size_t t = tail_prefix(m->delim, m->delim_len, bad, len);
    if (!m->too_long) {
        weft_lines_fail(p, WEFT_ELINE_TOO_LONG, "line too long");
        return;
    }
    call_data(p, m->too_long, bad, len);
    if (!p->switched && !p->stopped && !p->discard) {
        p->skipping = 1;
        p->matched = t;
    }
}

/* Frees a big buffer once it is empty, so idle parsers stay small. */
static void tidy(weft_lines *p)
{
    if (!p->buf_len && p->buf_cap > SMALL_BUF) {
        free(p->buf);
        p->buf = NULL;
        p->buf_cap = 0;
    }
}

/* ---- LINE ---------------------------------------------------------------- */

/* Does a delimiter end at index e of d, where d continues the partial line
 * in buf?  The delimiter's last byte is already known to match. */
static bool delim_ends_at(const weft_lines *p, const weft_mode *m,
                          const char *d, size_t e)
{
    const size_t dl = m->delim_len, b = p->buf_len;
    for (size_t k = 0; k + 1 < dl; k++) {
        size_t idx = b + e - dl + k;
        char c = idx < b ? p->buf[idx] : d[idx - b];
        if (c != m->delim[k])
            return false;
    }
    return true;
}

/* buf holds a partial line (all of it searched); d (n > 0) continues it.
 * Only the new bytes are searched, so a line fed one byte at a time costs
 * linear time.  Returns the bytes of d used. */
static size_t line_straddle(weft_lines *p, const weft_mode *m,
                            const char *d, size_t n)
{
    const size_t dl = m->delim_len, b = p->buf_len;
    const size_t lim = sat_add(m->max_line, dl);
    const int last = (unsigned char)m->delim[dl - 1];
    const size_t room = lim - b;            /* b < lim always */
    const size_t win = n < room ? n : room;
    size_t i = 0;
    while (i < win) {
        const char *hit = memchr(d + i, last, win - i);
        if (!hit) {
            p->stat_searched += win - i;
            break;
        }
        size_t j = (size_t)(hit - d);
        p->stat_searched += j + 1 - i;
        if (b + j + 1 >= dl && delim_ends_at(p, m, d, j + 1)) {
            size_t len = b + j + 1 - dl;
            if (len > b && !append(p, d, len - b))
                return j + 1;
            p->buf_len = 0;                  /* consumed; memory stays valid
                                                during the callback */
            p->scanned = 0;
            deliver_line(p, m, p->buf, len);
            tidy(p);
            return j + 1;
        }
        i = j + 1;
    }
    if (!append(p, d, win))
        return win;
    if (p->buf_len >= lim) {
        p->buf_len = 0;
        p->scanned = 0;
        reject_line(p, m, p->buf, lim);
        tidy(p);
    } else {
        p->scanned = p->buf_len;
    }
    return win;
}

/* ---- the delimiter scan ------------------------------------------------- */

/* Bit i of the result is set iff b[i] == c, for i < n (n <= 64); bits from
 * n up are clear.  Reads only b[0..n).  With SSE2 (the x86-64 baseline) a
 * full block costs four compares; a short block (the end of a chunk) is
 * done 16 bytes at a time, then byte by byte. */
static inline uint64_t eq_mask64(const char *b, char c)
{
#ifdef WEFT_LINES_SSE2
    const __m128i k = _mm_set1_epi8(c);
    uint64_t m0 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(
        _mm_loadu_si128((const __m128i *)(const void *)b), k));
    uint64_t m1 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(
        _mm_loadu_si128((const __m128i *)(const void *)(b + 16)), k));
    uint64_t m2 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(
        _mm_loadu_si128((const __m128i *)(const void *)(b + 32)), k));
    uint64_t m3 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(
        _mm_loadu_si128((const __m128i *)(const void *)(b + 48)), k));
    return m0 | m1 << 16 | m2 << 32 | m3 << 48;
#else
    uint64_t mask = 0;
    for (size_t i = 0; i < 64; i++)
        mask |= (uint64_t)(b[i] == c) << i;
    return mask;
#endif
}

static inline uint64_t eq_mask(const char *b, size_t n, char c)
{
    uint64_t mask = 0;
    size_t i = 0;
    if (n == 64)
        return eq_mask64(b, c);
#ifdef WEFT_LINES_SSE2
    const __m128i k = _mm_set1_epi8(c);
    for (; i + 16 <= n; i += 16)
        mask |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(
            _mm_loadu_si128((const __m128i *)(const void *)(b + i)), k)) << i;
#endif
    for (; i < n; i++)
        mask |= (uint64_t)(b[i] == c) << i;
    return mask;
}

/* Index of the lowest set bit of m (m != 0).  __builtin_ctzll returns an
 * int, which costs a sign extension (and GCC adds a dependency-breaking
 * clear) on every line found; on x86-64 bsf gives the 64-bit index
 * directly. */
static inline size_t low_bit(uint64_t m)
{
#if defined(__x86_64__) && defined(__GNUC__)
    uint64_t i;
    __asm__("bsfq %1, %0" : "=r"(i) : "rm"(m) : "cc");
    return (size_t)i;
#else
    return (size_t)__builtin_ctzll(m);
#endif
}

/* After a callback poked the run: true if it ends here (a switch, stop,
 * pause or clear, or the mode's `next`, which it enters unless the
 * callback switched or stopped); false to go on (e.g. paused and resumed
 * in the callback). */
static inline bool run_ends(weft_lines *p, const weft_mode *m)
{
    bool once = m->next >= 0;
    bool halt = weft__lines_halted(p);
    if (!once && !halt) {
        p->poked = 0;
        return false;
    }
    if (once && !(p->switched | p->stopped))
        enter(p, m->next, 0);             /* also after pause, clear */
    return true;
}

/* The candidates for a delimiter's last byte c in the block at s (up to
 * end).  skip_first: a candidate at s itself is not one (a two-byte
 * delimiter ending there would start at s[-1], which is not this run's). */
static inline uint64_t start_mask(const char *s, const char *end, char c,
                                  bool skip_first)
{
    size_t n = (size_t)(end - s);
    uint64_t mask = eq_mask(s, n < 64 ? n : 64, c);
    return skip_first ? mask & ~(uint64_t)1 : mask;
}

/* A LINE mode without a `line` hook: its lines are dropped. */
static void no_line(weft_lines *p, const char *line, size_t len)
{
    (void)p;
    (void)line;
    (void)len;
}

/* The hot path: complete lines inside d, passed zero-copy, one after the
 * other while nothing changes (no switch, pause, stop, clear, next).
 * Returns where the delivered lines end, stopping early at the first line
 * it cannot finish here; *tailp: the bytes after that which it searched
 * (0 if a callback ended the run).  A mode's `fused` hook, if any, is
 * tried at each line start; where it stops short, the scan takes that
 * line.
 *
 * The scan looks for the delimiter's last byte 64 bytes at a time: one
 * block gives a bit mask of candidates, and each candidate (lowest bit
 * first) is checked against the rest of the delimiter, which lies in d
 * before it (a line and its delimiter never start before s).  So a block
 * of short lines costs one scan, not one memchr call per line.  Like
 * memchr, the scan may look at up to a block beyond the line it ends up
 * delivering; the caller counts the bytes of the lines delivered, or the
 * tail when there are none, in stat_searched.
 *
 * After a callback only p->poked is tested: every call that can end the
 * run (set_mode, pause, stop, fail, clear; a libweft close through
 * weft_conn_bind_lines) sets it, and so does a mode with `next` before its
 * one line.  Nothing else can change under a callback (the mode table is
 * const), so what the loop needs of m is read once, into locals.
 *
 * KIND selects the delimiter check, with constants for the common cases:
 * 1: one byte; 2: two different bytes (CRLF), where the byte before a
 * candidate at s is never the delimiter's first (it is the previous
 * delimiter's last, or lies before d: such a candidate is masked out), so
 * one compare does; 0: anything else.  FUSED: m has a fused hook, which
 * line_run_fused has already run at d (it returned start).  The scan
 * starts at start, the lines at d.
 * FIRST, LAST: the delimiter's first and last byte when the caller passes
 * them as constants ("\r\n", "\n"), else 0 (read from m). */
static inline __attribute__((always_inline)) const char *
line_run_dl(weft_lines *p, const weft_mode *m, const char *d,
            const char *start, size_t n, size_t *tailp, const int KIND,
            const bool FUSED, const char FIRST, const char LAST)
{
    const size_t dl = KIND ? (size_t)KIND : m->delim_len;
    const char *const delim = m->delim;
    const char last = LAST ? LAST : delim[dl - 1];
    const char first = FIRST ? FIRST : delim[0];
    const size_t max = m->max_line;
    const size_t lim = sat_add(max, dl);
    void (*const line)(weft_lines *, const char *, size_t) =
        m->line ? m->line : no_line;
    const char *s = FUSED ? start : d, *const end = d + n;
    const char *blk = s;                  /* block the mask describes */
    /* Two full blocks from blk on while blk is below this. */
    const char *const two_blocks = n >= 128 ? end - 127 : d;
    uint64_t mask;

    p->switched = 0;
    p->poked = m->next >= 0;              /* `next`: stop after one line */
    /* FUSED: line_run_fused called the hook at start already. */
    mask = start_mask(s, end, last, KIND == 2 && s == d);
    for (;;) {
        while (__builtin_expect(mask != 0, 1)) {
            const char *hit = blk + low_bit(mask);
            mask &= mask - 1;
            size_t len;                       /* of the line, if it is one */
            if (KIND == 2) {
                if (hit[-1] != first)
                    continue;                 /* not a delimiter: go on */
                len = (size_t)(hit - s) - 1;
            } else if (KIND == 1) {
                len = (size_t)(hit - s);
            } else {
                size_t used = (size_t)(hit - s) + 1;
                if (used < dl || memcmp(hit + 1 - dl, delim, dl - 1))
                    continue;
                len = used - dl;
            }
            if (len > max) {                  /* too long: line_step */
                *tailp = lim;
                return s;
            }
            const char *ln = s;
            s = hit + 1;
            line(p, ln, len);
            if (__builtin_expect(p->poked, 0) && run_ends(p, m)) {
                *tailp = 0;
                return s;
            }
            if (FUSED)
                goto line_start;
        }
        /* No delimiter ends in [s, blk + 64): stop when the line is over
         * its limit already, or the input ends (blk never passes end). */
        const bool long_line = (size_t)(blk + 64 - s) >= lim;
        if (__builtin_expect(blk < two_blocks && !long_line, 1)) {
            blk += 64;                        /* a full block follows */
            mask = eq_mask64(blk, last);
            continue;
        }
        size_t left = (size_t)(end - blk);
        if (left <= 64 || long_line) {
            size_t avail = (size_t)(end - s);
            *tailp = avail < lim ? avail : lim;
            return s;
        }
        blk += 64;
        mask = eq_mask(blk, left - 64, last);
        continue;
    line_start:
        /* The line's own grammar finds its end in the same pass (and may
         * deliver the lines after it too).  Where it stops short, the scan
         * takes that line: the hook is not asked twice at one place. */
        if (s < end) {
            size_t k = m->fused(p, s, (size_t)(end - s));
            s += k;
            if (k && p->poked && run_ends(p, m)) {
                *tailp = 0;
                return s;
            }
        }
        blk = s;
        mask = start_mask(s, end, last, KIND == 2 && s == d);
    }
}

/* After a run that a poke ended (run_ends): the mode the run may go on
 * in, right where it is, or NULL.  Only when a mode change alone ended it
 * (a `next`, or a switch from the callback with no bytes to parse again)
 * and the new mode is a LINE mode too: the loop in run() would come back
 * to line_run in that mode at the same byte with nothing else to do
 * first, so a request line and its header fields are one pass. */
static inline const weft_mode *run_goes_on(weft_lines *p)
{
    if (halted(p) || p->buf_len)
        return NULL;
    const weft_mode *m = &p->modes[p->mode];
    return m->kind == WEFT_MODE_LINE ? m : NULL;
}

/* line_run for a mode with a fused hook.  Out of line, so the loop has
 * the callee-saved registers to itself.  Returns where the lines it
 * delivered end; *tail: bytes searched after that. */
static __attribute__((noinline)) const char *
line_run_fused(weft_lines *p, const weft_mode *m, const char *d, size_t n,
               size_t *tail)
{
    const size_t dl = m->delim_len;
    const char *const dm = m->delim;
    /* The hook first, before the scan sets up: with `next` (a request
     * line) the run ends right after it. */
    p->switched = 0;
    p->poked = m->next >= 0;
    size_t k = m->fused(p, d, n);
    if (k && p->poked && run_ends(p, m)) {
        *tail = 0;
        return d + k;
    }
    if (dl == 2 && dm[0] != dm[1])
        return line_run_dl(p, m, d, d + k, n, tail, 2, true, 0, 0);
    return line_run_dl(p, m, d, d + k, n, tail, 0, true, 0, 0);
}

/* One run in mode m (see line_run_dl).  A mode with a fused hook goes to
 * its own function, so that each loop is compiled (registers, spills) on
 * its own. */
static inline __attribute__((always_inline)) const char *
line_run_mode(weft_lines *p, const weft_mode *m, const char *d, size_t n,
              size_t *tail)
{
    const size_t dl = m->delim_len;
    const char *const dm = m->delim;
    if (m->fused)
        return line_run_fused(p, m, d, n, tail);
    if (dl == 2 && dm[0] == '\r' && dm[1] == '\n')
        return line_run_dl(p, m, d, d, n, tail, 2, false, '\r', '\n');
    if (dl == 1 && dm[0] == '\n')
        return line_run_dl(p, m, d, d, n, tail, 1, false, '\n', '\n');
    if (dl == 1)
        return line_run_dl(p, m, d, d, n, tail, 1, false, 0, 0);
    if (dl == 2 && dm[0] != dm[1])
        return line_run_dl(p, m, d, d, n, tail, 2, false, 0, 0);
    return line_run_dl(p, m, d, d, n, tail, 0, false, 0, 0);
}

/* The hot path's entry: runs of lines, going on in the next LINE mode
 * where a mode change alone ended a run (run_goes_on).  Returns where the
 * delivered lines end; *tail as line_run_dl. */
static __attribute__((noinline)) const char *line_run(weft_lines *p,
                                                      const weft_mode *m,
                                                      const char *d,
                                                      size_t n, size_t *tail)
{
    const char *const end = d + n;
    const char *s = line_run_mode(p, m, d, n, tail);
    /* *tail == 0 short of the end: a poke ended the run. */
    while (*tail == 0 && s != end && (m = run_goes_on(p)) != NULL)
        s = line_run_mode(p, m, s, (size_t)(end - s), tail);
    return s;
}

/* One turn of a LINE mode; returns the bytes used (0: need more input). */
static size_t line_step(weft_lines *p, const weft_mode *m,
                        const char *d, size_t n)
{
    if (!n)
        return 0;
    if (p->skipping) {
        bool found;
        size_t k = find_mark(p, m->delim, m->delim_len, d, n, &found);
        if (found)
            p->skipping = 0;
        return k;
    }
    if (p->buf_len)
        return line_straddle(p, m, d, n);
    /* line_run returns a pointer, so it need not keep d in a register
     * across its callbacks. */
    size_t tail;
    size_t k = (size_t)(line_run(p, m, d, n, &tail) - d);
    if (k)
        p->acted = 1;
    /* After lines, the next turn searches the tail again: count it then. */
    p->stat_searched += k ? (uint64_t)k : tail;
    if (k || p->acted)
        return k;                   /* delivered lines; the loop goes on */
    /* No complete line at the start of d: it is too long or partial. */
    const size_t lim = sat_add(m->max_line, m->delim_len);
    if (n >= lim) {
        reject_line(p, m, d, lim);
        return lim;
    }
    if (append(p, d, n))            /* keep the partial line (buf empty) */
        p->scanned = p->buf_len;
    return n;
}

/* ---- UNTIL ------------------------------------------------------------- */

/* Hands out data of an UNTIL block, minding the cap.  Returns the bytes
 * disposed of (delivered or dropped); fewer than n when the cap cut the
 * piece short, or 0 when going over the cap failed the parser or made
 * too_long switch mode. */
static size_t until_data(weft_lines *p, const weft_mode *m,
                         const char *d, size_t n)
{
    if (p->skipping)
        return n;
    if (m->max_line && p->raw_total + n > m->max_line) {
        size_t allowed = m->max_line - p->raw_total;
        if (!allowed) {
            if (!m->too_long) {
                weft_lines_fail(p, WEFT_ELINE_TOO_LONG,
                                "raw block longer than its cap");
                return 0;
            }
            call_data(p, m->too_long, d, 1);
            if (p->switched || p->stopped)
                return 0;
            p->skipping = 1;            /* the rest of the block is dropped */
            return n;
        }
        n = allowed;
    }
    p->raw_total += n;
    call_data(p, m->raw, d, n);
    return n;
}

/* The end mark was found: raw_end, then `next` (or a new block). */
static void until_end(weft_lines *p, const weft_mode *m)
{
    call_end(p, m->raw_end);
    if (!p->switched && !p->stopped)
        enter(p, m->next >= 0 ? m->next : p->mode, 0);
}

static size_t until_step(weft_lines *p, const weft_mode *m,
                         const char *d, size_t n);

/* p->matched bytes of the mark are held back; d[0..n) continues them. */
static size_t until_held(weft_lines *p, const weft_mode *m,
                         const char *d, size_t n)
{
    const char *mk = m->delim;
    size_t k = p->matched, i = 0;
    while (i < n && k < m->delim_len && d[i] == mk[k]) {
        k++;
        i++;
    }
    p->stat_searched += i;
    p->matched = k;
    if (k == m->delim_len) {
        p->matched = 0;
        until_end(p, m);
        return i;
    }
    if (i == n)
        return i;
    /* d[i] breaks the match: the held bytes before the longest border are
     * data for sure; the border (ending with d[i]) stays held. */
    size_t m2 = border(mk, k, d[i]);
    size_t rel = m2 ? k + 1 - m2 : k;
    p->matched = 0;                     /* nothing held during callbacks */
    size_t got = until_data(p, m, mk, rel);
    if (p->discard || p->stopped)
        return i;
    if (p->switched || got < rel) {
        /* The held bytes not yet handed out are parsed again (in the new
         * mode, or past the cap); d[i] is not used. */
        unshift(p, mk + got, k - got);
        return i;
    }
    p->matched = m2;
    if (m2)
        return i + 1;
    /* Nothing is held now and d[i] starts a fresh search.  (Returning i,
     * possibly 0, would look like "no progress" to run(), which then
     * stops parsing the chunk: found by the SMTP tests, "ab\r\n\r\n" then
     * "hello\r\n.\r\n".) */
    if (halted(p))
        return i;
    return i + until_step(p, m, d + i, n - i);
}

/* One turn of an UNTIL mode; returns the bytes used. */
static size_t until_step(weft_lines *p, const weft_mode *m,
                         const char *d, size_t n)
{
    if (p->matched)
        return until_held(p, m, d, n);
    if (!n)
        return 0;
    const char *mk = m->delim;
    const size_t ml = m->delim_len;
    /* Under a cap, look no further than the cap allows: a callback that
     * switches mode at every over-cap event must not make each new block
     * rescan the rest of the chunk. */
    size_t win = n;
    if (m->max_line && !p->skipping) {
        size_t lim = sat_add(m->max_line - p->raw_total, ml);
        if (win > lim)
            win = lim;
    }
    const char *hit = memmem(d, win, mk, ml);
    size_t len, t = 0;
    if (!hit && win < n) {
        /* No mark starts in d[0..win - ml]: all data, more than the cap
         * allows, so this delivers what is left of it, or goes over. */
        p->stat_searched += win;
        return until_data(p, m, d, win - ml + 1);
    }
    if (hit) {
        len = (size_t)(hit - d);
        p->stat_searched += len + ml;
    } else {
        p->stat_searched += n;
        t = tail_prefix(mk, ml, d, n);
        len = n - t;
    }
    if (len) {
        size_t got = until_data(p, m, d, len);
        if (got < len || p->switched || halted(p))
            return got;
    }
    if (hit) {
        until_end(p, m);
        return len + ml;
    }
    p->matched = t;
    return n;
}

/* ---- COUNTED and CLOSE ------------------------------------------------- */

static size_t counted_step(weft_lines *p, const weft_mode *m,
                           const char *d, size_t n)
{
    if (p->ended) {
        if (n)
            weft_lines_fail(p, WEFT_EPROTOCOL,
                            "data after a counted block with no next mode");
        return 0;
    }
    if (p->remaining) {
        if (!n)
            return 0;
        size_t k = n;
        if (k > p->remaining)
            k = (size_t)p->remaining;
        p->remaining -= k;
        call_data(p, m->raw, d, k);
        return k;
    }
    size_t i = 0;
    while (p->matched < m->trailer_len && i < n) {
        if (d[i] != m->trailer[p->matched]) {
            weft_lines_fail(p, WEFT_EPROTOCOL,
                            "counted block not followed by its trailer");
            return i;
        }
        p->matched++;
        i++;
    }
    if (p->matched < m->trailer_len)
        return i;
    p->matched = 0;
    call_end(p, m->raw_end);
    if (!p->switched && !p->stopped) {
        if (m->next >= 0)
            enter(p, m->next, 0);
        else
            p->ended = 1;
    }
    return i;
}

/* ---- the loop ------------------------------------------------------------ */

/* Parses d[0..n) until it is used up or something halts the pass; returns
 * the bytes used. */
static size_t run(weft_lines *p, const char *d, size_t n)
{
    size_t pos = 0;
    int idle = 0;                   /* turns that used no byte in a row */
    while (!halted(p)) {
        const weft_mode *m = &p->modes[p->mode];
        const int before = p->mode;
        size_t k;
        p->switched = 0;
        p->acted = 0;
        switch (m->kind) {
        case WEFT_MODE_LINE:
            k = line_step(p, m, d + pos, n - pos);
            break;
        case WEFT_MODE_COUNTED:
            k = counted_step(p, m, d + pos, n - pos);
            break;
        case WEFT_MODE_UNTIL:
            k = until_step(p, m, d + pos, n - pos);
            break;
        case WEFT_MODE_CLOSE:
            k = n - pos;
            if (k)
                call_data(p, m->raw, d + pos, k);
            break;
        default:
            weft_lines_fail(p, WEFT_EINVAL, "bad mode kind");
            return pos;
        }
        pos += k;
        if (k) {
            idle = 0;
            continue;
        }
        /* No byte used and no event: the step wants more input. */
        if (!p->acted && p->mode == before)
            break;
        /* Zero-length blocks chained by `next` alone would spin forever. */
        if (!p->switched && ++idle > 2 * p->nmodes + 2) {
            weft_lines_fail(p, WEFT_EINVAL,
                            "modes loop through empty blocks without input");
            break;
        }
    }
    return pos;
}

/* Runs the bytes that a mode switch sent back, ahead of new input.  They are
 * detached from p first, so the loop may fill buf afresh meanwhile. */
static void drain(weft_lines *p)
{
    while (p->reparse && !p->stopped && !p->paused && !p->discard) {
        char *d = p->buf;
        size_t n = p->buf_len;
        p->buf = NULL;
        p->buf_len = p->buf_cap = 0;
        p->reparse = 0;
        p->scanned = 0;
        size_t k = run(p, d, n);
        if (k < n && !p->stopped && !p->discard) {
            /* Paused, or more bytes were sent back: keep the rest after
             * them. */
            if (append(p, d + k, n - k))
                p->reparse = 1;
        }
        free(d);
    }
}

/* Drops every byte held internally (clear). */
static void drop_held(weft_lines *p)
{
    const weft_mode *m = &p->modes[p->mode];
    p->buf_len = 0;
    p->scanned = 0;
    p->reparse = 0;
    if (m->kind == WEFT_MODE_UNTIL && !p->skipping)
        p->matched = 0;
    if (m->kind == WEFT_MODE_LINE) {
        p->skipping = 0;
        p->matched = 0;
    }
}

/* ---- public API ------------------------------------------------------- */

void weft_lines_init(weft_lines *p, const weft_mode *modes, int nmodes,
                     int initial, void *user)
{
    memset(p, 0, sizeof *p);
    p->modes = modes;
    p->nmodes = nmodes;
    p->user = user;
    if (initial < 0 || initial >= nmodes) {
        weft_lines_fail(p, WEFT_EINVAL, "no such initial mode");
        return;
    }
    /* A bad table would loop or read out of bounds later: refuse it now. */
    for (int i = 0; i < nmodes; i++) {
        const weft_mode *m = &modes[i];
        bool needs_delim = m->kind == WEFT_MODE_LINE
                           || m->kind == WEFT_MODE_UNTIL;
        if ((needs_delim && (!m->delim || !m->delim_len))
            || (m->trailer_len && !m->trailer) || m->next >= nmodes
            || m->next < -1) {
            weft_lines_fail(p, WEFT_EINVAL, "invalid mode table");
            return;
        }
    }
    enter(p, initial, 0);
}

void weft_lines_free(weft_lines *p)
{
    free(p->buf);
    p->buf = NULL;
    p->buf_len = p->buf_cap = 0;
    p->scanned = 0;
    p->reparse = 0;
}

size_t weft_lines_feed(weft_lines *p, const char *data, size_t len)
{
    if (p->stopped || p->paused)
        return 0;
    if (!data)
        data = "", len = 0;
    p->discard = 0;
    size_t pos = 0;
    for (;;) {
        if (p->reparse)
            drain(p);
        if (p->stopped || p->paused || p->discard || p->reparse)
            break;
        pos += run(p, data + pos, len - pos);
        if (!p->reparse || p->stopped || p->paused || p->discard)
            break;
    }
    if (p->discard) {
        p->discard = 0;
        drop_held(p);
        pos = len;
    }
    tidy(p);
    return pos;
}

int weft_lines_finish(weft_lines *p)
{
    if (p->stopped)
        return p->error;
    if (p->paused)
        return WEFT_EINVAL;
    weft_lines_feed(p, NULL, 0);
    if (p->stopped)
        return p->error;
    if (p->paused)
        return WEFT_EINVAL;
    const weft_mode *m = &p->modes[p->mode];
    switch (m->kind) {
    case WEFT_MODE_LINE:
        if (p->buf_len || p->skipping)
            weft_lines_fail(p, WEFT_EPROTOCOL, "stream ended inside a line");
        break;
    case WEFT_MODE_COUNTED:
        if (!p->ended)
            weft_lines_fail(p, WEFT_EPROTOCOL,
                            "stream ended inside a counted block");
        break;
    case WEFT_MODE_UNTIL:
        if (p->raw_total || p->matched || p->skipping)
            weft_lines_fail(p, WEFT_EPROTOCOL,
                            "stream ended before the end mark");
        break;
    case WEFT_MODE_CLOSE:
        call_end(p, m->raw_end);
        if (!p->switched && !p->stopped && m->next >= 0)
            enter(p, m->next, 0);
        break;
    }
    p->stopped = 1;
    tidy(p);
    return p->error;
}

void weft_lines_set_mode(weft_lines *p, int mode, uint64_t count)
{
    if (mode < 0 || mode >= p->nmodes) {
        weft_lines_fail(p, WEFT_EINVAL, "set_mode: no such mode");
        return;
    }
    const weft_mode *cur = &p->modes[p->mode];
    if (p->buf_len && !p->reparse) {
        p->reparse = 1;                 /* the partial line, parsed again */
        p->scanned = 0;
    } else if (cur->kind == WEFT_MODE_UNTIL && p->matched && !p->skipping) {
        unshift(p, cur->delim, p->matched);
    } else if (cur->kind == WEFT_MODE_COUNTED && !p->remaining && p->matched) {
        unshift(p, cur->trailer, p->matched);
    }
    enter(p, mode, count);
    p->switched = 1;
    p->poked = 1;
}

int weft_lines_mode(const weft_lines *p)
{
    return p->mode;
}

void weft_lines_pause(weft_lines *p)
{
    p->paused = 1;
    p->poked = 1;
}

void weft_lines_resume(weft_lines *p)
{
    if (!p->paused)
        return;
    p->paused = 0;
    if (p->on_resume && !p->stopped)
        p->on_resume(p);
}

bool weft_lines_paused(const weft_lines *p)
{
    return p->paused;
}

void weft_lines_stop(weft_lines *p)
{
    p->stopped = 1;
    p->poked = 1;
}

void weft_lines_fail(weft_lines *p, int code, const char *text)
{
    if (!p->error) {
        p->error = code;
        p->error_text = text ? text : weft_strerror(code);
    }
    p->stopped = 1;
    p->poked = 1;
}

int weft_lines_error(const weft_lines *p)
{
    return p->error;
}

const char *weft_lines_error_text(const weft_lines *p)
{
    return p->error ? p->error_text : NULL;
}

void weft_lines_clear(weft_lines *p)
{
    p->discard = 1;
    p->poked = 1;
    drop_held(p);
}

size_t weft_lines_buffered(const weft_lines *p)
{
    size_t n = p->buf_len;
    if (p->modes && p->modes[p->mode].kind == WEFT_MODE_UNTIL && !p->skipping)
        n += p->matched;
    return n;
}
