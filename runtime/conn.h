/* conn.h — a connection and its transport (Twisted's ITransport).
 *
 * One allocation holds the connection and the protocol's per-connection
 * state.  A connection is owned by the runtime: it is freed right after
 * on_disconnect returns, so never keep a weft_conn * past that callback.
 * The same type serves sockets and the in-memory test transport (memconn.h).
 *
 * Nothing frees c inside one of its own callbacks.  A socket connection
 * ended by a call made from elsewhere (a timer, another connection's
 * callback: weft_close, weft_abort, weft_conn_resume, ...) runs
 * on_disconnect later in the same loop iteration, never inside that call,
 * so the caller may still use c until it returns to the loop.  A memconn
 * (no loop) ends inside the call: do not touch it after on_disconnect.
 */
#ifndef WEFT_CONN_H
#define WEFT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "error.h"

typedef struct weft_conn weft_conn;
typedef struct weft_factory weft_factory;
typedef struct weft_reactor weft_reactor;
struct evbuffer;
struct weft_lines;

/* IPushProducer (Twisted's registerProducer(p, streaming=True)): called
 * when output crosses the watermarks.  There is no pull producer. */
typedef struct weft_producer {
    void (*pause_producing)(weft_conn *c, void *arg);
    void (*resume_producing)(weft_conn *c, void *arg);
    void (*stop_producing)(weft_conn *c, void *arg);   /* optional */
} weft_producer;

/* ---- public API ------------------------------------------------------- */

/* The protocol's per-connection state (state_size bytes, zeroed). */
void *weft_conn_state(weft_conn *c);
weft_factory *weft_conn_factory(const weft_conn *c);
weft_reactor *weft_conn_reactor(const weft_conn *c);
/* A pointer the user may hang anything on; the runtime never touches it. */
void weft_conn_set_user(weft_conn *c, void *user);
void *weft_conn_user(const weft_conn *c);

/* Writing.  All return 0, or WEFT_ECLOSED once close/abort was called (the
 * bytes are dropped), or WEFT_ENOMEM.  Bytes are copied. */
int weft_write(weft_conn *c, const void *data, size_t len);
/* As weft_write, but with nothing queued before them the bytes go to the
 * socket at once, in one send, instead of with the flush after the
 * callback; what the kernel does not take is queued.  For a protocol that
 * collects its replies to a read itself and writes them at the end of its
 * feed (memcached's way): saves the copy into the output buffer. */
