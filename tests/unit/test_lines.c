/* test_lines.c — conformance runner for the line/raw driver (runtime/lines.c).
 *
 * Reads every .case file in tests/conformance (format: tests/conformance/
 * README.md) and replays each case: whole, split at every offset (or at a
 * spread of offsets for long inputs), at every pair of offsets for short
 * inputs, in seeded random chunks, and one byte at a time.  Every replay
 * must give the identical callback trace.  Each chunk is fed from its own
 * exact-size heap copy, so under ASan a read past a chunk or a pointer kept
 * into an earlier chunk fails the test.  A few behaviours that are about
 * the API rather than a byte stream are plain cmocka tests at the end.
 *
 * The directory comes from $WEFT_CONFORMANCE_DIR, else tests/conformance
 * relative to the current directory (make test runs from the top).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <cmocka.h>

#include "error.h"
#include "lines.h"
#include "fused_standin.h"

#define MAX_MODES 8
#define MAX_RULES 16
#define MAX_ACTIONS 4

/* ---- growable byte strings ------------------------------------------------ */

typedef struct bytes {
    char *p;
    size_t len, cap;
} bytes;

static void b_add(bytes *b, const void *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void b_str(bytes *b, const char *s)
{
    b_add(b, s, strlen(s));
}

/* Appends d escaped as a C string literal. */
static void b_quote(bytes *b, const char *d, size_t n)
{
    b_str(b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];
        char tmp[8];
        switch (c) {
        case '\r': b_str(b, "\\r"); break;
        case '\n': b_str(b, "\\n"); break;
        case '\t': b_str(b, "\\t"); break;
        case '\\': b_str(b, "\\\\"); break;
        case '"': b_str(b, "\\\""); break;
        default:
            if (c == 0) {
                b_str(b, "\\0");
            } else if (c < 32 || c > 126) {
                snprintf(tmp, sizeof tmp, "\\x%02x", c);
                b_str(b, tmp);
            } else {
                b_add(b, &c, 1);
            }
        }
    }
    b_str(b, "\"");
}

/* ---- a parsed case ------------------------------------------------------ */

enum action_kind { A_SET, A_PAUSE, A_RESUME, A_CLEAR, A_STOP, A_FAIL };
enum event_kind { E_LINE, E_END, E_LONG, E_RAWBYTE };

typedef struct action {
    enum action_kind kind;
    int mode;                 /* A_SET */
    uint64_t count;           /* A_SET: count; A_PAUSE: resume when this
                                 many input bytes have arrived */
    int until_end;            /* A_PAUSE: resume after all input */
} action;

typedef struct rule {
    enum event_kind ev;
    uint64_t n;               /* 1-based; 0 means every such event */
    action acts[MAX_ACTIONS];
    int nacts;
} rule;

typedef struct tcase {
    char name[128];
    char file[256];
    int line;                 /* where the case starts */
    weft_mode modes[MAX_MODES];
    char mode_names[MAX_MODES][32];
    bytes delims[MAX_MODES], trailers[MAX_MODES];
    int has_too_long[MAX_MODES];
    int nmodes, initial;
    bytes input;
    rule rules[MAX_RULES];
    int nrules;
    int noeof, copyok;
    int reads;                /* replay only with the reads as written */
    size_t read_ends[64];     /* end offset of each `input` line */
    int nreads;
    bytes expect;             /* canonical trace, one event per line */
} tcase;

/* ---- the case-file reader ------------------------------------------------ */

typedef struct reader {
    const char *file;
    const char *s;            /* whole file */
    size_t pos, len;
    int line;
} reader;

static void die(const reader *r, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: ", r->file, r->line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);                    /* a broken case file is a failed suite */
}

/* Skips blanks and comments, but not newlines. */
static void skip_blank(reader *r)
{
    while (r->pos < r->len) {
        char c = r->s[r->pos];
        if (c == ' ' || c == '\t' || c == '\r') {
            r->pos++;
        } else if (c == '#') {
            while (r->pos < r->len && r->s[r->pos] != '\n')
                r->pos++;
        } else {
            break;
        }
    }
}

static int at_eol(reader *r)
{
    skip_blank(r);
    return r->pos >= r->len || r->s[r->pos] == '\n' || r->s[r->pos] == ';';
}

static void next_line(reader *r)
{
    skip_blank(r);
    if (r->pos < r->len && r->s[r->pos] == '\n') {
        r->pos++;
        r->line++;
    } else if (r->pos < r->len) {
        die(r, "unexpected text: %.20s", r->s + r->pos);
    }
}

/* A bare word (letters, digits, _ - * .). Returns 0 at end of line. */
static int word(reader *r, char *out, size_t cap)
{
    if (at_eol(r))
        return 0;
    size_t n = 0;
    while (r->pos < r->len) {
        char c = r->s[r->pos];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';'
            || c == '"' || c == '#')
            break;
        if (n + 1 < cap)
            out[n++] = c;
        r->pos++;
    }
    out[n] = 0;
    if (!n)
        die(r, "expected a word");
    return 1;
}

