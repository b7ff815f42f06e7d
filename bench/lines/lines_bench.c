/* lines_bench.c — a generated line parser against a plain memchr loop.
 *
 * One in-memory stream of 64-byte lines ("\r\n"-terminated), fed in 64 KiB
 * chunks; the stream starts 23 bytes into a line so every chunk boundary
 * splits a line (the driver's copy path runs once per chunk, as it would
 * on a socket).  Three contestants go over the very same chunks, in turn,
 * repeated; each reports GB/s of thread CPU time:
 *
 *   weft     the parser weftc generates from spec/lineecho.weft (one
 *            line mode, delimiter "\r\n", max_line 16384), standalone
 *            (lineecho_parser_feed), its on_text callback only counting:
 *            the generated glue and the runtime's line driver, as any
 *            protocol built with weftc runs them
 *   memchr   for each chunk, memchr('\n') line after line, counting lines
 *            (the lines that straddle chunks are counted at their end);
 *            it does not check the '\r', the parser does
 *   grammar  the generated HTTP parser (spec/http.weft) over request lines
 *            "GET /... HTTP/1.1\r\n" of 64 bytes, its Ragel request-line
 *            grammar run on every line; the callback keeps the parser in
 *            request_line mode
 *
 * Usage: lines_bench [MB_PER_RUN [REPEATS]]   (defaults 256 and 5)
 * Prints one line per run and then medians:
 *   MEDIAN weft=<GB/s> memchr=<GB/s> grammar=<GB/s>
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "lineecho.h"

#define LINE 64
#define CHUNK 65536
#define BUF_MB 64

static uint64_t nlines, nmismatch;

static void count_line(lineecho_parser *p, const char *line, size_t len)
{
    (void)p;
    (void)line;
    (void)len;
    nlines++;
}

static void on_request(http_parser *p, const http_request_line *m)
{
    nlines += m->method.len != 0;
    http_set_mode(p, HTTP_MODE_REQUEST_LINE, 0);
}

/* The stream starts inside a line: that first piece does not match. */
static void on_mismatch(http_parser *p, enum http_mode m, const char *line,
                        size_t len)
{
    (void)p;
    (void)m;
    (void)line;
    (void)len;
    nmismatch++;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Fills buf with LINE-byte lines made by `make`, starting `skew` bytes into
 * the first line. */
static void fill(char *buf, size_t len, int http)
{
    const size_t skew = 23;
    char line[LINE];
    size_t pos = 0, k = 0;
    while (pos < len) {
        if (http) {
            /* "GET /" + path + " HTTP/1.1\r\n" = 64 bytes */
            static const char head[] = "GET /", tail[] = " HTTP/1.1\r\n";
            size_t path = LINE - (sizeof head - 1) - (sizeof tail - 1);
            memcpy(line, head, sizeof head - 1);
            for (size_t i = 0; i < path; i++)
                line[sizeof head - 1 + i] = (char)('a' + (k + i) % 26);
            memcpy(line + LINE - (sizeof tail - 1), tail, sizeof tail - 1);
        } else {
            for (size_t i = 0; i < LINE - 2; i++)
                line[i] = (char)(' ' + 1 + (k * 7 + i) % 94);
            line[LINE - 2] = '\r';
            line[LINE - 1] = '\n';
        }
        size_t from = pos == 0 ? skew : 0, n = LINE - from;
        if (n > len - pos)
            n = len - pos;
        memcpy(buf + pos, line + from, n);
        pos += n;
        k++;
    }
}

static double run_weft(const char *buf, size_t len, size_t total)
{
    static const lineecho_callbacks cb = {.on_text = count_line};
    lineecho_parser p;
    lineecho_parser_init(&p, &cb, NULL);
    nlines = 0;
    double t0 = now();
    for (size_t done = 0; done < total; done += len)
        for (size_t off = 0; off < len; off += CHUNK) {
            size_t n = len - off < CHUNK ? len - off : CHUNK;
            if (lineecho_parser_feed(&p, buf + off, n) != n)
                abort();
        }
    double t = now() - t0;
    lineecho_parser_free(&p);
    return (double)total / t / 1e9;
}

static double run_memchr(const char *buf, size_t len, size_t total)
{
    nlines = 0;
    double t0 = now();
    for (size_t done = 0; done < total; done += len)
        for (size_t off = 0; off < len; off += CHUNK) {
            size_t n = len - off < CHUNK ? len - off : CHUNK;
            const char *s = buf + off, *end = s + n, *q;
            while ((q = memchr(s, '\n', (size_t)(end - s))) != NULL) {
                nlines++;
                s = q + 1;
            }
        }
    double t = now() - t0;
    return (double)total / t / 1e9;
}

static double run_grammar(const char *buf, size_t len, size_t total)
{
    static const http_callbacks cb = {.on_request_line = on_request,
                                     .on_mismatch = on_mismatch};
    http_parser p;
    http_parser_init(&p, &cb, NULL);
    nlines = nmismatch = 0;
    double t0 = now();
    for (size_t done = 0; done < total; done += len)
        for (size_t off = 0; off < len; off += CHUNK) {
            size_t n = len - off < CHUNK ? len - off : CHUNK;
            if (http_parser_feed(&p, buf + off, n) != n) {
                fprintf(stderr, "grammar: parser error %d\n",
                        http_parser_error(&p));
                abort();
            }
        }
    double t = now() - t0;
    http_parser_free(&p);
    /* Only the piece of line the stream starts with may fail the grammar:
     * a figure over failing lines would measure nothing. */
    if (nmismatch > total / len || nlines < total / LINE - total / len) {
        fprintf(stderr, "grammar: %llu lines matched, %llu did not\n",
                (unsigned long long)nlines, (unsigned long long)nmismatch);
        exit(1);
    }
    return (double)total / t / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (reps < 1 || reps > 99 || mb < 1)
        return 2;
    size_t len = (size_t)BUF_MB << 20;
    if (len > mb << 20)
        len = mb << 20;
    size_t total = (mb << 20) / len * len;
    char *plain = malloc(len), *http = malloc(len);
    if (!plain || !http)
        return 1;
    fill(plain, len, 0);
    fill(http, len, 1);
    double w[99], m[99], g[99];
    uint64_t lw = 0, lm = 0;
    for (int r = 0; r < reps; r++) {
        /* Alternate the order so neither side always runs first. */
        if (r % 2) {
            m[r] = run_memchr(plain, len, total), lm = nlines;
            w[r] = run_weft(plain, len, total), lw = nlines;
        } else {
            w[r] = run_weft(plain, len, total), lw = nlines;
            m[r] = run_memchr(plain, len, total), lm = nlines;
        }
        g[r] = run_grammar(http, len, total);
        printf("run %d: weft=%.3f memchr=%.3f grammar=%.3f GB/s "
               "(%llu lines)\n", r + 1, w[r], m[r], g[r],
               (unsigned long long)lw);
        fflush(stdout);
        /* Both must have seen the same lines (memchr counts only complete
         * lines inside chunks plus the ends of straddling ones). */
        if (lw != lm) {
            fprintf(stderr, "line counts differ: weft %llu memchr %llu\n",
                    (unsigned long long)lw, (unsigned long long)lm);
            return 1;
        }
    }
    printf("MEDIAN weft=%.3f memchr=%.3f grammar=%.3f\n", median(w, reps),
           median(m, reps), median(g, reps));
    free(plain);
    free(http);
    return 0;
}
