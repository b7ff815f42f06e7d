/* weft-echo — echoes every byte back (Twisted's Echo protocol), on one or
 * more endpoints at once.
 *
 * A raw weft_protocol: on_data writes the bytes back.  When the peer does
 * not read its echo, output crosses the high-water mark and the connection
 * stops reading until the peer catches up, so a client that only writes
 * cannot make the server buffer without bound.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../common/cli.h"
#include "../common/flow.h"
#include "weft.h"

static const char usage[] =
    "usage: weft-echo --listen ENDPOINT [--listen ENDPOINT...]\n"
    "\n"
    "Echoes back every byte it receives, on each endpoint.\n"
    "\n"
    "  -l, --listen ENDPOINT  a server endpoint, e.g. tcp:8080,\n"
    "                         tcp:0:interface=127.0.0.1 (any free port),\n"
    "                         tcp6:8080:interface=\\:\\:1 (a backslash\n"
    "                         escapes a colon), unix:/tmp/echo.sock;\n"
    "                         may be repeated\n"
    "  -h, --help             this text\n"
    "\n"
    "Prints \"weft-echo: listening on ADDRESS\" to stderr for each port.\n"
    "SIGINT or SIGTERM stops it: ports close, echoes already written are\n"
    "flushed, then it exits 0.  Exit status 1 on a runtime failure (address\n"
    "in use), 2 on a usage error (bad option or endpoint string).\n";

/* Output above 64 KiB pending: stop reading; below 16 KiB: read again
 * (Twisted's 64 KiB). */
static const flow echo_flow = {
    .high = 64 * 1024,
    .low = 16 * 1024,
    .producer = &flow_conn_producer,
};

/* An idle connection costs only what the runtime allocates for it: the
 * producer (and the bookkeeping behind it) is set up on demand, just
 * before a write that crosses the high-water mark, so the write itself
 * pauses reading. */
static void echo_data(weft_conn *c, const char *data, size_t len)
{
    flow_reserve(c, &echo_flow, len, NULL);
    weft_write(c, data, len);
}

static const weft_protocol echo_protocol = {
    .name = "echo",
    .on_data = echo_data,
};

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    cli_list listen = {0};
    int ch;

    cli_init("weft-echo", usage);
    while ((ch = cli_getopt(argc, argv, ":hl:", opts)) != -1) {
        if (ch == 'l')
            cli_list_add(&listen, optarg);
    }
    if (listen.n == 0)
        cli_usage_error("at least one --listen ENDPOINT is required");
    cli_check_server_endpoints(&listen);

    weft_reactor *r = cli_reactor_new();
    weft_factory *f = weft_factory_new(r, &echo_protocol, NULL, NULL);
    if (!f) {
        cli_error("out of memory");
        weft_reactor_free(r);
        return CLI_EXIT_FAIL;
    }
    int rc = cli_listen_all(r, f, &listen);
    if (rc == 0 && (rc = weft_reactor_run(r)) < 0)
        cli_error("event loop failed: %s", weft_strerror(rc));
    /* After a stop, run() returns with every port and connection closed;
     * after a failed listen, freeing the reactor closes the ports already
     * open (and runs their callbacks), so the factory goes last. */
    weft_reactor_free(r);
    weft_factory_free(f);
    cli_list_free(&listen);
    return cli_exit_code(rc);
}
