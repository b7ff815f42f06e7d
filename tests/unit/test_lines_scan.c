/* test_lines_scan.c — the LINE mode's block scan (runtime/lines.c,
 * line_run: 64-byte blocks, a bit mask of candidates for the delimiter's
 * last byte) against a byte-wise reference model.
 *
 * The reference applies the LINE rule of lines.h to the whole stream at
 * once: a line is the bytes before the first complete delimiter; if the
 * delimiter does not end within max_line + delim_len bytes, too_long gets
 * those bytes and the rest of the line is dropped up to and including its
 * delimiter.  The driver must produce exactly the same events however the
 * stream is split.  Streams are chosen so that delimiters (and bytes equal
 * to the delimiter's last byte that do not end one) fall on every position
 * of a 64-byte block and on both sides of block and chunk edges, for
 * delimiters of 1, 2, 3 and 5 bytes, self-overlapping ones included, and
 * for limits around the block size.
 *
 * Built twice: test_lines_scan against libweft (SSE2 scan on x86-64) and
 * test_lines_scan_scalar with runtime/lines.c compiled with
 * WEFT_LINES_NO_SIMD (the portable scan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lines.h"

typedef struct {
    char *p;
    size_t len, cap;
} buf;

static void b_add(buf *b, const void *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
}

/* One event: kind ('L' line, 'T' too long), length, bytes. */
static void ev(buf *t, char kind, const char *d, size_t n)
{
    char head[32];
    int k = snprintf(head, sizeof head, "%c%zu:", kind, n);
    b_add(t, head, (size_t)k);
    b_add(t, d, n);
    b_add(t, "\n", 1);
}

/* ---- reference ---------------------------------------------------------- */

static const char *find(const char *s, size_t n, const char *d, size_t dl)
{
    if (n < dl)
        return NULL;
    for (size_t i = 0; i + dl <= n; i++)
        if (memcmp(s + i, d, dl) == 0)
            return s + i;
    return NULL;
}

/* Events for the whole stream; trailing bytes that end no line are left
 * undelivered (the driver holds them). */
static buf reference(const char *s, size_t n, const char *d, size_t dl,
                     size_t max)
{
    buf t = {0};
    size_t pos = 0;
    while (pos < n) {
        const char *q = find(s + pos, n - pos, d, dl);
        size_t qi = q ? (size_t)(q - s) : 0;
        if (q && qi - pos <= max) {
            ev(&t, 'L', s + pos, qi - pos);
            pos = qi + dl;
            continue;
        }
        if (n - pos < max + dl)
            break;                       /* partial line: held */
        ev(&t, 'T', s + pos, max + dl);
        if (!q)
            break;                       /* dropping: held */
        pos = qi + dl;
    }
    return t;
}

/* ---- driver ------------------------------------------------------------ */

static void on_line(weft_lines *p, const char *d, size_t n)
{
    ev(p->user, 'L', d, n);
}

static void on_long(weft_lines *p, const char *d, size_t n)
{
    ev(p->user, 'T', d, n);
}

/* Feeds s cut at the offsets cuts[0..nc) (ascending). */
static buf run(const char *s, size_t n, const char *d, size_t dl, size_t max,
               const size_t *cuts, size_t nc)
{
    buf t = {0};
    weft_mode mode = {
        .name = "l", .kind = WEFT_MODE_LINE, .delim = d, .delim_len = dl,
        .max_line = max, .next = -1, .line = on_line, .too_long = on_long,
    };
    weft_lines p;
    weft_lines_init(&p, &mode, 1, 0, &t);
    size_t at = 0;
    for (size_t i = 0; i <= nc; i++) {
        size_t to = i < nc ? cuts[i] : n;
        /* Each piece in its own allocation of exactly its size, so ASan
         * catches a scan that reads past the end of a chunk. */
        size_t len = to - at;
        char *piece = malloc(len ? len : 1);
        assert_non_null(piece);
        memcpy(piece, s + at, len);
        assert_int_equal(weft_lines_feed(&p, piece, len), len);
        free(piece);
        at = to;
    }
    assert_int_equal(weft_lines_error(&p), 0);
    /* Linear work, as before the block scan (CONFORMANCE 19). */
    assert_true(p.stat_searched <= 2 * (uint64_t)n + 2 * (nc + 1) * (dl + 64));
    weft_lines_free(&p);
    if (!t.p)
        b_add(&t, "", 0);
    return t;
}

static void expect_same(const char *s, size_t n, const char *d, size_t dl,
                        size_t max, const size_t *cuts, size_t nc)
{
    buf want = reference(s, n, d, dl, max);
    buf got = run(s, n, d, dl, max, cuts, nc);
    if (!want.p)
        b_add(&want, "", 0);
    if (want.len != got.len || memcmp(want.p, got.p, want.len) != 0) {
        fprintf(stderr, "delim len %zu, max_line %zu, %zu bytes, %zu cuts "
                "(first %zu): traces differ\n--- want\n%.2000s--- got\n"
                "%.2000s", dl, max, n, nc, nc ? cuts[0] : 0, want.p, got.p);
        fail();
    }
    free(want.p);
    free(got.p);
}

/* Whole, split in two at every offset, byte at a time, and at 64-byte
 * multiples plus an offset. */
