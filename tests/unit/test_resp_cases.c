/* test_resp_cases.c — parser cases of spec/resp.weft in the data-file
 * format of tests/unit/cases/echo.cases (the weftc conformance files),
 * replayed through the generated trace harness with weft-redis' mode walk
 * as hooks (resp_trace_hooks.h): whole, split at every point, and in chunks
 * of every size from 1 to 64 bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "resp_trace_hooks.h"
#include "resp_trace.c"

typedef struct hcase {
    char name[128];
    char *input;
    size_t input_len, input_cap;
    char *trace;
} hcase;

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Escapes \r \n \t \0 \\ \xHH; the file's own newlines are not input. */
static void add_input(hcase *c, const char *s)
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
            char e = s[++i];
            if (e == 'r') ch = '\r';
            else if (e == 'n') ch = '\n';
            else if (e == 't') ch = '\t';
            else if (e == '0') ch = '\0';
            else if (e == 'x' && i + 2 < n + 1 && hexval(s[i + 1]) >= 0 &&
                     hexval(s[i + 2]) >= 0) {
                ch = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
                i += 2;
            } else ch = e;
        }
        c->input[c->input_len++] = ch;
    }
}

static void add_trace(hcase *c, const char *s)
{
    size_t old = c->trace ? strlen(c->trace) : 0, n = strlen(s);
    c->trace = realloc(c->trace, old + n + 2);
    assert_non_null(c->trace);
    memcpy(c->trace + old, s, n);
    c->trace[old + n] = '\n';
    c->trace[old + n + 1] = '\0';
}

static size_t load_cases(const char *path, hcase **out)
{
    FILE *f = fopen(path, "r");
    char line[16384];
    hcase *cs = NULL;
    size_t n = 0;
    int section = 0;
    if (!f)
        fail_msg("cannot open %s (run the tests from the repository root)",
                 path);
    while (fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        if (l > 0 && line[l - 1] == '\n')
            line[--l] = '\0';
        if (strncmp(line, "=== ", 4) == 0) {
            cs = realloc(cs, (n + 1) * sizeof *cs);
            assert_non_null(cs);
            memset(&cs[n], 0, sizeof cs[n]);
            snprintf(cs[n].name, sizeof cs[n].name, "%.120s", line + 4);
            n++;
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

static void expect(const hcase *c, const char *how, size_t arg, char *got)
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

static void test_resp_cases(void **state)
{
    hcase *cs;
    size_t n = load_cases("tests/unit/cases/resp.cases", &cs);
    assert_true(n >= 20);
    for (size_t i = 0; i < n; i++) {
        const hcase *c = &cs[i];
        size_t len = c->input_len;
        expect(c, "whole", len, resp_trace_run(c->input, len, NULL, 0));
        for (size_t k = 1; k < len; k++) {
            size_t two[2] = {k, len};
            expect(c, "split at", k, resp_trace_run(c->input, len, two, 2));
        }
        for (size_t k = 1; k <= len && k <= 64; k++)
            expect(c, "chunks of", k, resp_trace_run(c->input, len, &k, 1));
        free(cs[i].input);
        free(cs[i].trace);
    }
    free(cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
