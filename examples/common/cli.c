/* cli.c — shared command-line handling of the example programs. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_prog = "weft";
static const char *cli_usage_text = "";

void cli_init(const char *prog, const char *usage)
{
    cli_prog = prog;
    cli_usage_text = usage;
}

static void vmessage(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", cli_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
}

void cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information.\n", cli_prog);
    exit(CLI_EXIT_USAGE);
}

void cli_help(void)
{
    fputs(cli_usage_text, stdout);
    exit(fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL);
}

/* The option as the user typed it, for messages: getopt leaves a long
 * option's word at argv[optind - 1] ("--listen" or "--bogus=1") and sets
 * optopt for short ones. */
static const char *bad_option(int argc, char **argv, char *buf, size_t size)
{
    const char *word = optind - 1 >= 0 && optind - 1 < argc
                           ? argv[optind - 1] : NULL;
    if (word && strncmp(word, "--", 2) == 0) {
        snprintf(buf, size, "%.*s", (int)strcspn(word, "="), word);
        return buf;
    }
    if (optopt != 0) {
        snprintf(buf, size, "-%c", optopt);
        return buf;
    }
    return word ? word : "?";
}

int cli_getopt(int argc, char **argv, const char *optstring,
               const struct option *longopts)
{
    char buf[64];
    opterr = 0;    /* our own messages, prefixed with the program name */
    int ch = getopt_long(argc, argv, optstring, longopts, NULL);
    switch (ch) {
    case 'h':
        cli_help();
    case '?':
        cli_usage_error("unknown option '%s'",
                        bad_option(argc, argv, buf, sizeof buf));
    case ':':
        cli_usage_error("option '%s' needs an argument",
                        bad_option(argc, argv, buf, sizeof buf));
    case -1:
        if (optind < argc)
            cli_usage_error("unexpected argument '%s'", argv[optind]);
        return -1;
    default:
        return ch;
    }
}

void cli_list_add(cli_list *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 4;
        const char **items = realloc(l->items, cap * sizeof *items);
        if (!items) {
            cli_error("out of memory");
            exit(CLI_EXIT_FAIL);
        }
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = s;
}

void cli_list_free(cli_list *l)
{
    free(l->items);
    *l = (cli_list){0};
}

bool cli_parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < 0)
        return false;
    *out = v;
    return true;
}

void cli_check_server_endpoints(const cli_list *eps)
{
    for (size_t i = 0; i < eps->n; i++) {
        weft_endpoint ep;
        weft_error err = {0};
        if (weft_endpoint_parse(eps->items[i], true, &ep, &err) < 0)
            cli_usage_error("%s", err.msg);
    }
}

int cli_listen_all(weft_reactor *r, weft_factory *f, const cli_list *eps)
{
    for (size_t i = 0; i < eps->n; i++) {
        weft_error err = {0};
        weft_port *p = weft_listen(r, eps->items[i], f, &err);
        if (!p) {
            cli_error("%s", err.msg);
            return err.code < 0 ? err.code : WEFT_ESYS;
        }
        cli_error("listening on %s", weft_port_text(p));
    }
    return 0;
}

weft_reactor *cli_reactor_new(void)
{
    weft_reactor *r = weft_reactor_new();
    if (!r) {
        cli_error("cannot create the event loop");
        exit(CLI_EXIT_FAIL);
    }
    if (weft_reactor_handle_signals(r) < 0) {
        cli_error("cannot handle SIGINT/SIGTERM");
        weft_reactor_free(r);
        exit(CLI_EXIT_FAIL);
    }
    return r;
}

int cli_exit_code(int weft_code)
{
    if (weft_code == 0)
        return CLI_EXIT_OK;
    return weft_code == WEFT_EENDPOINT ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
}
