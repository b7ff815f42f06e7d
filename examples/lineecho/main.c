/* weft-lineecho — sends every line back (a LineReceiver that echoes each
 * line with sendLine), built from spec/lineecho.weft.
 *
 * The line callback replies with lineecho_send_line.  When the peer does
 * not read its echoes and output crosses the high-water mark, the parser
 * and the connection pause until the output drains, so a client that only
 * writes cannot make the server buffer without bound.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../common/cli.h"
#include "lineecho.h"
#include "weft.h"

static const char usage[] =
    "usage: weft-lineecho --listen ENDPOINT [--listen ENDPOINT...]\n"
    "\n"
    "Sends back every CRLF-terminated line it receives (at most 16384\n"
    "bytes; a longer line closes the connection).\n"
    "\n"
    "  -l, --listen ENDPOINT  a server endpoint, e.g. tcp:8080,\n"
    "                         tcp:0:interface=127.0.0.1 (any free port),\n"
    "                         unix:/tmp/lineecho.sock; may be repeated\n"
    "  -h, --help             this text\n"
    "\n"
    "Prints \"weft-lineecho: listening on ADDRESS\" to stderr for each port.\n"
    "SIGINT or SIGTERM stops it cleanly with exit status 0.  Exit status 1\n"
    "on a runtime failure (address in use), 2 on a usage error.\n";

/* The parser (and with it the connection) stops reading while the
 * output is above the runtime's default high-water mark (64 KiB; low mark
 * 16 KiB), so it stops right after the line whose echo crossed it. */
static void le_pause(weft_conn *c, void *arg)
{
    lineecho_pause(arg);
}

static void le_resume(weft_conn *c, void *arg)
{
    lineecho_resume(arg);
}

static const weft_producer le_producer = {
    .pause_producing = le_pause,
    .resume_producing = le_resume,
};

/* The producer is registered up front (as Twisted's registerProducer in
 * connectionMade), not on demand like examples/common/flow.h: the runtime
 * keeps a line echo's watermark accounting off the per-line path
 * (echo.lim, set by slice_bound in runtime/conn.c), so each line costs
 * only its send_line, at the price of the connection's watermark
 * bookkeeping (a few hundred bytes) from the start. */
static void on_connect(lineecho_parser *p)
{
    weft_conn_set_producer(lineecho_conn(p), &le_producer, p);
}

static void on_text(lineecho_parser *p, const char *line, size_t len)
{
    lineecho_send_line(p, line, len);
}

static const lineecho_callbacks callbacks = {
    .on_connect = on_connect,
    .on_text = on_text,
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

    cli_init("weft-lineecho", usage);
    while ((ch = cli_getopt(argc, argv, ":hl:", opts)) != -1) {
        if (ch == 'l')
            cli_list_add(&listen, optarg);
    }
    if (listen.n == 0)
        cli_usage_error("at least one --listen ENDPOINT is required");
    cli_check_server_endpoints(&listen);

    weft_reactor *r = cli_reactor_new();
    weft_protocol proto;
    lineecho_protocol_init(&proto, &callbacks, 0);
    weft_factory *f = weft_factory_new(r, &proto, NULL, NULL);
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
    cli_list_free(&listen);
    return cli_exit_code(rc);
}
