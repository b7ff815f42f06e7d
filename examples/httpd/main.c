/* weft-httpd — a static file server with an /echo endpoint, built on the
 * parser weftc generates from spec/http.weft.  See docs/http.md. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "httpd.h"

static const char usage[] =
    "usage: weft-httpd --listen ENDPOINT... --root DIR [options]\n"
    "\n"
    "Serves the files under DIR over HTTP/1.1 (GET and HEAD; index.html for\n"
    "a directory), and answers /echo with the body of the request.\n"
    "\n"
    "  -l, --listen ENDPOINT     e.g. tcp:8080:interface=127.0.0.1; repeatable\n"
    "  -r, --root DIR            the directory to serve\n"
    "      --max-body BYTES      largest request body (default 1048576): 413\n"
    "      --max-header-bytes N  largest header block (default 32768): 431\n"
    "      --idle-timeout S      close a connection idle this long (default 60)\n"
    "      --header-timeout S    a request head must arrive within S seconds\n"
    "                            of its first byte (default 10): 408\n"
    "      --cache-max-file BYTES  keep files up to this size in memory,\n"
    "                            revalidated every second (default 65536;\n"
    "                            0: always sendfile)\n"
    "      --access-log FILE     append one line per response to FILE\n"
    "  -h, --help                this text\n"
    "\n"
    "SIGINT or SIGTERM stops it gracefully.  Exit status 1 on a runtime\n"
    "failure (address in use, bad root), 2 on a usage error.\n";

static uint64_t parse_size(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || s[0] == '-')
        cli_usage_error("%s wants a number of bytes, not '%s'", opt, s);
    return v;
}

static double parse_secs(const char *opt, const char *s)
{
    double v;
    if (!cli_parse_seconds(s, &v))
        cli_usage_error("%s wants a number of seconds, not '%s'", opt, s);
    return v;
}

/* Like cli_listen_all, and for each TCP port also prints the URL to open
 * ("weft-httpd: serving DIR at http://127.0.0.1:8080/"), which is what
 * `make run` shows. */
static int listen_all(weft_reactor *r, weft_factory *f, const cli_list *eps,
                      const char *root)
{
    for (size_t i = 0; i < eps->n; i++) {
        weft_error err = {0};
        weft_port *p = weft_listen(r, eps->items[i], f, &err);
        if (!p) {
            cli_error("%s", err.msg);
            return err.code < 0 ? err.code : WEFT_ESYS;
        }
        const char *text = weft_port_text(p);
        cli_error("listening on %s", text);
        const char *addr = strchr(text, ':');
        const char *colon = strrchr(text, ':');
        if (weft_port_number(p) >= 0 && addr && colon > addr) {
            int hl = (int)(colon - addr - 1);
            const char *host = addr + 1;
            if (hl == 7 && memcmp(host, "0.0.0.0", 7) == 0) {
                host = "127.0.0.1";
                hl = 9;
            }
            fprintf(stderr, "weft-httpd: serving %s at http://%.*s:%d/\n",
                    root, hl, host, weft_port_number(p));
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    enum { O_MAXBODY = 256, O_MAXHEAD, O_IDLE, O_HEADT, O_CACHE, O_LOG };
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"root", required_argument, NULL, 'r'},
        {"max-body", required_argument, NULL, O_MAXBODY},
        {"max-header-bytes", required_argument, NULL, O_MAXHEAD},
        {"idle-timeout", required_argument, NULL, O_IDLE},
        {"header-timeout", required_argument, NULL, O_HEADT},
        {"cache-max-file", required_argument, NULL, O_CACHE},
        {"access-log", required_argument, NULL, O_LOG},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    httpd_config cfg = {
        .max_body = 1 << 20,
        .max_head = 32768,
        .idle_timeout = 60,
        .header_timeout = 10,
        .cache_max_file = 65536,
    };
    const char *log_path = NULL;
    cli_list listen = {0};
    int ch;

    cli_init("weft-httpd", usage);
    while ((ch = cli_getopt(argc, argv, ":hl:r:", opts)) != -1) {
        switch (ch) {
        case 'l': cli_list_add(&listen, optarg); break;
        case 'r': cfg.root = optarg; break;
        case O_MAXBODY: cfg.max_body = parse_size("--max-body", optarg); break;
        case O_MAXHEAD:
            cfg.max_head = parse_size("--max-header-bytes", optarg);
            break;
        case O_IDLE: cfg.idle_timeout = parse_secs("--idle-timeout", optarg); break;
        case O_HEADT:
            cfg.header_timeout = parse_secs("--header-timeout", optarg);
            break;
        case O_CACHE:
            cfg.cache_max_file = parse_size("--cache-max-file", optarg);
            break;
        case O_LOG: log_path = optarg; break;
        }
    }
    if (listen.n == 0)
        cli_usage_error("at least one --listen ENDPOINT is required");
    if (!cfg.root)
        cli_usage_error("--root DIR is required");
    cli_check_server_endpoints(&listen);
    if (log_path) {
        cfg.access_log = fopen(log_path, "a");
        if (!cfg.access_log) {
            cli_error("--access-log %s: %s", log_path, strerror(errno));
            return CLI_EXIT_FAIL;
        }
        setvbuf(cfg.access_log, NULL, _IOLBF, 0);
    }

    weft_reactor *r = cli_reactor_new();
    weft_error err = {0};
    httpd *s = httpd_new(r, &cfg, &err);
    if (!s) {
        cli_error("%s", err.msg);
        weft_reactor_free(r);
        return CLI_EXIT_FAIL;
    }
    int rc = listen_all(r, httpd_factory(s), &listen, cfg.root);
    if (rc == 0 && (rc = weft_reactor_run(r)) < 0)
        cli_error("event loop failed: %s", weft_strerror(rc));
    weft_reactor_free(r);
    httpd_free(s);
    if (cfg.access_log)
        fclose(cfg.access_log);
    cli_list_free(&listen);
    return cli_exit_code(rc);
}
