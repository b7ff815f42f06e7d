/* test_smtp_parser.c — the parser generated from spec/smtp.weft, with
 * weft-smtpd's DATA handling as trace hooks (smtp_trace_hooks.h), against
 * the cases in tests/unit/cases/smtp.cases: each replayed whole, split at
 * every offset and in chunks of every size up to 64 (so the end-of-data
 * mark is cut at every offset, the empty message included).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_trace_hooks.h"

#define CASES "tests/unit/cases/smtp.cases"

typedef struct scase {
    char name[128];
    char *input;
    size_t input_len;
    char *trace;
} scase;

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Appends one input line of the file, escapes decoded. */
static void add_input(scase *c, const char *s)
{
    size_t n = strlen(s);
    c->input = realloc(c->input, c->input_len + n + 1);
    assert_non_null(c->input);
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '\\' && i + 1 < n) {
            char e = s[++i];
            if (e == 'r')
                ch = '\r';
            else if (e == 'n')
                ch = '\n';
            else if (e == 't')
                ch = '\t';
            else if (e == '0')
                ch = '\0';
            else if (e == 'x' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
                     hexval(s[i + 2]) >= 0) {
                ch = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
                i += 2;
            } else
                ch = e;
        }
        c->input[c->input_len++] = ch;
    }
}

static void add_trace(scase *c, const char *s)
{
    size_t old = c->trace ? strlen(c->trace) : 0, n = strlen(s);
    c->trace = realloc(c->trace, old + n + 2);
    assert_non_null(c->trace);
    memcpy(c->trace + old, s, n);
    memcpy(c->trace + old + n, "\n", 2);
}

static size_t load_cases(scase **out)
{
    FILE *f = fopen(CASES, "r");
    char line[4096];
    scase *cs = NULL;
    size_t n = 0;
    int section = 0;             /* 0 none, 1 input, 2 trace */
    if (!f)
        fail_msg("cannot open %s (run from the repository root)", CASES);
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
        } else if (strcmp(line, "<<<") == 0)
            section = 1;
        else if (strcmp(line, ">>>") == 0)
            section = 2;
        else if (section == 1)
            add_input(&cs[n - 1], line);
        else if (section == 2 && l > 0)
            add_trace(&cs[n - 1], line);
    }
    fclose(f);
    *out = cs;
    return n;
}

static void expect(const scase *c, const char *how, size_t arg, char *got)
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

static void smtp_cases(void **state)
{
    scase *cs;
    size_t n = load_cases(&cs);
    assert_true(n >= 10);
    for (size_t i = 0; i < n; i++) {
        const scase *c = &cs[i];
        size_t len = c->input_len;
        expect(c, "whole", len, smtp_trace_run(c->input, len, NULL, 0));
        for (size_t k = 1; k < len; k++) {
            size_t two[2] = {k, len};
            expect(c, "split at", k, smtp_trace_run(c->input, len, two, 2));
        }
        for (size_t k = 1; k <= len && k <= 64; k++)
            expect(c, "chunks of", k, smtp_trace_run(c->input, len, &k, 1));
        free(c->input);
        free(c->trace);
    }
    free(cs);
}

/* The mode enum and names follow the spec. */
static void smtp_modes(void **state)
{
    assert_int_equal(SMTP_MODE__COUNT, 3);
    assert_string_equal(smtp_mode_name(SMTP_MODE_COMMAND), "command");
    assert_string_equal(smtp_mode_name(SMTP_MODE_DATA_START), "data_start");
    assert_string_equal(smtp_mode_name(SMTP_MODE_DATA), "data");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(smtp_cases),
        cmocka_unit_test(smtp_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
