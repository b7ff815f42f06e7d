/* internal.h — libweft's private structures and cross-file helpers
 * (the weft__ tier).  Not installed, not part of the API: programs include
 * weft.h only.
 */
#ifndef WEFT_INTERNAL_H
#define WEFT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "error.h"
#include "reactor.h"
#include "factory.h"
#include "conn.h"
#include "endpoint.h"
#include "memconn.h"

/* Bytes read from a socket per readable event (the libevent default of
 * 4096 capped a raw echo at ~350 MB/s here). */
#define WEFT__READ_SIZE 65536

/* ---- timers ------------------------------------------------------------ */

struct weft_timer {
    weft_reactor *r;
    weft_timer_cb cb;
    void *arg;
    double deadline;               /* reactor clock */
    uint64_t seq;                  /* ties fire in scheduling order */
    LIST_ENTRY(weft_timer) link;   /* real clock: registry; manual: sorted */
    struct event ev;               /* real clock only */
    unsigned running : 1;          /* cb is on the stack: free after it */
    unsigned cancelled : 1;
};

/* ---- connections ------------------------------------------------------- */

/* Rarely used per-connection fields, allocated on first use so an idle
 * connection stays small. */
struct weft__conn_extra {
    const weft_producer *pvt;      /* registered producer, or NULL */
    void *parg;
    size_t high, low;              /* watermarks */
    bool have_marks;
    bool producer_paused;          /* pause_producing ran, resume not yet */
    double idle;                   /* idle timeout in seconds, 0 = off */
    double last_active;            /* reactor clock at the last I/O */
    weft_timer *idle_timer;
    char *reason_text;             /* weft_close_reason's text, copied */
    struct sockaddr_storage peer, host;
    socklen_t peer_len, host_len;  /* 0 = not fetched yet */
    char peer_text[128], host_text[128];
    /* memconn only */
    struct evbuffer *record;       /* everything the peer "received" */
    char *view;                    /* weft_memconn_written's copy */
    bool slow;                     /* slow reader: output stays pending */
};

struct weft_conn {
    weft_reactor *r;
    weft_factory *f;
    const weft_protocol *proto;
    LIST_ENTRY(weft_conn) link;    /* reactor registry */
    struct event ev;               /* socket: the one read/write event */
    struct evbuffer *in;           /* input the protocol has not consumed;
                                      NULL when empty */
    struct evbuffer *out;          /* output not yet sent; NULL when empty */
    const char *delim;             /* weft_send_line's delimiter */
    size_t delim_len;
    void *user;
    struct weft__conn_extra *x;    /* NULL until needed */
    int fd;                        /* -1 for memconn and once closed */
    short ev_mask;                 /* events currently registered */
    uint16_t depth;                /* nesting of this conn's callbacks */
    int code;                      /* disconnect reason code, 0 = open */
    int sys_errno;
    unsigned mem : 1;              /* memory transport (memconn.h) */
    unsigned client : 1;           /* built by weft_connect */
    unsigned connected : 1;        /* on_connect ran (on_disconnect due) */
    unsigned closing : 1;          /* close or abort called */
    unsigned aborted : 1;
    unsigned paused : 1;           /* not reading, not delivering */
    unsigned in_feed : 1;          /* inside proto->feed / on_data */
    unsigned finished : 1;         /* transport closed; finalize at depth 0 */
    unsigned finalized : 1;        /* on_disconnect ran */
    unsigned in_flushq : 1;        /* queued on the reactor's flush list */
    unsigned eof : 1;              /* the peer sent EOF */
    unsigned lines_bound : 1;      /* state starts with a weft_lines that
                                      close stops (weft_conn_bind_lines) */
    _Alignas(max_align_t) unsigned char state[]; /* proto->state_size */
};

/* ---- ports, attempts, factories --------------------------------------- */

struct weft_port {
    weft_reactor *r;
    weft_factory *f;
    LIST_ENTRY(weft_port) link;
    struct evconnlistener *lev;
    weft_timer *retry_accept;      /* re-enables accepting after EMFILE */
    weft_endpoint_kind kind;
    char *unix_path;               /* removed on stop */
    int number;
    char text[160];
};

