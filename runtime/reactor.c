/* reactor.c — the event loop, timers (real and manual clock), graceful
 * stop and signal handling.
 *
 * Timers on a real clock are libevent timer events; on a manual clock they
 * sit in a list sorted by (deadline, seq) that weft_reactor_advance() pops
 * one at a time, so a callback may cancel or add any timer, including a
 * neighbour due in the same tick.  A timer whose callback is running is
 * only marked when cancelled, and freed once the callback returns.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/dns.h>

#include "internal.h"

/* ---- clock --------------------------------------------------------------- */

double weft_reactor_now(const weft_reactor *r)
{
    if (r->manual)
        return r->manual_now;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- timers -------------------------------------------------------------- */

static void timer_free(weft_timer *t)
{
    LIST_REMOVE(t, link);
    if (!t->r->manual)
        event_del(&t->ev);
    free(t);
}

static void timer_fire(weft_timer *t)
{
    t->running = 1;
    t->cb(t->arg);
    timer_free(t);
}

static void timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    timer_fire(arg);
}

static void tv_from(struct timeval *tv, double seconds)
{
    if (seconds < 0)
        seconds = 0;
    tv->tv_sec = (time_t)seconds;
    tv->tv_usec = (suseconds_t)((seconds - (double)tv->tv_sec) * 1e6);
}

/* Manual clock: keep the list sorted by deadline, ties by seq. */
static void timer_insert_sorted(weft_reactor *r, weft_timer *t)
{
    weft_timer *it = LIST_FIRST(&r->timers), *last = NULL;
    while (it && (it->deadline < t->deadline
                  || (it->deadline == t->deadline && it->seq < t->seq))) {
        last = it;
        it = LIST_NEXT(it, link);
    }
    if (last)
        LIST_INSERT_AFTER(last, t, link);
    else
        LIST_INSERT_HEAD(&r->timers, t, link);
}

static void timer_arm(weft_timer *t, double seconds)
{
    weft_reactor *r = t->r;
    if (seconds < 0)
        seconds = 0;
    t->deadline = weft_reactor_now(r) + seconds;
    if (r->manual) {
        timer_insert_sorted(r, t);
    } else {
        struct timeval tv;
        tv_from(&tv, seconds);
        LIST_INSERT_HEAD(&r->timers, t, link);
        evtimer_add(&t->ev, &tv);
    }
}

weft_timer *weft_call_later(weft_reactor *r, double seconds, weft_timer_cb cb,
                            void *arg)
{
    weft_timer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->r = r;
    t->cb = cb;
    t->arg = arg;
    t->seq = r->timer_seq++;
    if (!r->manual)
        evtimer_assign(&t->ev, r->base, timer_event_cb, t);
    timer_arm(t, seconds);
    return t;
}

void weft_timer_cancel(weft_timer *t)
{
    if (!t || t->cancelled)
        return;
    if (t->running) {
        t->cancelled = 1;      /* timer_fire frees it after cb returns */
        return;
    }
    timer_free(t);
}

void weft_timer_reset(weft_timer *t, double seconds)
{
    if (!t || t->running)
        return;
    LIST_REMOVE(t, link);
    if (!t->r->manual)
        evtimer_del(&t->ev);
    t->seq = t->r->timer_seq++;
    timer_arm(t, seconds);
}

void weft_reactor_advance(weft_reactor *r, double seconds)
{
    if (!r->manual)
        return;
    double target = r->manual_now + (seconds > 0 ? seconds : 0);
    weft_timer *t;
    while ((t = LIST_FIRST(&r->timers)) && t->deadline <= target) {
        if (t->deadline > r->manual_now)
            r->manual_now = t->deadline;
        timer_fire(t);
    }
    r->manual_now = target;
}

/* ---- creation ------------------------------------------------------------ */

static void quiet_log(int severity, const char *msg)
{
    /* libevent and evdns log warnings to stderr by default; a library must
     * not print, so they are dropped. */
    (void)severity;
    (void)msg;
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    weft_reactor *r = arg;
    (void)fd;
    (void)what;
    /* Flushing may queue more (a producer writing again): take the queue
     * by index, entries nulled by conn finalization are skipped. */
    for (size_t i = 0; i < r->nflush; i++) {
        weft_conn *c = r->flushq[i];
        if (!c)
            continue;
        r->flushq[i] = NULL;
        c->in_flushq = 0;
        weft__conn_flush(c);
    }
    r->nflush = 0;
}

static weft_reactor *reactor_new(bool manual)
{
    static bool once;
    if (!once) {
        once = true;
        event_set_log_callback(quiet_log);
        /* Writes to a peer that went away must fail with EPIPE, not kill
         * the process; only the default disposition is changed. */
        struct sigaction sa;
        if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
            signal(SIGPIPE, SIG_IGN);
    }
    weft_reactor *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->base = event_base_new();
    if (!r->base) {
        free(r);
        return NULL;
    }
    r->manual = manual;
    r->grace = 5.0;
    LIST_INIT(&r->timers);
    LIST_INIT(&r->conns);
    LIST_INIT(&r->ports);
    LIST_INIT(&r->attempts);
    LIST_INIT(&r->factories);
    r->flush_ev = event_new(r->base, -1, 0, flush_cb, r);
    r->rng = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL)
             ^ (uint64_t)(uintptr_t)r;
    if (!r->flush_ev) {
        event_base_free(r->base);
        free(r);
        return NULL;
    }
    return r;
}

weft_reactor *weft_reactor_new(void) { return reactor_new(false); }
weft_reactor *weft_reactor_new_manual(void) { return reactor_new(true); }

