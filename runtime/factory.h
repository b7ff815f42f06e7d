/* factory.h — protocol descriptors and factories (Twisted's Protocol,
 * Factory, ClientFactory and ReconnectingClientFactory).
 *
 * A weft_protocol says what to call for each connection; a weft_factory
 * pairs one with shared user state and lifecycle hooks.  Generated parsers
 * (weftc) fill a weft_protocol whose `feed` drives their line/raw modes; a
 * plain raw protocol sets `on_data` instead.
 */
#ifndef WEFT_FACTORY_H
#define WEFT_FACTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "error.h"

typedef struct weft_reactor weft_reactor;
typedef struct weft_conn weft_conn;
typedef struct weft_factory weft_factory;
typedef struct weft_attempt weft_attempt;

/* What runs for every connection.  The descriptor must outlive every
 * factory that uses it (normally a static const). */
typedef struct weft_protocol {
    const char *name;          /* for logs and errors */
    size_t state_size;         /* per-connection state, zeroed, allocated
                                  with the connection: weft_conn_state() */
    /* Connection is up; writing is allowed. */
    void (*on_connect)(weft_conn *c);
    /* Raw protocols: bytes as they arrived, valid during the call only. */
    void (*on_data)(weft_conn *c, const char *data, size_t len);
    /* Parsers: like on_data but returns how many bytes were consumed.  A
     * return below len means delivery is paused or the connection is
     * closing: the runtime keeps the rest in the input buffer, stops reading
     * from the socket, and offers it again after weft_conn_resume().  When
     * set, on_data is ignored. */
    size_t (*feed)(weft_conn *c, const char *data, size_t len);
    /* The peer ended its stream (EOF), after every byte before it was
     * delivered; a parser finishes here (until-close raw modes end).  The
     * runtime then closes the connection, flushing what was written, also
     * from on_eof.  Not called when the connection is closed by this side,
     * aborted, lost or timed out: on_disconnect's reason tells those. */
    void (*on_eof)(weft_conn *c);
    /* Always called exactly once per connected connection, last. */
    void (*on_disconnect)(weft_conn *c, const weft_reason *reason);
    const void *impl;          /* free for the protocol's implementation:
                                  generated code keeps its callback table */
} weft_protocol;

/* Factory hooks; every one optional. */
typedef struct weft_factory_hooks {
    /* First port opened or first connect attempt started (doStart). */
    void (*on_start)(weft_factory *f);
    /* Last port closed / factory freed after starting (doStop). */
    void (*on_stop)(weft_factory *f);
    /* A connection from `peer` is about to be built; return false to refuse
     * it (the socket is closed at once, no protocol callback runs). */
    bool (*on_build)(weft_factory *f, const struct sockaddr *peer,
                     socklen_t peer_len);
    /* Client side (ClientFactory). */
    void (*started_connecting)(weft_factory *f, weft_attempt *a);
    void (*connection_failed)(weft_factory *f, const weft_reason *reason);
    void (*connection_lost)(weft_factory *f, weft_conn *c,
                            const weft_reason *reason);
} weft_factory_hooks;

/* Twisted's ReconnectingClientFactory parameters. */
typedef struct weft_retry_policy {
    double initial_delay;      /* seconds; Twisted: 1.0 */
    double factor;             /* growth per failure; Twisted: 2.7182818 */
    double jitter;             /* relative; Twisted: 0.11962656472 */
    double max_delay;          /* cap in seconds; Twisted: 3600 */
    int max_retries;           /* <0 for unlimited */
} weft_retry_policy;

/* ---- public API ------------------------------------------------------- */

/* New factory for `proto` on reactor r.  hooks may be NULL (it is copied).
 * user is shared state the factory does not own. */
weft_factory *weft_factory_new(weft_reactor *r, const weft_protocol *proto,
                               const weft_factory_hooks *hooks, void *user);
/* Frees a factory.  Ports still open are stopped, attempts cancelled and
 * connections aborted first (their callbacks run); on_stop runs if the
 * factory was started.  Not from inside one of its connections'
 * callbacks. */
void weft_factory_free(weft_factory *f);
void *weft_factory_user(const weft_factory *f);
const weft_protocol *weft_factory_protocol(const weft_factory *f);
weft_reactor *weft_factory_reactor(const weft_factory *f);
/* Number of live connections built by this factory. */
size_t weft_factory_conn_count(const weft_factory *f);

/* Default policy values, as Twisted's ReconnectingClientFactory. */
extern const weft_retry_policy weft_retry_default;
/* Client factories: after a failed or lost connection, reconnect to the
 * last endpoint given to weft_connect() with policy's backoff; a
 * successful connection resets the delay.  policy is copied. */
void weft_factory_set_retry(weft_factory *f, const weft_retry_policy *policy);
/* Stops retrying and cancels a pending retry (stopTrying). */
void weft_factory_stop_retrying(weft_factory *f);
/* Delay the next retry would use (for tests and logs). */
double weft_factory_retry_delay(const weft_factory *f);

#endif
