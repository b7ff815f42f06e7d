/* weft-qotd — the Quote of the Day service (RFC 865, Twisted's QOTD):
 * every connection gets the quote and a CRLF, then the server closes it.
 * Whatever the client sends is ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "weft.h"

#define DEFAULT_QUOTE "An apple a day keeps the doctor away"

static const char usage[] =
    "usage: weft-qotd --listen ENDPOINT [--listen ENDPOINT...] [--quote TEXT]\n"
    "\n"
    "Quote of the Day (RFC 865): writes the quote and CRLF to every\n"
    "connection, then closes it.\n"
    "\n"
    "  -l, --listen ENDPOINT  a server endpoint, e.g. tcp:17,\n"
    "                         tcp:0:interface=127.0.0.1, unix:/tmp/qotd.sock;\n"
    "                         may be repeated\n"
    "  -q, --quote TEXT       the quote (default: \"" DEFAULT_QUOTE "\")\n"
    "  -h, --help             this text\n"
    "\n"
    "Prints \"weft-qotd: listening on ADDRESS\" to stderr for each port.\n"
    "SIGINT or SIGTERM stops it cleanly with exit status 0.  Exit status 1\n"
    "on a runtime failure (address in use), 2 on a usage error.\n";

static void qotd_connect(weft_conn *c)
{
    const char *quote = weft_factory_user(weft_conn_factory(c));
    weft_send_line(c, quote, strlen(quote));
    weft_close(c);
}

/* Bytes from the client are read and dropped, as Twisted's QOTD does. */
static void qotd_data(weft_conn *c, const char *data, size_t len)
{
}

static const weft_protocol qotd_protocol = {
    .name = "qotd",
    .on_connect = qotd_connect,
    .on_data = qotd_data,
};

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"quote", required_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    cli_list listen = {0};
    const char *quote = DEFAULT_QUOTE;
    int ch;

    cli_init("weft-qotd", usage);
    while ((ch = cli_getopt(argc, argv, ":hl:q:", opts)) != -1) {
        if (ch == 'l')
            cli_list_add(&listen, optarg);
        else if (ch == 'q')
            quote = optarg;
    }
    if (listen.n == 0)
        cli_usage_error("at least one --listen ENDPOINT is required");
    cli_check_server_endpoints(&listen);

    weft_reactor *r = cli_reactor_new();
    weft_factory *f = weft_factory_new(r, &qotd_protocol, NULL,
                                       (void *)quote);
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
