/* spec_cases.c — see spec_cases.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spec_cases.h"

typedef struct spec_case {
    char name[128];
    char *input;
    size_t input_len, input_cap;
    char *trace;                  /* NULL: the empty trace */
} spec_case;

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One decoded escape at s[*i] (after the backslash); advances *i. */
static char unescape(const char *s, size_t n, size_t *i)
{
    char e = s[*i];
    switch (e) {
    case 'r': return '\r';
    case 'n': return '\n';
    case 't': return '\t';
    case '0': return '\0';
    case 'x':
        if (*i + 2 < n && hexval(s[*i + 1]) >= 0 && hexval(s[*i + 2]) >= 0) {
            *i += 2;
            return (char)(hexval(s[*i - 1]) * 16 + hexval(s[*i]));
        }
        return e;
    default:
        return e;
    }
}

/* Escapes \r \n \t \0 \\ \xHH; the file's own newlines are not input. */
static void add_input(spec_case *c, const char *s)
{
    size_t n = strlen(s);
    if (c->input_len + n + 1 > c->input_cap) {
        c->input_cap = (c->input_len + n + 1) * 2;
        c->input = realloc(c->input, c->input_cap);
        assert_non_null(c->input);
    }
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '\\' && i + 1 < n) {
            i++;
            ch = unescape(s, n, &i);
        }
        c->input[c->input_len++] = ch;
    }
}

static void add_trace(spec_case *c, const char *s)
{
    size_t old = c->trace ? strlen(c->trace) : 0, n = strlen(s);
    c->trace = realloc(c->trace, old + n + 2);
    assert_non_null(c->trace);
    memcpy(c->trace + old, s, n);
    c->trace[old + n] = '\n';
    c->trace[old + n + 1] = '\0';
}

static spec_case *new_case(spec_case **cs, size_t *n, const char *name)
{
    *cs = realloc(*cs, (*n + 1) * sizeof **cs);
    assert_non_null(*cs);
    spec_case *c = &(*cs)[(*n)++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%.120s", name);
    return c;
}

static size_t load_cases(const char *path, spec_case **out)
{
    FILE *f = fopen(path, "r");
    char line[16384];
    spec_case *cs = NULL;
    size_t n = 0;
    int section = 0;              /* 0 header, 1 input, 2 trace */
    if (!f)
        fail_msg("cannot open %s (run the tests from the repository root)",
                 path);
    while (fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        if (l > 0 && line[l - 1] == '\n')
            line[--l] = '\0';
        if (strncmp(line, "=== ", 4) == 0) {
            new_case(&cs, &n, line + 4);
            section = 0;
        } else if (strcmp(line, "<<<") == 0) {
            section = 1;
        } else if (strcmp(line, ">>>") == 0) {
            section = 2;
        } else if (section == 1 && line[0] != '#') {
            add_input(&cs[n - 1], line);
        } else if (section == 2 && l > 0) {
            add_trace(&cs[n - 1], line);
        }
    }
    fclose(f);
    *out = cs;
    return n;
}

static void expect(const spec_case *c, const char *how, size_t arg, char *got)
{
    const char *want = c->trace ? c->trace : "";
    if (strcmp(got, want) != 0) {
        print_error("case '%s' (%s %zu):\n--- expected:\n%s--- got:\n%s",
                    c->name, how, arg, want, got);
        free(got);
        fail();
    }
    free(got);
}

void spec_cases_replay(const char *path, size_t min_cases,
                       spec_trace_run_fn run)
{
    spec_case *cs;
    size_t n = load_cases(path, &cs);
    assert_true(n >= min_cases);
    for (size_t i = 0; i < n; i++) {
        const spec_case *c = &cs[i];
        size_t len = c->input_len;
        expect(c, "whole", len, run(c->input, len, NULL, 0));
        for (size_t k = 1; k < len; k++) {
            size_t two[2] = {k, len};
            expect(c, "split at", k, run(c->input, len, two, 2));
        }
        for (size_t k = 1; k <= len && k <= 64; k++)
            expect(c, "chunks of", k, run(c->input, len, &k, 1));
        free(cs[i].input);
        free(cs[i].trace);
    }
    free(cs);
}
