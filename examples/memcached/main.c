/* main.c — weft-memcached: a memcached-compatible cache server (text
 * protocol) on spec/memcache.weft.  docs/memcache.md has the details.
 *
 *   weft-memcached --listen ENDPOINT... [--memory MB] [--max-item-size BYTES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "proto.h"

static const char usage[] =
    "usage: weft-memcached --listen ENDPOINT... [--memory MB] "
    "[--max-item-size BYTES]\n"
    "\n"
    "A memcached-compatible cache server speaking memcached's text protocol\n"
    "(get, gets, gat, gats, set, add, replace, append, prepend, cas, delete,\n"
    "incr, decr, touch, flush_all, version, verbosity, stats, quit).\n"
    "\n"
    "  -l, --listen ENDPOINT      where to listen, e.g. tcp:11211 or\n"
    "                             tcp:11211:interface=127.0.0.1 (repeatable)\n"
    "  -m, --memory MB            item memory limit in megabytes; the least\n"
    "                             recently used items are evicted (default 64)\n"
    "  -I, --max-item-size BYTES  largest item, counted as memcached's -I\n"
    "                             does (default 1048576; k and m suffixes)\n"
    "  -h, --help                 show this help\n";

/* A positive size with an optional k/m suffix (memcached's -I syntax). */
static bool parse_size(const char *s, unsigned long long unit_default,
                       size_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || s[0] == '-')
        return false;
    unsigned long long unit = unit_default;
    if (*end == 'k' || *end == 'K')
        unit = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        unit = 1024 * 1024, end++;
    if (*end != '\0' || v == 0 || v > (1ULL << 40) / unit)
        return false;
    *out = (size_t)(v * unit);
    return true;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "memory", required_argument, NULL, 'm' },
        { "max-item-size", required_argument, NULL, 'I' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    cli_list listen = {0};
    size_t memory = 64u << 20, item_max = 1u << 20;
    int ch;

    cli_init("weft-memcached", usage);
    while ((ch = cli_getopt(argc, argv, ":hl:m:I:", opts)) != -1) {
        if (ch == 'l')
            cli_list_add(&listen, optarg);
        else if (ch == 'm' && !parse_size(optarg, 1024 * 1024, &memory))
            cli_usage_error("--memory: '%s' is not a number of megabytes",
                            optarg);
        else if (ch == 'I' && !parse_size(optarg, 1, &item_max))
            cli_usage_error("--max-item-size: '%s' is not a byte count",
                            optarg);
    }
    if (listen.n == 0)
        cli_usage_error("at least one --listen ENDPOINT is required");
    if (item_max < 1024 || item_max > (1u << 30))
        cli_usage_error("--max-item-size: must be from 1k to 1024m");
    cli_check_server_endpoints(&listen);

    static mc_server srv;
    if (mc_server_init(&srv, memory, item_max) != 0) {
        cli_error("out of memory");
        return CLI_EXIT_FAIL;
    }
    weft_reactor *r = cli_reactor_new();
    static weft_protocol proto;
    mc_protocol_init(&proto);
    weft_factory *f = weft_factory_new(r, &proto, NULL, &srv);
    if (!f) {
        cli_error("out of memory");
        weft_reactor_free(r);
        return CLI_EXIT_FAIL;
    }
    int rc = cli_listen_all(r, f, &listen);
    if (rc == 0 && (rc = weft_reactor_run(r)) < 0)
        cli_error("event loop failed: %s", weft_strerror(rc));
    weft_reactor_free(r);
    weft_factory_free(f);
    mc_server_free(&srv);
    cli_list_free(&listen);
    return cli_exit_code(rc);
}
