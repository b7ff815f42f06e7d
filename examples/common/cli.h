/* cli.h — what every example program does the same way: option errors,
 * --help, repeated --listen, signal-driven stop, exit codes.
 *
 * Exit codes shared by all example programs:
 *   0  success, also after SIGINT/SIGTERM stopped the program cleanly
 *   1  a runtime failure: address in use, connection refused, timed out...
 *   2  a usage error: unknown option, missing argument or required option,
 *      malformed endpoint string
 *
 * Messages go to stderr as "PROG: message", usage text for --help to stdout.
 */
#ifndef WEFT_EXAMPLES_CLI_H
#define WEFT_EXAMPLES_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "weft.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* Program name used as the message prefix; set by cli_init. */
extern const char *cli_prog;

/* Remembers the program name (not argv[0], which may be a path) and the
 * usage text printed by --help.  usage must outlive the program. */
void cli_init(const char *prog, const char *usage);

/* Prints "PROG: message\n" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "PROG: message" and a hint to try --help, then exits with
 * CLI_EXIT_USAGE. */
void cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* Prints the usage text to stdout and exits 0. */
void cli_help(void) __attribute__((noreturn));

/* getopt_long with the shared error handling: unknown options, missing
 * arguments and stray positional arguments end in cli_usage_error, "-h" and
 * "--help" in cli_help.  Returns the next option's value, or -1 when all
 * options are read.  optstring must start with ':' and contain "h". */
int cli_getopt(int argc, char **argv, const char *optstring,
               const struct option *longopts);

/* A growing list of strings (e.g. repeated --listen).  The strings are not
 * copied: argv outlives everything. */
typedef struct cli_list {
    const char **items;
    size_t n, cap;
} cli_list;
void cli_list_add(cli_list *l, const char *s);
void cli_list_free(cli_list *l);

/* Parses a non-negative number of seconds ("2", "0.5"); false if s is not
 * one. */
bool cli_parse_seconds(const char *s, double *out);

/* Checks every server endpoint string; on the first bad one prints weft's
 * message and exits with CLI_EXIT_USAGE.  Lets a program reject bad input
 * before it opens anything. */
void cli_check_server_endpoints(const cli_list *eps);

/* Listens on every endpoint with factory f, printing
 * "PROG: listening on tcp:127.0.0.1:8080" (the bound address, so tcp:0
 * shows the real port) to stderr for each.  Returns 0, or prints weft's
 * message ("tcp:8080: address already in use") and returns the weft error
 * code; ports opened before the failure stay open until the reactor is
 * freed (weft_reactor_free closes them). */
int cli_listen_all(weft_reactor *r, weft_factory *f, const cli_list *eps);

/* Creates a reactor whose SIGINT and SIGTERM start a graceful stop, or
 * prints why it cannot and exits with CLI_EXIT_FAIL. */
weft_reactor *cli_reactor_new(void);

/* Converts a weft error code into this file's exit codes. */
int cli_exit_code(int weft_code);

#endif
