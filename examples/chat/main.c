/* weft-chat — a multi-user line chat room (Twisted's chat server example)
 * on one or more endpoints; the protocol is spec/chat.weft, the handlers
 * are room.c. */
#include <stdio.h>
#include <stdlib.h>

#include "../common/cli.h"
#include "room.h"
#include "weft.h"

static const char usage[] =
    "usage: weft-chat --listen ENDPOINT [--listen ENDPOINT...]\n"
    "\n"
    "A chat room: each client first sends its name (letters, digits, '_'\n"
    "and '-', at most 32 bytes), then every line it sends reaches every\n"
    "other client as \"<name> line\".  Lines end in \"\\n\" (\"\\r\\n\" works\n"
    "too) and are at most 1024 bytes; a longer line closes the connection.\n"
    "\n"
    "  -l, --listen ENDPOINT  a server endpoint, e.g. tcp:8080,\n"
    "                         tcp:0:interface=127.0.0.1 (any free port),\n"
    "                         tcp6:8080:interface=\\:\\:1, unix:/tmp/chat.sock;\n"
    "                         may be repeated (one room for all)\n"
    "  -h, --help             this text\n"
    "\n"
    "Prints \"weft-chat: listening on ADDRESS\" to stderr for each port.\n"
    "SIGINT or SIGTERM stops it cleanly (exit 0).  Exit status 1 on a\n"
    "runtime failure (address in use), 2 on a usage error.\n";

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    cli_list listen = {0};
    weft_protocol proto;
    weft_reactor *r;
    weft_factory *f;
    room *rm;
    int ch, rc;

    cli_init("weft-chat", usage);
    while ((ch = cli_getopt(argc, argv, ":hl:", opts)) != -1) {
        if (ch == 'l')
            cli_list_add(&listen, optarg);
    }
    if (listen.n == 0)
        cli_usage_error("at least one --listen ENDPOINT is required");
    cli_check_server_endpoints(&listen);

    r = cli_reactor_new();
    rm = room_new();
    room_protocol_init(&proto);
    f = rm ? weft_factory_new(r, &proto, NULL, rm) : NULL;
    if (f == NULL) {
        cli_error("out of memory");
        weft_reactor_free(r);
        room_free(rm);
        return CLI_EXIT_FAIL;
    }
    rc = cli_listen_all(r, f, &listen);
    if (rc == 0 && (rc = weft_reactor_run(r)) < 0)
        cli_error("event loop failed: %s", weft_strerror(rc));
    /* Freeing the reactor closes what is still open (and runs the
     * callbacks that leave the room), so the factory and room go last. */
    weft_reactor_free(r);
    weft_factory_free(f);
    room_free(rm);
    cli_list_free(&listen);
    return cli_exit_code(rc);
}
