/* fuzz_lines.c — libFuzzer target for the line/raw driver (runtime/lines.c)
 * itself, with mode tables and callback actions chosen by the input.
 *
 * Input: 8 configuration bytes, 16 action bytes, 1 chunking byte, then the
 * stream.  The configuration picks delimiters, end marks, trailers, limits
 * and too_long callbacks for five modes (LINE, COUNTED, UNTIL, a second
 * LINE, CLOSE); action byte i % 16 says what the callback of the i-th
 * line / raw_end / too_long event does (nothing, switch mode with a count,
 * pause, pause and resume at once, stop, fail); a configuration bit gives
 * both LINE modes a `fused` hook (as generated parsers have), so the
 * driver's one-pass mode change meets it too.  The stream is parsed whole, in chunks whose sizes
 * come from the chunking byte, and one byte at a time; the three canonical
 * traces (raw pieces merged) must be equal, and the driver's work counters
 * must stay linear.  A pause is resumed by the harness as soon as feed
 * returns, and the rest offered again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "lines.h"
#include "../unit/fused_standin.h"

typedef struct tbuf {
    char *p;
    size_t len, cap;
} tbuf;

static void t_add(tbuf *t, const void *d, size_t n)
{
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n)
            cap *= 2;
        t->p = realloc(t->p, cap);
        if (!t->p)
            abort();
        t->cap = cap;
    }
    memcpy(t->p + t->len, d, n);
    t->len += n;
}

typedef struct harness {
    weft_lines lp;
    tbuf trace;
    const uint8_t *acts;
    unsigned events;
    int last_raw_mode;           /* merge adjacent raw pieces of one mode */
    size_t last_raw_len_at;      /* offset of that piece's length field */
} harness;

static void act(harness *h)
{
    uint8_t a = h->acts[h->events++ % 16];
    weft_lines *p = &h->lp;
    /* Callbacks that keep entering empty blocks would loop forever, as
     * they would in a real program; stop acting after a while. */
    if (h->events > 20000)
        return;
    switch (a % 12) {
    case 0: case 1: case 2:
        break;
    case 3:
        if (a >= 128) {                               /* no pause at all */
            weft_lines_pause(p);
            weft_lines_resume(p);
        }
        break;
    case 4:
        weft_lines_set_mode(p, 1, a >> 4);            /* counted */
        break;
    case 5:
        weft_lines_set_mode(p, 2, 0);                 /* until */
        break;
    case 6:
        weft_lines_set_mode(p, 3, 0);                 /* second line mode */
        break;
    case 7:
        weft_lines_set_mode(p, 0, 0);
        break;
    case 8:
        weft_lines_set_mode(p, 4, 0);                 /* close */
        break;
    case 9:
        weft_lines_pause(p);
        break;
    case 10:
        if (a >= 128)
            weft_lines_stop(p);
        break;
    case 11:
        if (a >= 200)
            weft_lines_fail(p, WEFT_EPROTOCOL, "fuzz");
        break;
    }
}

static void event(harness *h, char kind, const char *d, size_t n)
{
    char head[2] = {kind, (char)('0' + weft_lines_mode(&h->lp))};
    if (h->lp.stopped)
        abort();                 /* no callback after stop */
    h->last_raw_mode = -1;
    t_add(&h->trace, head, 2);
    t_add(&h->trace, &n, sizeof n);
    if (n)
        t_add(&h->trace, d, n);
}

static void on_line(weft_lines *p, const char *d, size_t n)
{
    harness *h = p->user;
    event(h, 'L', d, n);
    act(h);
}

static void on_long(weft_lines *p, const char *d, size_t n)
{
    harness *h = p->user;
    event(h, 'T', d, n);
    act(h);
}

static void on_end(weft_lines *p)
{
    harness *h = p->user;
    event(h, 'E', NULL, 0);
    act(h);
}

static void on_raw(weft_lines *p, const char *d, size_t n)
{
    harness *h = p->user;
    int mode = weft_lines_mode(p);
    if (h->lp.stopped || n == 0)
        abort();
    if (h->last_raw_mode == mode) {
        size_t len;
        memcpy(&len, h->trace.p + h->last_raw_len_at, sizeof len);
        len += n;
        memcpy(h->trace.p + h->last_raw_len_at, &len, sizeof len);
        t_add(&h->trace, d, n);
        return;
    }
    event(h, 'R', d, n);
    h->last_raw_mode = mode;
    h->last_raw_len_at = h->trace.len - n - sizeof n;
}

/* A fused hook for LINE modes (fused_standin.h), through on_line. */
static size_t fused_line(weft_lines *p, const char *d, size_t n)
{
    return standin_fused(p, d, n, on_line);
}

static const char *const delims[8] = {"\n", "\r\n", "", "\r\n\r\n",
                                      "ab", "aab", "--", "aXa"};
static const size_t delim_lens[8] = {1, 2, 1, 4, 2, 3, 2, 3};
static const char *const trailers[4] = {"", "\r\n", ",", "aab"};