static uint64_t number(reader *r)
{
    char w[32], *end;
    if (!word(r, w, sizeof w))
        die(r, "expected a number");
    uint64_t v = strtoull(w, &end, 10);
    if (*end)
        die(r, "not a number: %s", w);
    return v;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One or more string terms: "..." with C escapes, each optionally *N. */
static void strings(reader *r, bytes *out)
{
    int any = 0;
    for (;;) {
        skip_blank(r);
        if (r->pos >= r->len || r->s[r->pos] != '"')
            break;
        r->pos++;
        bytes one = {0};
        b_add(&one, "", 0);
        for (;;) {
            if (r->pos >= r->len || r->s[r->pos] == '\n')
                die(r, "unterminated string");
            char c = r->s[r->pos++];
            if (c == '"')
                break;
            if (c != '\\') {
                b_add(&one, &c, 1);
                continue;
            }
            char e = r->s[r->pos++], v;
            switch (e) {
            case 'r': v = '\r'; break;
            case 'n': v = '\n'; break;
            case 't': v = '\t'; break;
            case '0': v = 0; break;
            case '\\': v = '\\'; break;
            case '"': v = '"'; break;
            case 'x': {
                int hi = hexval(r->s[r->pos]), lo = hexval(r->s[r->pos + 1]);
                if (hi < 0 || lo < 0)
                    die(r, "bad \\x escape");
                v = (char)(hi * 16 + lo);
                r->pos += 2;
                break;
            }
            default:
                die(r, "unknown escape \\%c", e);
                return;
            }
            b_add(&one, &v, 1);
        }
        uint64_t times = 1;
        if (r->pos < r->len && r->s[r->pos] == '*') {
            r->pos++;
            times = number(r);
        }
        for (uint64_t i = 0; i < times; i++)
            b_add(out, one.p, one.len);
        free(one.p);
        any = 1;
    }
    if (!any)
        die(r, "expected a string");
}

static int find_mode(const tcase *c, const char *name)
{
    for (int i = 0; i < c->nmodes; i++)
        if (!strcmp(c->mode_names[i], name))
            return i;
    return -1;
}

static int mode_arg(reader *r, const tcase *c)
{
    char w[64];
    if (!word(r, w, sizeof w))
        die(r, "expected a mode name");
    int m = find_mode(c, w);
    if (m < 0)
        die(r, "unknown mode %s", w);
    return m;
}

/* Pending `next` names, resolved when the case ends. */
typedef struct pending_next {
    char names[MAX_MODES][32];
} pending_next;

static void parse_mode(reader *r, tcase *c, pending_next *pn)
{
    char w[64];
    if (c->nmodes == MAX_MODES)
        die(r, "too many modes");
    int i = c->nmodes++;
    weft_mode *m = &c->modes[i];
    memset(m, 0, sizeof *m);
    m->next = -1;
    if (!word(r, c->mode_names[i], sizeof c->mode_names[i]))
        die(r, "mode needs a name");
    m->name = c->mode_names[i];
    if (!word(r, w, sizeof w))
        die(r, "mode needs a kind");
    if (!strcmp(w, "line")) m->kind = WEFT_MODE_LINE;
    else if (!strcmp(w, "counted")) m->kind = WEFT_MODE_COUNTED;
    else if (!strcmp(w, "until")) m->kind = WEFT_MODE_UNTIL;
    else if (!strcmp(w, "close")) m->kind = WEFT_MODE_CLOSE;
    else die(r, "unknown mode kind %s", w);
    if (m->kind == WEFT_MODE_LINE) {
        b_str(&c->delims[i], "\r\n");
        m->max_line = 16384;
    }
    while (word(r, w, sizeof w)) {
        if (!strcmp(w, "delim")) {
            c->delims[i].len = 0;
            strings(r, &c->delims[i]);
        } else if (!strcmp(w, "max")) {
            m->max_line = (size_t)number(r);
        } else if (!strcmp(w, "trailer")) {
            strings(r, &c->trailers[i]);
        } else if (!strcmp(w, "next")) {
            if (!word(r, pn->names[i], sizeof pn->names[i]))
                die(r, "next needs a mode");
        } else if (!strcmp(w, "toolong")) {
            c->has_too_long[i] = 1;
        } else {
            die(r, "unknown mode option %s", w);
        }
    }
}

static void parse_on(reader *r, tcase *c)
{
    char w[64];
    if (c->nrules == MAX_RULES)
        die(r, "too many rules");
    rule *ru = &c->rules[c->nrules++];
    memset(ru, 0, sizeof *ru);
    if (!word(r, w, sizeof w))
        die(r, "on needs an event");
    if (!strcmp(w, "line")) ru->ev = E_LINE;
    else if (!strcmp(w, "end")) ru->ev = E_END;
    else if (!strcmp(w, "long")) ru->ev = E_LONG;
    else if (!strcmp(w, "rawbyte")) ru->ev = E_RAWBYTE;
    else die(r, "unknown event %s", w);
    if (!word(r, w, sizeof w))
        die(r, "on needs a number or *");
    ru->n = strcmp(w, "*") ? strtoull(w, NULL, 10) : 0;
    for (;;) {
        if (ru->nacts == MAX_ACTIONS)
            die(r, "too many actions");
        action *a = &ru->acts[ru->nacts++];
        memset(a, 0, sizeof *a);
        if (!word(r, w, sizeof w))
            die(r, "expected an action");
        if (!strcmp(w, "set")) {
            a->kind = A_SET;
            a->mode = mode_arg(r, c);
            if (!at_eol(r))
                a->count = number(r);
        } else if (!strcmp(w, "pause")) {
            a->kind = A_PAUSE;
            a->until_end = 1;
            if (word(r, w, sizeof w)) {
                if (strcmp(w, "until"))
                    die(r, "pause [until N|end]");
                if (!word(r, w, sizeof w))
                    die(r, "pause until what?");
                if (strcmp(w, "end")) {
                    a->until_end = 0;
                    a->count = strtoull(w, NULL, 10);
                }
            }
        } else if (!strcmp(w, "resume")) {
            a->kind = A_RESUME;
        } else if (!strcmp(w, "clear")) {
            a->kind = A_CLEAR;
        } else if (!strcmp(w, "stop")) {
            a->kind = A_STOP;
        } else if (!strcmp(w, "fail")) {
            a->kind = A_FAIL;
        } else {
            die(r, "unknown action %s", w);
        }
        skip_blank(r);
        if (r->pos < r->len && r->s[r->pos] == ';') {
            r->pos++;
            continue;
        }
        break;
    }
}

/* One expected event, written canonically into out. */
static void parse_event(reader *r, tcase *c, bytes *out)
{
    char w[64];
    if (!word(r, w, sizeof w))
        return;
    bytes ev = {0};
    b_add(&ev, "", 0);
    if (!strcmp(w, "line") || !strcmp(w, "raw") || !strcmp(w, "long")) {
        int m = mode_arg(r, c);
        bytes s = {0};
        b_add(&s, "", 0);
        strings(r, &s);
        b_str(&ev, w);
        b_str(&ev, " ");
        b_str(&ev, c->mode_names[m]);
        b_str(&ev, " ");
        b_quote(&ev, s.p, s.len);
        free(s.p);
    } else if (!strcmp(w, "end")) {
        int m = mode_arg(r, c);
        b_str(&ev, "end ");
        b_str(&ev, c->mode_names[m]);
    } else if (!strcmp(w, "pause") || !strcmp(w, "resume")) {
        b_str(&ev, w);
    } else if (!strcmp(w, "buffered") || !strcmp(w, "result")) {
        char v[64];
        if (!word(r, v, sizeof v))
            die(r, "%s needs a value", w);
        b_str(&ev, w);
        b_str(&ev, " ");
        b_str(&ev, v);
    } else {
        die(r, "unknown event %s", w);
    }
    b_str(&ev, "\n");
    b_add(out, ev.p, ev.len);
    free(ev.p);
}

/* Merges adjacent raw events of the same mode in a canonical trace, since
 * raw data arrives in pieces that depend on the split. */
static void merge_raw(bytes *t)
{
    bytes out = {0};
    b_add(&out, "", 0);
    const char *s = t->p, *end = t->p + t->len;
    char prev_mode[64] = "";
    size_t prev_close = (size_t)-1;    /* offset of the closing quote */
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = (size_t)(nl - s) + 1;
        if (n > 4 && !strncmp(s, "raw ", 4)) {
            const char *sp = memchr(s + 4, ' ', n - 4);
            size_t ml = (size_t)(sp - (s + 4));
            if (prev_close != (size_t)-1 && ml == strlen(prev_mode)
                && !strncmp(s + 4, prev_mode, ml)) {
                /* Drop our closing quote + newline, append body. */
                out.len = prev_close;
                const char *body = sp + 2;            /* after the quote */
                b_add(&out, body, (size_t)(nl - body) + 1);
                prev_close = out.len - 2;
                s = nl + 1;
                continue;
            }
            memcpy(prev_mode, s + 4, ml);
            prev_mode[ml] = 0;
            b_add(&out, s, n);
            prev_close = out.len - 2;
        } else {
            prev_close = (size_t)-1;
            b_add(&out, s, n);
        }
        s = nl + 1;
    }
    free(t->p);
    *t = out;
}