int weft_write_now(weft_conn *c, const void *data, size_t len);
int weft_writev(weft_conn *c, const struct iovec *iov, int iovcnt);
int weft_printf(weft_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writes line + the connection's delimiter in one write (sendLine). */
int weft_send_line(weft_conn *c, const void *line, size_t len);
/* Writes line + delim in one write: weft_send_line with the delimiter
 * given (generated NAME_send_line passes the current mode's).  Echoing the
 * line being parsed, with its own delimiter, from a protocol callback
 * copies nothing: the output is a slice of the input buffer. */
int weft_write_line(weft_conn *c, const void *line, size_t len,
                    const char *delim, size_t delim_len);
/* Delimiter used by weft_send_line; generated parsers set it on every mode
 * switch.  The bytes are not copied: pass storage that outlives c.
 * Default "\r\n". */
void weft_conn_set_delimiter(weft_conn *c, const char *delim, size_t len);
/* Sends len bytes of fd from offset without copying (sendfile where the
 * transport allows).  Takes ownership of fd, even on failure. */
int weft_write_file(weft_conn *c, int fd, off_t offset, off_t len);
/* The output buffer itself, for batching many small writes; bytes added
 * here count toward the watermarks like any other write.  Valid until the
 * current callback returns (an emptied buffer is freed). */
struct evbuffer *weft_conn_output(weft_conn *c);
/* Bytes written but not yet sent. */
size_t weft_conn_pending(const weft_conn *c);

/* loseConnection: stop reading, flush everything already written, then
 * close; reason WEFT_EDONE.  A registered producer does not hold it back
 * (as with Twisted's streaming producers); it gets stop_producing when the
 * connection ends.  Idempotent; safe from any callback. */
void weft_close(weft_conn *c);
/* Like weft_close but the disconnect reason is `code` with `text` (copied),
 * e.g. WEFT_ELINE_TOO_LONG or WEFT_EPROTOCOL. */
void weft_close_reason(weft_conn *c, int code, const char *text);
/* abortConnection: drop buffered output, close now; reason WEFT_EABORTED.
 * on_disconnect still runs, but after the current callback of c returns
 * (called from outside c's callbacks: later in the loop iteration for a
 * socket, before weft_abort returns for a memconn). */
void weft_abort(weft_conn *c);
/* True once close or abort was called: no further protocol callback will
 * run except on_eof/on_disconnect. */
bool weft_conn_closing(const weft_conn *c);
/* For a protocol whose state starts with the weft_lines that parses its
 * input (every generated parser; l must be weft_conn_state(c), else
 * WEFT_EINVAL): close, close_reason and abort then stop l at once
 * (weft_lines_stop), so the driver ends delivery right after the callback
 * that closed, with no check of its own after every callback.  Also stops
 * l now if c is closing already.  Generated glue calls it on connect. */
int weft_conn_bind_lines(weft_conn *c, struct weft_lines *l);

/* Stops reading from the peer (pauseProducing of the transport).  Bytes
 * already read stay buffered and are not delivered until resumed. */
void weft_conn_pause(weft_conn *c);
/* Resumes reading and delivers buffered bytes: at once when called outside
 * this connection's feed, otherwise as soon as the current feed returns. */
void weft_conn_resume(weft_conn *c);
bool weft_conn_paused(const weft_conn *c);

/* Closes the connection with reason WEFT_ETIMEDOUT after `seconds` with no
 * bytes read or written; 0 disables.  Resets on every read and write. */
void weft_conn_set_idle_timeout(weft_conn *c, double seconds);

/* Output flow control: above `high` bytes pending the producer's
 * pause_producing runs; back below `low`, resume_producing.  Defaults
 * 64 KiB / 16 KiB (Twisted uses 64 KiB). */
void weft_conn_set_watermarks(weft_conn *c, size_t high, size_t low);
/* Registers (or with NULL unregisters) the producer; vt must outlive it.
 * It stays registered until replaced or the connection ends, so a program
 * may register it once and leave it: it never delays weft_close.  While a
 * close flushes, resume_producing still runs at the low mark (writes are
 * refused by then); stop_producing runs first when the connection ends. */
void weft_conn_set_producer(weft_conn *c, const weft_producer *vt, void *arg);

/* Addresses.  Return NULL where there is none (memconn). *len may be NULL. */
const struct sockaddr *weft_conn_peer(const weft_conn *c, socklen_t *len);
const struct sockaddr *weft_conn_host(const weft_conn *c, socklen_t *len);
/* "127.0.0.1:5000", "[::1]:5000", "unix:/path"; valid while c lives. */
const char *weft_conn_peer_text(weft_conn *c);
const char *weft_conn_host_text(weft_conn *c);

/* Formats a sockaddr as above into buf; returns buf. */
char *weft_sockaddr_text(const struct sockaddr *sa, socklen_t len,
                         char *buf, size_t size);

/* ---- internal (weft__): the echo fast path, inline for generated code -- */

/* While a connection's protocol parses input, output that repeats the
 * input right after what was echoed so far is kept as one slice of that
 * input instead of being copied (see "Flushing" in docs/runtime.md).  Its
 * state, per reactor (conn.c keeps it exact): */
typedef struct weft__echo {
    weft_conn *conn;              /* the connection being fed, or NULL */
    const char *end;              /* where the slice ends in its input */
    uintptr_t lim;                /* the slice may end strictly below this
                                     with nothing else to do (in the input;
                                     within a registered producer's
                                     high-water mark; nothing fits once
                                     closing); always >= end */
} weft__echo;

/* The echo state that serves c: fixed for c's life.  Without a reactor
 * (and for c == NULL, e.g. a standalone parser) one that never takes a
 * write, so callers need no NULL test. */
weft__echo *weft__conn_echo(weft_conn *c);

/* The whole job of a write of [p, p+n) then [d, d+dn) by c when it just
 * continues the slice: grows it and returns true.  Otherwise changes
 * nothing and returns false; the caller then makes the write the general
 * way (weft_write_line).  e: weft__conn_echo(c). */
static inline bool weft__echo_take(weft__echo *e, const weft_conn *c,
                                   const char *p, size_t n, const char *d,
                                   size_t dn)
{
    if (e->conn != c || p != e->end)
        return false;
    size_t room = (size_t)(e->lim - (uintptr_t)p);  /* room - 1 fits */
    if (n >= room || dn >= room - n)
        return false;
    const char *at = p + n;
    if (dn == 2) {                                  /* CRLF and the like */
        uint16_t x, y;
        memcpy(&x, d, 2);
        memcpy(&y, at, 2);
        if (x != y)
            return false;
    } else {
        for (size_t i = 0; i < dn; i++)
            if (d[i] != at[i])
                return false;
    }
    e->end = at + dn;
    return true;
}

#endif