static void all_splits(const char *s, size_t n, const char *d, size_t dl,
                       size_t max)
{
    expect_same(s, n, d, dl, max, NULL, 0);
    for (size_t i = 1; i < n; i++)
        expect_same(s, n, d, dl, max, &i, 1);
    size_t *cuts = malloc((n + 1) * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t i = 1; i < n; i++)
        cuts[i - 1] = i;
    expect_same(s, n, d, dl, max, cuts, n ? n - 1 : 0);
    for (size_t off = 1; off < 64; off += 7) {
        size_t nc = 0;
        for (size_t c = off; c < n; c += 64)
            cuts[nc++] = c;
        expect_same(s, n, d, dl, max, cuts, nc);
    }
    free(cuts);
}

static const struct {
    const char *d;
    size_t dl;
} delims[] = {
    {"\n", 1}, {"\r\n", 2}, {"aa", 2}, {"aba", 3}, {"\r\n.\r\n", 5},
};

/* Lines of one length L, for every L up to 130, so that each delimiter
 * ends at every position of a block (and straddles every block edge). */
static void test_every_position(void **unused)
{
    (void)unused;
    for (size_t k = 0; k < sizeof delims / sizeof delims[0]; k++) {
        const char *d = delims[k].d;
        size_t dl = delims[k].dl;
        for (size_t L = 0; L <= 130; L++) {
            buf s = {0};
            while (s.len < 200 + 2 * (L + dl)) {
                for (size_t i = 0; i < L; i++)
                    b_add(&s, "x", 1);
                b_add(&s, d, dl);
            }
            expect_same(s.p, s.len, d, dl, 1000, NULL, 0);
            size_t cut = s.len / 2 + 1;
            expect_same(s.p, s.len, d, dl, 1000, &cut, 1);
            free(s.p);
        }
    }
}

/* Lines that contain the delimiter's last byte (and other prefixes of it)
 * without ending there: every candidate the mask offers must be checked
 * against the bytes before it, also when those lie in the previous block
 * or the previous chunk. */
static void test_false_candidates(void **unused)
{
    (void)unused;
    for (size_t k = 0; k < sizeof delims / sizeof delims[0]; k++) {
        const char *d = delims[k].d;
        size_t dl = delims[k].dl;
        for (size_t at = 0; at < 70; at++) {
            buf s = {0};
            for (size_t i = 0; i < at; i++)
                b_add(&s, "y", 1);
            b_add(&s, d + dl - 1, 1);        /* last byte alone */
            b_add(&s, "z", 1);
            b_add(&s, d, dl - 1);            /* all but the last byte */
            b_add(&s, "z", 1);
            b_add(&s, d, dl);                /* the real one */
            b_add(&s, d, dl);                /* an empty line */
            all_splits(s.p, s.len, d, dl, 1000);
            free(s.p);
        }
    }
}

/* max_line around the block size, lines just under, at and over it,
 * placed at every offset of a block. */
static void test_limits(void **unused)
{
    (void)unused;
    static const size_t maxes[] = {0, 1, 2, 15, 16, 63, 64, 65, 127, 128};
    for (size_t k = 0; k < sizeof delims / sizeof delims[0]; k++) {
        const char *d = delims[k].d;
        size_t dl = delims[k].dl;
        for (size_t mi = 0; mi < sizeof maxes / sizeof maxes[0]; mi++) {
            size_t max = maxes[mi];
            for (size_t pre = 0; pre < 64; pre += 5) {
                buf s = {0};
                for (size_t i = 0; i < pre && i < max; i++)
                    b_add(&s, "p", 1);
                b_add(&s, d, dl);
                for (size_t extra = 0; extra <= 2; extra++) {
                    for (size_t i = 0; i < max; i++)
                        b_add(&s, "q", 1);
                    for (size_t i = 0; i < extra; i++)
                        b_add(&s, "r", 1);
                    b_add(&s, d, dl);
                }
                b_add(&s, "tail", 4);
                expect_same(s.p, s.len, d, dl, max, NULL, 0);
                for (size_t c = 1; c < s.len; c += 3)
                    expect_same(s.p, s.len, d, dl, max, &c, 1);
                free(s.p);
            }
        }
    }
}

/* Random streams over a small alphabet rich in delimiter bytes, random
 * cuts; a fixed seed, so a failure repeats. */
static void test_random(void **unused)
{
    (void)unused;
    uint64_t x = 0x9e3779b97f4a7c15u;
    static const char alpha[] = "ab\r\n.x";
    static const size_t maxes[] = {0, 3, 40, 64, 100, 5000};
    for (int round = 0; round < 3000; round++) {
        size_t k = (size_t)round % (sizeof delims / sizeof delims[0]);
        size_t max = maxes[(size_t)(round / 5) % 6];
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = x % 400;
        char *s = malloc(n + 1);
        assert_non_null(s);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            s[i] = alpha[x % 6];
        }
        size_t cuts[8], nc = 0;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t want = x % 8;
        for (size_t c = 0; c < want && n > 1; c++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t at = 1 + x % (n - 1);
            if (nc == 0 || at > cuts[nc - 1])
                cuts[nc++] = at;
        }
        expect_same(s, n, delims[k].d, delims[k].dl, max, cuts, nc);
        free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_position),
        cmocka_unit_test(test_false_candidates),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