/* Reads one case; returns 0 at end of file. */
static int parse_case(reader *r, tcase *c)
{
    char w[64];
    pending_next pn;
    memset(&pn, 0, sizeof pn);
    /* Find "case NAME". */
    for (;;) {
        if (r->pos >= r->len)
            return 0;
        if (word(r, w, sizeof w))
            break;
        next_line(r);
    }
    if (strcmp(w, "case"))
        die(r, "expected 'case', got %s", w);
    memset(c, 0, sizeof *c);
    skip_blank(r);
    size_t e = r->pos;
    while (e < r->len && r->s[e] != '\n')
        e++;
    snprintf(c->name, sizeof c->name, "%.*s", (int)(e - r->pos), r->s + r->pos);
    r->pos = e;
    snprintf(c->file, sizeof c->file, "%s", r->file);
    c->line = r->line;
    c->initial = -1;
    b_add(&c->input, "", 0);
    b_add(&c->expect, "", 0);
    next_line(r);
    int in_expect = 0;
    bytes rep = {0};
    uint64_t rep_n = 0;
    for (;;) {
        size_t save = r->pos;
        int save_line = r->line;
        if (r->pos >= r->len)
            break;
        if (!word(r, w, sizeof w)) {
            next_line(r);
            continue;
        }
        if (!strcmp(w, "case")) {
            r->pos = save;
            r->line = save_line;
            break;
        }
        if (in_expect) {
            if (!strcmp(w, "repeat")) {
                rep_n = number(r);
                rep.len = 0;
                b_add(&rep, "", 0);
            } else if (!strcmp(w, "endrepeat")) {
                for (uint64_t i = 0; i < rep_n; i++)
                    b_add(&c->expect, rep.p, rep.len);
                rep_n = 0;
            } else {
                r->pos = save;
                parse_event(r, c, rep_n ? &rep : &c->expect);
            }
        } else if (!strcmp(w, "mode")) {
            parse_mode(r, c, &pn);
        } else if (!strcmp(w, "initial")) {
            c->initial = mode_arg(r, c);
        } else if (!strcmp(w, "input")) {
            strings(r, &c->input);
            if (c->nreads < 64)
                c->read_ends[c->nreads++] = c->input.len;
        } else if (!strcmp(w, "on")) {
            parse_on(r, c);
        } else if (!strcmp(w, "noeof")) {
            c->noeof = 1;
        } else if (!strcmp(w, "reads")) {
            c->reads = 1;
        } else if (!strcmp(w, "copyok")) {
            c->copyok = 1;
        } else if (!strcmp(w, "expect")) {
            in_expect = 1;
        } else {
            die(r, "unknown directive %s", w);
        }
        next_line(r);
    }
    free(rep.p);
    if (!c->nmodes)
        die(r, "case %s has no mode", c->name);
    for (int i = 0; i < c->nmodes; i++) {
        weft_mode *m = &c->modes[i];
        if (pn.names[i][0]) {
            m->next = find_mode(c, pn.names[i]);
            if (m->next < 0)
                die(r, "unknown next mode %s", pn.names[i]);
        }
        m->delim = c->delims[i].p;
        m->delim_len = c->delims[i].len;
        m->trailer = c->trailers[i].p;
        m->trailer_len = c->trailers[i].len;
        if ((m->kind == WEFT_MODE_LINE || m->kind == WEFT_MODE_UNTIL)
            && !m->delim_len)
            die(r, "mode %s needs a delim", c->mode_names[i]);
    }
    if (c->initial < 0)
        c->initial = 0;
    merge_raw(&c->expect);
    return 1;
}

