/* memconn.h — an in-memory transport for tests (Twisted's StringTransport).
 *
 * A memconn is a weft_conn with no socket: what the protocol writes is
 * recorded, bytes "from the peer" are injected with weft_memconn_receive(),
 * and close/abort are recorded instead of touching the network.  Use a
 * manual reactor (weft_reactor_new_manual) to drive its timers.
 *
 * Unlike socket connections, a memconn is freed only by weft_memconn_free(),
 * so a test can inspect it after the protocol closed it.
 */
#ifndef WEFT_MEMCONN_H
#define WEFT_MEMCONN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct weft_conn weft_conn;
typedef struct weft_factory weft_factory;

/* ---- public API ------------------------------------------------------- */

/* New connected memconn built by f (on_build, on_connect run now). */
weft_conn *weft_memconn_new(weft_factory *f);
/* Delivers bytes as if read from the peer (ignored once closing). */
void weft_memconn_receive(weft_conn *c, const void *data, size_t len);
/* The peer half-closes (EOF): on_eof runs, then the connection closes. */
void weft_memconn_eof(weft_conn *c);
/* Everything written so far (a slow reader's pending bytes included),
 * NUL-terminated for convenience; *len may be NULL.  Valid until the next
 * call of this function, weft_memconn_clear or weft_memconn_free. */
const char *weft_memconn_written(weft_conn *c, size_t *len);
/* Forgets what was written so far (pending bytes of a slow reader stay). */
void weft_memconn_clear(weft_conn *c);
/* True once the protocol called close or abort. */
bool weft_memconn_closed(const weft_conn *c);
bool weft_memconn_aborted(const weft_conn *c);
/* Code of the reason on_disconnect got, or 0 if it has not run. */
int weft_memconn_reason(const weft_conn *c);
/* Simulates the peer draining output: pending bytes count toward the
 * watermarks until this is called (the default is to drain on every
 * write, like a fast reader). */
void weft_memconn_set_slow_reader(weft_conn *c, bool slow);
void weft_memconn_drain(weft_conn *c);
/* Ends the connection if still open (reason WEFT_ELOST) and frees it.
 * Free memconns before their reactor. */
void weft_memconn_free(weft_conn *c);

#endif
