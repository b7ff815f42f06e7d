/* endpoint.h — listening and connecting by endpoint string, in Twisted's
 * serverFromString / clientFromString syntax.
 *
 *   servers: tcp:PORT[:interface=ADDR][:backlog=N]
 *            tcp6:PORT[:interface=ADDR][:backlog=N]
 *            unix:PATH[:mode=0660][:backlog=N]
 *   clients: tcp:host=H:port=P[:timeout=S][:bindAddress=A]
 *            unix:path=P[:timeout=S]
 *
 * A backslash escapes the next character (so "\:" is a literal colon).
 * Errors name the string: "tcp:notaport: port must be a number from 0 to
 * 65535", "tcp:8080: address already in use".
 */
#ifndef WEFT_ENDPOINT_H
#define WEFT_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

typedef struct weft_reactor weft_reactor;
typedef struct weft_factory weft_factory;
typedef struct weft_port weft_port;
typedef struct weft_attempt weft_attempt;

typedef enum weft_endpoint_kind {
    WEFT_ENDPOINT_TCP,
    WEFT_ENDPOINT_TCP6,
    WEFT_ENDPOINT_UNIX,
} weft_endpoint_kind;

/* A parsed endpoint string. */
typedef struct weft_endpoint {
    weft_endpoint_kind kind;
    bool server;
    char host[256];        /* client host, or server interface ("" = any) */
    int port;              /* tcp */
    char path[108];        /* unix */
    int backlog;           /* server; default 50 */
    unsigned mode;         /* unix server file mode; default 0666 & ~umask */
    bool has_mode;
    double timeout;        /* client connect timeout; default 30 s */
    char bind_address[256];/* client bindAddress, "" if none */
} weft_endpoint;

/* ---- public API ------------------------------------------------------- */

/* Parses a server (server=true) or client endpoint string into *out.
 * Returns 0 or WEFT_EENDPOINT with err naming the string. */
int weft_endpoint_parse(const char *s, bool server, weft_endpoint *out,
                        weft_error *err);

/* Listens on a server endpoint; connections are built by f.  Returns the
 * port, owned by the reactor until stopped, or NULL with *err filled
 * (bad string, address in use, permission, ...).  One factory may listen on
 * several endpoints. */
weft_port *weft_listen(weft_reactor *r, const char *endpoint, weft_factory *f,
                       weft_error *err);
/* Stops listening; done(arg) runs once the port is fully closed (a unix
 * socket file is removed first).  The port handle is invalid after done.
 * done may be NULL. */
void weft_port_stop(weft_port *p, void (*done)(void *arg), void *arg);
/* The bound TCP port number (useful with tcp:0), or -1 for unix. */
int weft_port_number(const weft_port *p);
/* "tcp:127.0.0.1:8080" style text of the bound address. */
const char *weft_port_text(const weft_port *p);

/* Starts connecting to a client endpoint with factory f; host names are
 * resolved asynchronously.  Returns the attempt (owned by the reactor, valid
 * until the connection is made, fails or is cancelled) or NULL with *err
 * filled for a bad string.  Failures later reach f's connection_failed. */
weft_attempt *weft_connect(weft_reactor *r, const char *endpoint,
                           weft_factory *f, weft_error *err);
/* Cancels an attempt still in progress; connection_failed runs with
 * WEFT_ECANCELLED.  Safe from any callback. */
void weft_attempt_cancel(weft_attempt *a);

#endif