static void free_case(tcase *c)
{
    for (int i = 0; i < MAX_MODES; i++) {
        free(c->delims[i].p);
        free(c->trailers[i].p);
    }
    free(c->input.p);
    free(c->expect.p);
}

/* ---- the replay harness ------------------------------------------------ */

typedef struct harness {
    weft_lines lp;
    const tcase *c;
    bytes trace;
    uint64_t nline, nend, nlong, rawbytes;
    size_t arrived;           /* input bytes handed over so far */
    size_t resume_at;
    int stopped_by_action;
    int check_copy;           /* data must point into the current chunk */
    const char *cur;          /* the buffer being fed */
    size_t cur_len;
    weft_mode modes[MAX_MODES];
} harness;

static harness *H(weft_lines *p)
{
    return (harness *)p->user;
}

static void check_zero_copy(harness *h, const char *d, size_t n)
{
    if (!h->check_copy || !n)
        return;
    if (d < h->cur || d + n > h->cur + h->cur_len) {
        fprintf(stderr, "case %s: %zu bytes delivered from outside the fed "
                "buffer (copied)\n", h->c->name, n);
        fail();
    }
}

static void run_actions(harness *h, enum event_kind ev, uint64_t n,
                        uint64_t lo, uint64_t hi)
{
    for (int i = 0; i < h->c->nrules; i++) {
        const rule *ru = &h->c->rules[i];
        if (ru->ev != ev)
            continue;
        if (ev == E_RAWBYTE ? !(ru->n > lo && ru->n <= hi)
                            : (ru->n && ru->n != n))
            continue;
        for (int j = 0; j < ru->nacts; j++) {
            const action *a = &ru->acts[j];
            switch (a->kind) {
            case A_SET:
                weft_lines_set_mode(&h->lp, a->mode, a->count);
                break;
            case A_PAUSE:
                b_str(&h->trace, "pause\n");
                h->resume_at = a->until_end ? h->c->input.len : a->count;
                weft_lines_pause(&h->lp);
                break;
            case A_RESUME:
                b_str(&h->trace, "resume\n");
                weft_lines_resume(&h->lp);
                break;
            case A_CLEAR:
                weft_lines_clear(&h->lp);
                break;
            case A_STOP:
                h->stopped_by_action = 1;
                weft_lines_stop(&h->lp);
                break;
            case A_FAIL:
                weft_lines_fail(&h->lp, WEFT_EPROTOCOL, "failed by the test");
                break;
            }
        }
    }
}

static void record(harness *h, const char *what, const char *d, size_t n)
{
    b_str(&h->trace, what);
    b_str(&h->trace, " ");
    b_str(&h->trace, h->c->mode_names[weft_lines_mode(&h->lp)]);
    if (d) {
        b_str(&h->trace, " ");
        b_quote(&h->trace, d, n);
    }
    b_str(&h->trace, "\n");
}

static void on_line(weft_lines *p, const char *d, size_t n)
{
    harness *h = H(p);
    if (h->lp.stopped)
        fail_msg("callback after stop");
    check_zero_copy(h, d, n);
    record(h, "line", d, n);
    run_actions(h, E_LINE, ++h->nline, 0, 0);
}

static void on_too_long(weft_lines *p, const char *d, size_t n)
{
    harness *h = H(p);
    if (h->lp.stopped)
        fail_msg("callback after stop");
    /* An UNTIL mode's over-cap byte may be a held-back mark byte. */
    if (h->c->modes[weft_lines_mode(p)].kind == WEFT_MODE_LINE)
        check_zero_copy(h, d, n);
    record(h, "long", d, n);
    run_actions(h, E_LONG, ++h->nlong, 0, 0);
}