struct event_base *weft_reactor_base(weft_reactor *r) { return r->base; }

void weft_reactor_set_grace(weft_reactor *r, double seconds)
{
    r->grace = seconds < 0 ? 0 : seconds;
}

bool weft_reactor_stopping(const weft_reactor *r) { return r->stopping; }

double weft__reactor_random(weft_reactor *r)
{
    /* xorshift64*: enough for retry jitter, no global state. */
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return (double)((r->rng * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

struct evdns_base *weft__reactor_dns(weft_reactor *r)
{
    if (r->dns)
        return r->dns;
    r->dns = evdns_base_new(r->base, EVDNS_BASE_INITIALIZE_NAMESERVERS
                                     | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!r->dns) {
        /* No usable resolv.conf: /etc/hosts still answers "localhost". */
        r->dns = evdns_base_new(r->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
        if (r->dns)
            evdns_base_load_hosts(r->dns, NULL);
    }
    return r->dns;
}

void weft__reactor_queue_flush(weft_reactor *r, weft_conn *c)
{
    if (c->in_flushq)
        return;
    if (r->nflush == r->capflush) {
        size_t cap = r->capflush ? r->capflush * 2 : 64;
        weft_conn **q = realloc(r->flushq, cap * sizeof *q);
        if (!q) {
            weft__conn_flush(c);   /* no room to defer: write now */
            return;
        }
        r->flushq = q;
        r->capflush = cap;
    }
    r->flushq[r->nflush++] = c;
    c->in_flushq = 1;
    event_active(r->flush_ev, EV_TIMEOUT, 1);
}

/* ---- run and stop -------------------------------------------------------- */

void weft__reactor_check_stopped(weft_reactor *r)
{
    if (!r->stopping || r->stop_done)
        return;
    if (!LIST_EMPTY(&r->conns) || !LIST_EMPTY(&r->ports)
        || !LIST_EMPTY(&r->attempts))
        return;
    r->stop_done = true;
    weft_timer_cancel(r->grace_timer);
    r->grace_timer = NULL;
    event_base_loopbreak(r->base);
}

static void abort_all_conns(weft_reactor *r)
{
    /* Ending a connection runs on_disconnect, which may end others, and
     * unlinks it: always restart from the head.  A connection whose
     * callback is on the stack cannot end now; skip it. */
    for (;;) {
        weft_conn *c;
        LIST_FOREACH(c, &r->conns, link)
            if (c->depth == 0)
                break;
        if (!c)
            return;
        weft__conn_abort_now(c);
    }
}

static void grace_expired(void *arg)
{
    weft_reactor *r = arg;
    r->grace_timer = NULL;
    abort_all_conns(r);
    weft__reactor_check_stopped(r);
}

void weft_reactor_stop(weft_reactor *r)
{
    if (r->stopping)
        return;
    r->stopping = true;
    weft__port_stop_all(r);
    weft__attempt_abort_all(r);
    weft_factory *f;
    LIST_FOREACH(f, &r->factories, link)
        weft_factory_stop_retrying(f);
    /* Close every connection; weft_close may finalize at once, so walk
     * from the head for one that is not closing yet. */
    for (;;) {
        weft_conn *c;
        LIST_FOREACH(c, &r->conns, link)
            if (!c->closing)
                break;
        if (!c)
            break;
        weft_close(c);
    }
    if (!LIST_EMPTY(&r->conns))
        r->grace_timer = weft_call_later(r, r->grace, grace_expired, r);
    weft__reactor_check_stopped(r);
}

int weft_reactor_run(weft_reactor *r)
{
    if (r->stop_done)
        return 0;
    r->running = true;
    /* Returns on the loopbreak of a completed stop, when nothing is left
     * to wait for (1), on a user's event_base_loopbreak, or on failure. */
    int rc = event_base_loop(r->base, 0);
    r->running = false;
    return rc < 0 ? WEFT_ESYS : 0;
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    weft_reactor_stop(arg);
}

int weft_reactor_handle_signals(weft_reactor *r)
{
    if (r->sig_int)
        return 0;
    r->sig_int = evsignal_new(r->base, SIGINT, signal_cb, r);
    r->sig_term = evsignal_new(r->base, SIGTERM, signal_cb, r);
    if (!r->sig_int || !r->sig_term || evsignal_add(r->sig_int, NULL) < 0
        || evsignal_add(r->sig_term, NULL) < 0)
        return WEFT_ESYS;
    return 0;
}

void weft_reactor_free(weft_reactor *r)
{
    if (!r)
        return;
    r->freeing = true;
    r->stopping = true;
    weft__port_stop_all(r);
    weft__attempt_abort_all(r);
    abort_all_conns(r);
    while (!LIST_EMPTY(&r->factories)) {
        weft_factory *f = LIST_FIRST(&r->factories);
        weft__factory_detach(f);
    }
    while (!LIST_EMPTY(&r->timers)) {
        weft_timer *t = LIST_FIRST(&r->timers);
        timer_free(t);
    }
    if (r->dns) {
        /* evdns delivers the callbacks of cancelled lookups from the loop;
         * let them run, or their requests leak. */
        event_base_loop(r->base, EVLOOP_NONBLOCK);
        evdns_base_free(r->dns, 1);
    }
    if (r->sig_int)
        event_free(r->sig_int);
    if (r->sig_term)
        event_free(r->sig_term);
    event_free(r->flush_ev);
    free(r->flushq);
    free(r->scratch);
    if (r->spare_out)
        evbuffer_free(r->spare_out);
    event_base_free(r->base);
    free(r);
}
