/* weft-redis — an in-memory Redis for strings, on the weftc parser of
 * spec/resp.weft.  See docs/resp.md.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/cli.h"
#include "redis.h"
#include "resp.h"
#include "weft.h"

static const char usage[] =
    "usage: weft-redis --listen ENDPOINT [--listen ENDPOINT...]\n"
    "                  [--maxmemory BYTES] [--client-query-buffer-limit BYTES]\n"
    "\n"
    "An in-memory key/value server speaking the Redis protocol (RESP2) for\n"
    "string commands: PING ECHO SET GET GETDEL DEL EXISTS INCR DECR INCRBY\n"
    "DECRBY APPEND STRLEN MSET MGET EXPIRE PEXPIRE TTL PTTL PERSIST DBSIZE\n"
    "FLUSHALL FLUSHDB SELECT QUIT HELLO CLIENT COMMAND CONFIG GET.\n"
    "\n"
    "  -l, --listen ENDPOINT  a server endpoint, e.g. tcp:6379,\n"
    "                         tcp:0:interface=127.0.0.1 (any free port),\n"
    "                         unix:/tmp/redis.sock; may be repeated\n"
    "  -m, --maxmemory BYTES  refuse commands that add data (-OOM) while\n"
    "                         the approximate memory in use is above BYTES;\n"
    "                         suffixes k kb m mb g gb as in redis.conf;\n"
    "                         0 (the default) means no limit\n"
    "  -q, --client-query-buffer-limit BYTES\n"
    "                         most bytes the arguments of one command may\n"
    "                         take (plus 16 per argument); a client going\n"
    "                         over is disconnected; default 1gb as Redis\n"
    "  -h, --help             this text\n"
    "\n"
    "SIGINT or SIGTERM stops it (exit 0).  Exit status 1 on a runtime\n"
    "failure (address in use), 2 on a usage error.\n";

/* Redis' memtoull: a number with an optional unit. */
static bool parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*s))
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return false;
    unsigned long long mul = 1;
    if (!strcasecmp(end, "") || !strcasecmp(end, "b"))
        mul = 1;
    else if (!strcasecmp(end, "k"))
        mul = 1000;
    else if (!strcasecmp(end, "kb"))
        mul = 1024;
    else if (!strcasecmp(end, "m"))
        mul = 1000 * 1000;
    else if (!strcasecmp(end, "mb"))
        mul = 1024 * 1024;
    else if (!strcasecmp(end, "g"))
        mul = 1000ull * 1000 * 1000;
    else if (!strcasecmp(end, "gb"))
        mul = 1024ull * 1024 * 1024;
    else
        return false;
    if (v > UINT64_MAX / mul)
        return false;
    *out = v * mul;
    return true;
}

typedef struct cron_ctx {
    weft_reactor *r;
    redis_server *s;
} cron_ctx;

/* Ten times a second: active expiry (at most 25 ms of work, like Redis'
 * slow cycle) and incremental rehashing while idle. */
static void cron(void *arg)
{
    cron_ctx *x = arg;
    if (weft_reactor_stopping(x->r))
        return;
    redis_cron(x->s, 25);
    weft_call_later(x->r, 0.1, cron, x);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"maxmemory", required_argument, NULL, 'm'},
        {"client-query-buffer-limit", required_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    cli_list listen = {0};
    static redis_server srv;
    int ch;

    cli_init("weft-redis", usage);
    redis_server_init(&srv);
    while ((ch = cli_getopt(argc, argv, ":hl:m:q:", opts)) != -1) {
        if (ch == 'l')
            cli_list_add(&listen, optarg);
        else if (ch == 'm' && !parse_bytes(optarg, &srv.maxmemory))
            cli_usage_error("--maxmemory: '%s' is not a byte count", optarg);
        else if (ch == 'q' && (!parse_bytes(optarg, &srv.max_query) ||
                               srv.max_query == 0))
            cli_usage_error("--client-query-buffer-limit: '%s' is not a "
                            "positive byte count", optarg);
    }
    if (listen.n == 0)
        cli_usage_error("at least one --listen ENDPOINT is required");
    cli_check_server_endpoints(&listen);

    weft_reactor *r = cli_reactor_new();
    static weft_protocol proto;
    resp_protocol_init(&proto, &redis_resp_callbacks, sizeof(redis_client));
    weft_factory *f = weft_factory_new(r, &proto, NULL, &srv);
    if (!f) {
        cli_error("out of memory");
        weft_reactor_free(r);
        return CLI_EXIT_FAIL;
    }
    cron_ctx cx = {r, &srv};
    int rc = cli_listen_all(r, f, &listen);
    if (rc == 0) {
        weft_call_later(r, 0.1, cron, &cx);
        if ((rc = weft_reactor_run(r)) < 0)
            cli_error("event loop failed: %s", weft_strerror(rc));
    }
    weft_reactor_free(r);
    weft_factory_free(f);
    redis_server_free(&srv);
    cli_list_free(&listen);
    return cli_exit_code(rc);
}