static void on_raw(weft_lines *p, const char *d, size_t n)
{
    harness *h = H(p);
    if (h->lp.stopped)
        fail_msg("callback after stop");
    assert_true(n > 0);
    check_zero_copy(h, d, n);
    record(h, "raw", d, n);
    uint64_t lo = h->rawbytes;
    h->rawbytes += n;
    run_actions(h, E_RAWBYTE, 0, lo, h->rawbytes);
}

static void on_raw_end(weft_lines *p)
{
    harness *h = H(p);
    if (h->lp.stopped)
        fail_msg("callback after stop");
    record(h, "end", NULL, 0);
    run_actions(h, E_END, ++h->nend, 0, 0);
}

/* A fused hook for LINE modes (fused_standin.h), through on_line. */
static size_t fused_line(weft_lines *p, const char *d, size_t n)
{
    return standin_fused(p, d, n, on_line);
}

/* Offers the pending bytes (the "runtime input buffer") until they are
 * used up, the parser stops, or it stays paused. */
static void pump(harness *h, bytes *pending)
{
    for (;;) {
        weft_lines *p = &h->lp;
        if (p->stopped)
            return;
        if (weft_lines_paused(p)) {
            if (h->arrived < h->resume_at) {
                /* Data arriving while paused changes nothing visible. */
                size_t before = h->trace.len;
                char *copy = malloc(pending->len + 1);
                memcpy(copy, pending->p, pending->len);
                assert_int_equal(weft_lines_feed(p, copy, pending->len), 0);
                free(copy);
                assert_int_equal(h->trace.len, before);
                return;
            }
            b_str(&h->trace, "resume\n");
            weft_lines_resume(p);
            continue;
        }
        if (!pending->len)
            return;
        /* Feed from an exact-size copy so ASan sees any overrun. */
        char *chunk = malloc(pending->len);
        memcpy(chunk, pending->p, pending->len);
        h->cur = chunk;
        h->cur_len = pending->len;
        size_t k = weft_lines_feed(p, chunk, pending->len);
        assert_true(k <= pending->len);
        free(chunk);
        h->cur = NULL;
        h->cur_len = 0;
        memmove(pending->p, pending->p + k, pending->len - k);
        pending->len -= k;
        if (!weft_lines_paused(p))
            return;
    }
}

/* Replays case c cut at the given offsets (sorted, each in 1..len-1);
 * returns the trace, which the caller frees. */
static bytes replay(const tcase *c, const size_t *cuts, size_t ncuts,
                    int check_copy, int fused, uint64_t *searched,
                    uint64_t *copied)
{
    harness *h = calloc(1, sizeof *h);
    h->c = c;
    h->check_copy = check_copy && !c->copyok;
    memcpy(h->modes, c->modes, sizeof h->modes);
    for (int i = 0; i < c->nmodes; i++) {
        weft_mode *m = &h->modes[i];
        if (m->kind == WEFT_MODE_LINE) {
            m->line = on_line;
            m->fused = fused ? fused_line : NULL;
        } else {
            m->raw = on_raw;
            m->raw_end = on_raw_end;
        }
        m->too_long = c->has_too_long[i] ? on_too_long : NULL;
    }
    b_add(&h->trace, "", 0);
    weft_lines_init(&h->lp, h->modes, c->nmodes, c->initial, h);
    bytes pending = {0};
    b_add(&pending, "", 0);
    size_t start = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : c->input.len;
        if (end <= start && i < ncuts)
            continue;
        b_add(&pending, c->input.p + start, end - start);
        h->arrived = end;
        pump(h, &pending);
        start = end;
    }
    if (!h->lp.stopped && !pending.len && !weft_lines_paused(&h->lp)) {
        if (c->noeof) {
            char tmp[64];
            snprintf(tmp, sizeof tmp, "buffered %zu\n",
                     weft_lines_buffered(&h->lp));
            b_str(&h->trace, tmp);
        } else {
            weft_lines_finish(&h->lp);
        }
    }
    const char *res = "OK";
    if (weft_lines_error(&h->lp))
        res = weft_err_name(weft_lines_error(&h->lp));
    else if (h->stopped_by_action)
        res = "STOPPED";
    else if (weft_lines_paused(&h->lp))
        res = "PAUSED";
    b_str(&h->trace, "result ");
    b_str(&h->trace, res);
    b_str(&h->trace, "\n");
    *searched = h->lp.stat_searched;
    *copied = h->lp.stat_copied;
    weft_lines_free(&h->lp);
    free(pending.p);
    bytes t = h->trace;
    free(h);
    merge_raw(&t);
    return t;
}

/* Prints where two traces first differ. */
static void show_diff(const tcase *c, const char *how, const bytes *want,
                      const bytes *got)
{
    size_t i = 0, line = 1;
    while (i < want->len && i < got->len && want->p[i] == got->p[i]) {
        if (want->p[i] == '\n')
            line++;
        i++;
    }
    size_t ws = i, gs = i;
    while (ws > 0 && want->p[ws - 1] != '\n')
        ws--;
    while (gs > 0 && got->p[gs - 1] != '\n')
        gs--;
    fprintf(stderr, "%s:%d: case \"%s\", fed %s: trace differs at event %zu\n"
            "  want: %.200s\n  got:  %.200s\n", c->file, c->line, c->name,
            how, line, want->p + ws, got->p + gs);
    if (want->len + got->len < 4000)
        fprintf(stderr, "--- want\n%s--- got\n%s", want->p, got->p);
}