struct weft_factory {
    weft_reactor *r;
    const weft_protocol *proto;
    weft_factory_hooks hooks;
    void *user;
    LIST_ENTRY(weft_factory) link;
    size_t nconns;
    int uses;                      /* ports + attempts + client conns +
                                      pending retry: on_start at 0->1 */
    bool retry_on;                 /* weft_factory_set_retry was called */
    bool continue_trying;
    weft_retry_policy pol;
    double delay;
    int retries;
    weft_timer *retry_timer;
    char *last_endpoint;
};

struct weft_reactor {
    struct event_base *base;
    bool manual;
    double manual_now;
    uint64_t timer_seq;
    LIST_HEAD(, weft_timer) timers;
    LIST_HEAD(, weft_conn) conns;
    LIST_HEAD(, weft_port) ports;
    LIST_HEAD(, weft_attempt) attempts;
    LIST_HEAD(, weft_factory) factories;
    size_t nconns;
    struct evdns_base *dns;
    struct event *sig_int, *sig_term;
    struct event *flush_ev;        /* runs queued flushes after callbacks */
    weft_conn **flushq;
    size_t nflush, capflush;
    char *scratch;                 /* WEFT__READ_SIZE read buffer */
    struct evbuffer *spare_out;    /* an emptied output buffer, reused by
                                      the next connection that writes */
    weft_conn *io_conn;            /* whose socket event is running */
    bool running, stopping, stop_done, freeing;
    double grace;
    weft_timer *grace_timer;
    uint64_t rng;                  /* retry jitter */
    /* Echo fast path (conn.c): while echo.conn's protocol parses
     * [feed_p, feed_end), output that repeats the input bytes right after
     * the slice [slice_p, echo.end) grows the slice instead of being
     * copied; the slice joins echo.conn's output before any other output
     * and when the feed returns.  echo.end lies in [feed_p, feed_end].
     * echo.lim bounds the few-instruction path (weft__echo_take, conn.h):
     * a write may end the slice below it (strictly), where nothing else
     * needs doing: the output stays within the high-water mark of a
     * registered producer, which is not paused, and the connection is
     * open (see slice_bound; any other write recomputes it). */
    weft__echo echo;
    const char *feed_p, *feed_end;
    const char *slice_p;
};

/* ---- cross-file helpers ------------------------------------------------ */

/* reactor.c */
void weft__reactor_check_stopped(weft_reactor *r);
void weft__reactor_queue_flush(weft_reactor *r, weft_conn *c);
double weft__reactor_random(weft_reactor *r);   /* uniform in [0, 1) */
struct evdns_base *weft__reactor_dns(weft_reactor *r);

/* conn.c */
weft_conn *weft__conn_new(weft_reactor *r, weft_factory *f, int fd,
                          bool client, bool mem);
/* Runs on_connect (and factory bookkeeping); c may be gone afterwards. */
void weft__conn_start(weft_conn *c);
void weft__conn_flush(weft_conn *c);             /* the reactor's flush */
void weft__conn_receive(weft_conn *c, const char *data, size_t len);
void weft__conn_eof(weft_conn *c);
void weft__conn_mem_drain(weft_conn *c);
/* Ends c with reason (code, errno) now, as a lost transport would. */
void weft__conn_lost(weft_conn *c, int code, int sys_errno);
/* Aborts c and ends it (on_disconnect, free) before returning, unless one
 * of its callbacks is running: teardown of factories and reactors. */
void weft__conn_abort_now(weft_conn *c);

/* factory.c */
void weft__factory_use(weft_factory *f);
void weft__factory_unuse(weft_factory *f);
void weft__factory_connected(weft_factory *f);  /* resets retry delay */
/* A client attempt failed or a client connection was lost: may retry. */
void weft__factory_client_ended(weft_factory *f);
void weft__factory_set_endpoint(weft_factory *f, const char *endpoint);
void weft__factory_detach(weft_factory *f);     /* reactor is going away */

/* endpoint.c */
void weft__attempt_abort_all(weft_reactor *r);
void weft__factory_cancel_attempts(weft_factory *f);
void weft__port_stop_all(weft_reactor *r);
void weft__port_stop_factory(weft_factory *f);

/* error.c: a reason's text for code/errno into buf. */
const char *weft__reason_text(int code, int sys_errno, char *buf,
                              size_t size);

#endif
