/* weft-smtpd — an RFC 5321 SMTP receiver that stores every accepted
 * message into a maildir.  Built from spec/smtp.weft; see docs/smtp.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/cli.h"
#include "maildir.h"
#include "smtpd.h"
#include "weft.h"

static const char usage[] =
    "usage: weft-smtpd --listen ENDPOINT [--listen ENDPOINT...] --maildir DIR\n"
    "                  [--max-size BYTES] [--hostname NAME]\n"
    "                  [--command-timeout SECONDS] [--data-timeout SECONDS]\n"
    "\n"
    "Receives mail by SMTP (RFC 5321, with PIPELINING, SIZE and 8BITMIME)\n"
    "and delivers each accepted message into the maildir DIR (created if\n"
    "missing): written to DIR/tmp as it arrives, moved into DIR/new once\n"
    "the final \".\" is read, with Return-Path and Received headers added.\n"
    "\n"
    "  -l, --listen ENDPOINT      a server endpoint, e.g. tcp:25,\n"
    "                             tcp:0:interface=127.0.0.1, unix:/tmp/smtp;\n"
    "                             may be repeated\n"
    "  -d, --maildir DIR          where messages are delivered (required)\n"
    "  -s, --max-size BYTES       largest message accepted (default 10485760;\n"
    "                             0: no limit); larger ones get 552\n"
    "  -n, --hostname NAME        our name in replies and Received headers\n"
    "                             (default: the system host name)\n"
    "  -c, --command-timeout S    seconds to wait for a command (default 300,\n"
    "                             RFC 5321 4.5.3.2.7; 0: forever)\n"
    "  -t, --data-timeout S       seconds to wait for more message text\n"
    "                             (default 300; 0: forever)\n"
    "  -h, --help                 this text\n"
    "\n"
    "Prints \"weft-smtpd: listening on ADDRESS\" to stderr for each port.\n"
    "SIGINT or SIGTERM stops it cleanly with exit status 0.  Exit status 1\n"
    "on a runtime failure (address in use, unusable maildir), 2 on a usage\n"
    "error.\n";

static uint64_t parse_bytes(const char *s)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        cli_usage_error("--max-size: '%s' is not a number of bytes", s);
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        cli_usage_error("--max-size: '%s' is not a number of bytes", s);
    return v;
}

static double parse_seconds(const char *opt, const char *s)
{
    double v;
    if (!cli_parse_seconds(s, &v))
        cli_usage_error("%s: '%s' is not a number of seconds", opt, s);
    return v;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"maildir", required_argument, NULL, 'd'},
        {"max-size", required_argument, NULL, 's'},
        {"hostname", required_argument, NULL, 'n'},
        {"command-timeout", required_argument, NULL, 'c'},
        {"data-timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    cli_list listen = {0};
    const char *dir = NULL;
    char host[256];
    smtpd_config cfg;
    int ch;

    cli_init("weft-smtpd", usage);
    smtpd_config_defaults(&cfg);
    while ((ch = cli_getopt(argc, argv, ":hl:d:s:n:c:t:", opts)) != -1) {
        switch (ch) {
        case 'l': cli_list_add(&listen, optarg); break;
        case 'd': dir = optarg; break;
        case 's': cfg.max_size = parse_bytes(optarg); break;
        case 'n': cfg.hostname = optarg; break;
        case 'c': cfg.command_timeout = parse_seconds("--command-timeout",
                                                      optarg); break;
        case 't': cfg.data_timeout = parse_seconds("--data-timeout", optarg);
                  break;
        }
    }
    if (listen.n == 0)
        cli_usage_error("at least one --listen ENDPOINT is required");
    if (!dir)
        cli_usage_error("--maildir DIR is required");
    if (cfg.hostname && (!cfg.hostname[0] || strlen(cfg.hostname) > 255 ||
                         strpbrk(cfg.hostname, " \t\r\n")))
        cli_usage_error("--hostname: '%s' is not a host name", cfg.hostname);
    cli_check_server_endpoints(&listen);
    if (!cfg.hostname) {
        if (gethostname(host, sizeof host) != 0 || !host[0])
            snprintf(host, sizeof host, "localhost");
        host[sizeof host - 1] = '\0';
        cfg.hostname = host;
    }

    maildir md;
    int err = maildir_open(&md, dir, cfg.hostname);
    if (err != 0) {
        cli_error("maildir %s: %s", dir, strerror(-err));
        cli_list_free(&listen);
        return CLI_EXIT_FAIL;
    }
    cfg.md = &md;

    weft_protocol proto;
    smtpd_protocol_init(&proto);
    weft_reactor *r = cli_reactor_new();
    weft_factory *f = weft_factory_new(r, &proto, NULL, &cfg);
    if (!f) {
        cli_error("out of memory");
        weft_reactor_free(r);
        maildir_close(&md);
        return CLI_EXIT_FAIL;
    }
    int rc = cli_listen_all(r, f, &listen);
    if (rc == 0 && (rc = weft_reactor_run(r)) < 0)
        cli_error("event loop failed: %s", weft_strerror(rc));
    weft_reactor_free(r);
    weft_factory_free(f);
    maildir_close(&md);
    cli_list_free(&listen);
    return cli_exit_code(rc);
}