static int check(const tcase *c, const char *how, const size_t *cuts,
                 size_t ncuts, int check_copy)
{
    int ok = 1;
    /* Plain, then with a `fused` hook in every LINE mode. */
    for (int fused = 0; fused < 2; fused++) {
        uint64_t searched, copied;
        char how2[128];
        bytes got = replay(c, cuts, ncuts, check_copy, fused, &searched,
                           &copied);
        snprintf(how2, sizeof how2, "%s%s", how, fused ? " (fused)" : "");
        if (got.len != c->expect.len
            || memcmp(got.p, c->expect.p, got.len)) {
            show_diff(c, how2, &c->expect, &got);
            ok = 0;
        }
        /* Linear work, whatever the split (CONFORMANCE 19). */
        uint64_t bound = 3 * (uint64_t)c->input.len + 64;
        if (searched > bound || copied > bound) {
            fprintf(stderr, "%s:%d: case \"%s\", fed %s: %llu bytes "
                    "searched, %llu copied for %zu input bytes\n", c->file,
                    c->line, c->name, how2, (unsigned long long)searched,
                    (unsigned long long)copied, c->input.len);
            ok = 0;
        }
        free(got.p);
    }
    return ok;
}

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void run_case(void **state)
{
    const tcase *c = *state;
    const size_t len = c->input.len;
    char how[96];
    int failures = 0;

    if (c->reads) {
        /* Behaviour defined by read boundaries (clear): keep them. */
        failures += !check(c, "in its reads", c->read_ends,
                           (size_t)(c->nreads - 1), 0);
        if (failures)
            fail_msg("case \"%s\" (%s:%d) failed", c->name, c->file,
                     c->line);
        return;
    }
    failures += !check(c, "whole", NULL, 0, 1);

    /* Two chunks, split at every offset (a spread of them if long). */
    size_t step = len <= 4096 ? 1 : len / 101 + 1;
    for (size_t s = 1; s < len && failures < 3; s += step) {
        snprintf(how, sizeof how, "in 2 chunks cut at %zu", s);
        failures += !check(c, how, &s, 1, 0);
    }
    /* Every pair of cuts for short inputs. */
    if (len <= 48) {
        for (size_t a = 1; a < len && failures < 3; a++)
            for (size_t b = a + 1; b < len && failures < 3; b++) {
                size_t cuts[2] = {a, b};
                snprintf(how, sizeof how, "in 3 chunks cut at %zu and %zu",
                         a, b);
                failures += !check(c, how, cuts, 2, 0);
            }
    }
    /* Seeded random chunk sizes. */
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    rng_state = 0x9e3779b97f4a7c15ull ^ len;
    int rounds = len <= 65536 ? 20 : 2;
    for (int r = 0; r < rounds && failures < 3; r++) {
        size_t n = 0, at = 0, maxc = 1 + (size_t)(rng() % 40);
        while ((at += 1 + rng() % maxc) < len)
            cuts[n++] = at;
        snprintf(how, sizeof how, "in random chunks (round %d, seed len %zu)",
                 r, len);
        failures += !check(c, how, cuts, n, 0);
    }
    /* One byte at a time. */
    for (size_t i = 1; i < len; i++)
        cuts[i - 1] = i;
    if (failures < 3)
        failures += !check(c, "one byte at a time", cuts, len ? len - 1 : 0, 0);
    free(cuts);
    if (failures)
        fail_msg("case \"%s\" (%s:%d) failed", c->name, c->file, c->line);
}

/* ---- plain API tests (not byte-stream cases) ---------------------------- */

typedef struct api_state {
    int lines, raws, ends, resumes;
    bytes last;
} api_state;

static void api_line(weft_lines *p, const char *d, size_t n)
{
    api_state *s = p->user;
    s->lines++;
    s->last.len = 0;
    b_add(&s->last, d, n);
}

static void api_raw(weft_lines *p, const char *d, size_t n)
{
    api_state *s = p->user;
    s->raws++;
    b_add(&s->last, d, n);
}

static void api_end(weft_lines *p)
{
    ((api_state *)p->user)->ends++;
}

static void api_resumed(weft_lines *p)
{
    ((api_state *)p->user)->resumes++;
}

/* CONFORMANCE 19: a 1 MB line fed one byte at a time is linear work. */
static void test_long_line_byte_at_a_time(void **unused)
{
    const size_t n = 1 << 20;
    weft_mode modes[1] = {{
        .name = "l", .kind = WEFT_MODE_LINE, .delim = "\r\n",
        .delim_len = 2, .max_line = 2 * n, .next = -1, .line = api_line,
    }};
    api_state s = {0};
    weft_lines p;
    weft_lines_init(&p, modes, 1, 0, &s);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(weft_lines_feed(&p, "x", 1), 1);
    assert_int_equal(weft_lines_buffered(&p), n);
    assert_int_equal(weft_lines_feed(&p, "\r", 1), 1);
    assert_int_equal(weft_lines_feed(&p, "\n", 1), 1);
    assert_int_equal(s.lines, 1);
    assert_int_equal(s.last.len, n);
    /* Each byte searched once and copied once (plus the delimiter). */
    assert_true(p.stat_searched <= n + 2);
    assert_true(p.stat_copied <= n + 2);
    /* The big buffer is gone once the line is delivered. */
    assert_int_equal(weft_lines_buffered(&p), 0);
    assert_true(p.buf_cap <= 256);
    assert_int_equal(weft_lines_finish(&p), 0);
    weft_lines_free(&p);
    free(s.last.p);
}