static void build_modes(const uint8_t *cfg, weft_mode *m)
{
    memset(m, 0, 5 * sizeof *m);
    for (int i = 0; i < 5; i++) {
        m[i].name = "m";
        m[i].next = -1;
        m[i].line = on_line;
        m[i].raw = on_raw;
        m[i].raw_end = on_end;
    }
    m[0].kind = WEFT_MODE_LINE;
    m[0].delim = delims[cfg[0] % 8];
    m[0].delim_len = delim_lens[cfg[0] % 8];
    m[0].max_line = cfg[1] % 24;
    m[0].too_long = cfg[0] & 8 ? on_long : NULL;
    m[0].next = cfg[0] & 16 ? 3 : -1;

    m[1].kind = WEFT_MODE_COUNTED;
    m[1].trailer = trailers[cfg[2] % 4];
    m[1].trailer_len = strlen(m[1].trailer);
    m[1].next = cfg[2] & 4 ? -1 : 0;

    m[2].kind = WEFT_MODE_UNTIL;
    m[2].delim = delims[cfg[3] % 8];
    m[2].delim_len = delim_lens[cfg[3] % 8];
    m[2].max_line = cfg[4] % 32;
    m[2].too_long = cfg[3] & 8 ? on_long : NULL;
    m[2].next = cfg[3] & 16 ? -1 : 0;

    m[3].kind = WEFT_MODE_LINE;
    m[3].delim = delims[cfg[5] % 8];
    m[3].delim_len = delim_lens[cfg[5] % 8];
    /* Lines over a block (64 bytes) and up to a few blocks too. */
    m[3].max_line = cfg[6] & 64 ? 60 + (size_t)(cfg[6] % 64) * 4
                                : cfg[6] % 40;
    m[3].too_long = cfg[5] & 8 ? on_long : NULL;
    m[3].next = cfg[5] & 16 ? 0 : -1;

    if (cfg[7] & 4) {
        m[0].fused = fused_line;
        m[3].fused = fused_line;
    }

    m[4].kind = WEFT_MODE_CLOSE;
    m[4].next = cfg[7] & 1 ? 0 : -1;
}

/* Parses data in chunks of sizes from `sizes` (cycled; NULL: whole). */
static tbuf run(const weft_mode *modes, int initial, const uint8_t *acts,
                const uint8_t *data, size_t len, const uint8_t *sizes,
                size_t nsizes)
{
    harness h;
    memset(&h, 0, sizeof h);
    h.acts = acts;
    h.last_raw_mode = -1;
    weft_lines_init(&h.lp, modes, 5, initial, &h);
    /* pending: bytes handed over but not consumed (the runtime's buffer) */
    char *pending = NULL;
    size_t plen = 0, pos = 0, k = 0;
    while (pos < len || plen) {
        if (pos < len) {
            size_t n = sizes ? (size_t)sizes[k++ % nsizes] % 16 + 1 : len;
            if (n > len - pos)
                n = len - pos;
            pending = realloc(pending, plen + n);
            memcpy(pending + plen, data + pos, n);
            plen += n;
            pos += n;
        }
        for (;;) {
            char *chunk = malloc(plen ? plen : 1);
            memcpy(chunk, pending, plen);
            size_t used = weft_lines_feed(&h.lp, chunk, plen);
            free(chunk);
            if (used > plen)
                abort();
            memmove(pending, pending + used, plen - used);
            plen -= used;
            if (!weft_lines_paused(&h.lp))
                break;
            t_add(&h.trace, "P", 1);
            h.last_raw_mode = -1;
            weft_lines_resume(&h.lp);
        }
        if (h.lp.stopped) {
            plen = 0;
            break;
        }
        if (plen && pos == len)
            abort();             /* not paused, not stopped: must consume */
    }
    int rc = h.lp.stopped ? weft_lines_error(&h.lp)
                          : weft_lines_finish(&h.lp);
    char tail[32];
    int n = snprintf(tail, sizeof tail, "F%d", rc);
    t_add(&h.trace, tail, (size_t)n);
    /* Linear work whatever the split.  Generous: bytes are searched again
     * after mode switches, and an until block under a cap of a few bytes
     * looks up to one end mark (at most 4 bytes here) past its data at
     * every over-cap event. */
    if (getenv("FL_DEBUG"))
        fprintf(stderr, "searched %llu copied %llu len %zu\n",
                (unsigned long long)h.lp.stat_searched,
                (unsigned long long)h.lp.stat_copied, len);
    if (h.lp.stat_searched > 12 * (uint64_t)len + 64
        || h.lp.stat_copied > 4 * (uint64_t)len + 64) {
        fprintf(stderr, "work: searched %llu copied %llu for %zu bytes\n",
                (unsigned long long)h.lp.stat_searched,
                (unsigned long long)h.lp.stat_copied, len);
        abort();
    }
    weft_lines_free(&h.lp);
    free(pending);
    return h.trace;
}

static void dump(const char *what, const tbuf *t)
{
    fprintf(stderr, "%s:", what);
    for (size_t i = 0; i < t->len; i++) {
        unsigned char c = (unsigned char)t->p[i];
        if (c > 32 && c < 127)
            fprintf(stderr, "%c", c);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fprintf(stderr, "\n");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 25)
        return 0;
    weft_mode modes[5];
    build_modes(data, modes);
    int initial = data[7] & 2 ? 3 : 0;
    const uint8_t *acts = data + 8;
    const uint8_t chunk_seed = data[24];
    const uint8_t *stream = data + 25;
    size_t len = size - 25;
    uint8_t sizes[7];
    for (int i = 0; i < 7; i++)
        sizes[i] = (uint8_t)(chunk_seed * (i + 3) + i);
    uint8_t one = 0;

    tbuf whole = run(modes, initial, acts, stream, len, NULL, 0);
    tbuf chunked = run(modes, initial, acts, stream, len, sizes, 7);
    tbuf bytes = run(modes, initial, acts, stream, len, &one, 1);
    if (whole.len != chunked.len || memcmp(whole.p, chunked.p, whole.len)
        || whole.len != bytes.len || memcmp(whole.p, bytes.p, whole.len)) {
        fprintf(stderr, "split invariance broken: traces %zu / %zu / %zu "
                "bytes\n", whole.len, chunked.len, bytes.len);
        dump("whole", &whole);
        dump("chunked", &chunked);
        dump("bytes", &bytes);
        abort();
    }
    free(whole.p);
    free(chunked.p);
    free(bytes.p);
    return 0;
}