/* A mode switch between feeds re-parses the partial line in the new mode. */
static void test_switch_between_feeds(void **unused)
{
    weft_mode modes[2] = {
        {.name = "l", .kind = WEFT_MODE_LINE, .delim = "\n", .delim_len = 1,
         .max_line = 100, .next = -1, .line = api_line},
        {.name = "r", .kind = WEFT_MODE_COUNTED, .next = 0, .raw = api_raw,
         .raw_end = api_end},
    };
    api_state s = {0};
    weft_lines p;
    weft_lines_init(&p, modes, 2, 0, &s);
    assert_int_equal(weft_lines_feed(&p, "a\nbcd", 5), 5);
    assert_int_equal(s.lines, 1);
    assert_int_equal(weft_lines_buffered(&p), 3);
    weft_lines_set_mode(&p, 1, 2);           /* "bc" raw, then "d..." lines */
    assert_int_equal(weft_lines_buffered(&p), 3);
    assert_int_equal(weft_lines_feed(&p, "e\n", 2), 2);
    assert_int_equal(s.raws, 1);
    assert_int_equal(s.ends, 1);
    assert_int_equal(s.lines, 2);
    assert_int_equal(s.last.len, 2);
    assert_memory_equal(s.last.p, "de", 2);
    assert_int_equal(weft_lines_finish(&p), 0);
    weft_lines_free(&p);
    free(s.last.p);
}

/* Held-back bytes of a partial end mark, and a partly matched trailer,
 * are parsed again after a switch made between feeds. */
static void test_switch_with_held_mark(void **unused)
{
    weft_mode modes[2] = {
        {.name = "d", .kind = WEFT_MODE_UNTIL, .delim = "\r\n.\r\n",
         .delim_len = 5, .next = -1, .raw = api_raw, .raw_end = api_end},
        {.name = "l", .kind = WEFT_MODE_LINE, .delim = "\n", .delim_len = 1,
         .max_line = 100, .next = -1, .line = api_line},
    };
    api_state s = {0};
    weft_lines p;
    weft_lines_init(&p, modes, 2, 0, &s);
    assert_int_equal(weft_lines_feed(&p, "abc\r\n.", 6), 6);
    assert_int_equal(s.raws, 1);                 /* "abc"; "\r\n." held */
    assert_int_equal(s.last.len, 3);
    assert_int_equal(weft_lines_buffered(&p), 3);
    weft_lines_set_mode(&p, 1, 0);
    assert_int_equal(weft_lines_feed(&p, "x\n", 2), 2);
    assert_int_equal(s.lines, 2);                /* "\r" then ".x" */
    assert_int_equal(s.last.len, 2);
    assert_memory_equal(s.last.p, ".x", 2);
    assert_int_equal(weft_lines_finish(&p), 0);
    weft_lines_free(&p);

    weft_mode cm[2] = {
        {.name = "c", .kind = WEFT_MODE_COUNTED, .trailer = "\r\n",
         .trailer_len = 2, .next = -1, .raw = api_raw, .raw_end = api_end},
        {.name = "l", .kind = WEFT_MODE_LINE, .delim = "\n", .delim_len = 1,
         .max_line = 100, .next = -1, .line = api_line},
    };
    s.lines = s.raws = s.ends = 0;
    weft_lines_init(&p, cm, 2, 0, &s);
    weft_lines_set_mode(&p, 0, 2);
    assert_int_equal(weft_lines_feed(&p, "ab\r", 3), 3);
    assert_int_equal(s.ends, 0);                 /* "\r" of the trailer */
    weft_lines_set_mode(&p, 1, 0);
    assert_int_equal(weft_lines_feed(&p, "z\n", 2), 2);
    assert_int_equal(s.lines, 1);
    assert_memory_equal(s.last.p, "\rz", 2);
    assert_int_equal(weft_lines_finish(&p), 0);
    weft_lines_free(&p);
    free(s.last.p);
}

static void pause_cb(weft_lines *p, const char *d, size_t n)
{
    api_line(p, d, n);
    weft_lines_pause(p);
}

/* Pause, finish refused while paused, on_resume called, bad mode fails. */
static void test_pause_resume_api(void **unused)
{
    weft_mode modes[1] = {{
        .name = "l", .kind = WEFT_MODE_LINE, .delim = "\n", .delim_len = 1,
        .max_line = 100, .next = -1, .line = pause_cb,
    }};
    api_state s = {0};
    weft_lines p;
    weft_lines_init(&p, modes, 1, 0, &s);
    p.on_resume = api_resumed;
    assert_int_equal(weft_lines_feed(&p, "a\nb\n", 4), 2);
    assert_true(weft_lines_paused(&p));
    assert_int_equal(weft_lines_feed(&p, "b\n", 2), 0);
    assert_int_equal(weft_lines_finish(&p), WEFT_EINVAL);
    weft_lines_resume(&p);
    assert_int_equal(s.resumes, 1);
    assert_int_equal(weft_lines_feed(&p, "b\n", 2), 2);
    assert_int_equal(s.lines, 2);
    weft_lines_resume(&p);
    weft_lines_free(&p);
    /* Bad tables are refused at init. */
    weft_mode bad[1] = {{.name = "b", .kind = WEFT_MODE_UNTIL, .next = -1}};
    weft_lines_init(&p, bad, 1, 0, &s);
    assert_int_equal(weft_lines_error(&p), WEFT_EINVAL);
    assert_int_equal(weft_lines_feed(&p, "x", 1), 0);
    weft_lines_init(&p, modes, 1, 1, &s);
    assert_int_equal(weft_lines_error(&p), WEFT_EINVAL);
    weft_lines_init(&p, modes, 1, 0, &s);
    weft_lines_set_mode(&p, 7, 0);
    assert_int_equal(weft_lines_error(&p), WEFT_EINVAL);
    assert_non_null(weft_lines_error_text(&p));
    assert_int_equal(weft_lines_feed(&p, "c\n", 2), 0);
    assert_int_equal(s.lines, 2);      /* nothing after the error */
    weft_lines_free(&p);
    free(s.last.p);
}

/* An idle parser keeps no big buffer after a straddling long line. */
static void test_buffer_shrinks(void **unused)
{
    weft_mode modes[1] = {{
        .name = "l", .kind = WEFT_MODE_LINE, .delim = "\r\n",
        .delim_len = 2, .max_line = 100000, .next = -1, .line = api_line,
    }};
    api_state s = {0};
    weft_lines p;
    weft_lines_init(&p, modes, 1, 0, &s);
    char big[5000];
    memset(big, 'y', sizeof big);
    assert_int_equal(weft_lines_feed(&p, big, sizeof big), sizeof big);
    assert_true(p.buf_cap >= sizeof big);
    assert_true(p.buf_cap <= 100002);
    assert_int_equal(weft_lines_feed(&p, "\r\nz", 3), 3);
    assert_int_equal(s.lines, 1);
    assert_int_equal(s.last.len, sizeof big);
    assert_true(p.buf_cap <= 256);           /* only "z" kept, small */
    assert_int_equal(weft_lines_buffered(&p), 1);
    assert_int_equal(weft_lines_finish(&p), WEFT_EPROTOCOL);
    weft_lines_free(&p);
    free(s.last.p);
}

/* ---- main ---------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    bytes b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        b_add(&b, tmp, n);
    fclose(f);
    *len = b.len;
    return b.p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    const char *dir = getenv("WEFT_CONFORMANCE_DIR");
    if (!dir)
        dir = "tests/conformance";
    DIR *dh = opendir(dir);
    if (!dh) {
        fprintf(stderr, "test_lines: cannot open %s (run from the top of "
                "the tree or set WEFT_CONFORMANCE_DIR)\n", dir);
        return 1;
    }
    char *names[256];
    int nfiles = 0;
    struct dirent *de;
    while ((de = readdir(dh)) && nfiles < 256) {
        size_t l = strlen(de->d_name);
        if (l > 5 && !strcmp(de->d_name + l - 5, ".case"))
            names[nfiles++] = strdup(de->d_name);
    }
    closedir(dh);
    qsort(names, (size_t)nfiles, sizeof *names, cmp_str);

    size_t cap = 64, ntests = 0;
    struct CMUnitTest *tests = calloc(cap, sizeof *tests);
    tcase **cases = calloc(cap, sizeof *cases);
    for (int f = 0; f < nfiles; f++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        size_t len;
        char *text = slurp(path, &len);
        if (!text) {
            fprintf(stderr, "test_lines: cannot read %s\n", path);
            return 1;
        }
        reader r = {.file = path, .s = text, .len = len, .line = 1};
        for (;;) {
            tcase *c = calloc(1, sizeof *c);
            if (!parse_case(&r, c)) {
                free(c);
                break;
            }
            if (ntests + 8 >= cap) {
                cap *= 2;
                tests = realloc(tests, cap * sizeof *tests);
                cases = realloc(cases, cap * sizeof *cases);
            }
            char *tn = malloc(strlen(names[f]) + strlen(c->name) + 4);
            sprintf(tn, "%s: %s", names[f], c->name);
            tests[ntests] = (struct CMUnitTest){
                .name = tn, .test_func = run_case, .initial_state = c};
            cases[ntests++] = c;
        }
        free(text);
        free(names[f]);
    }
    if (!ntests) {
        fprintf(stderr, "test_lines: no cases found in %s\n", dir);
        return 1;
    }
    size_t ncases = ntests;
    tests[ntests++] = (struct CMUnitTest)cmocka_unit_test(
        test_long_line_byte_at_a_time);
    tests[ntests++] = (struct CMUnitTest)cmocka_unit_test(
        test_switch_between_feeds);
    tests[ntests++] = (struct CMUnitTest)cmocka_unit_test(
        test_pause_resume_api);
    tests[ntests++] = (struct CMUnitTest)cmocka_unit_test(
        test_switch_with_held_mark);
    tests[ntests++] = (struct CMUnitTest)cmocka_unit_test(test_buffer_shrinks);
    int rc = _cmocka_run_group_tests("lines", tests, ntests, NULL, NULL);
    for (size_t i = 0; i < ncases; i++) {
        free((char *)tests[i].name);
        free_case(cases[i]);
        free(cases[i]);
    }
    free(tests);
    free(cases);
    return rc;
}
