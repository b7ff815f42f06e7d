/* reactor.h — the event loop (Twisted's reactor) and its timers.
 *
 * A reactor wraps one libevent event_base.  A reactor made with
 * weft_reactor_new_manual() runs its timers on a manual clock instead
 * (Twisted's task.Clock): time only moves when weft_reactor_advance() is
 * called, so tests of timeouts take microseconds.
 */
#ifndef WEFT_REACTOR_H
#define WEFT_REACTOR_H

#include <stdbool.h>

struct event_base;
typedef struct weft_reactor weft_reactor;
typedef struct weft_timer weft_timer;
typedef void (*weft_timer_cb)(void *arg);

/* ---- public API ------------------------------------------------------- */

/* New reactor on a fresh event_base with a real clock.  NULL on failure. */
weft_reactor *weft_reactor_new(void);
/* New reactor whose timers run on a manual clock starting at 0.0. */
weft_reactor *weft_reactor_new_manual(void);
/* Frees the reactor.  Ports, connections and timers still open are closed
 * (aborted) first, their callbacks run with reason WEFT_EABORTED. */
void weft_reactor_free(weft_reactor *r);

/* Runs until weft_reactor_stop() has completed or nothing is left to wait
 * for.  Returns 0, or a negative WEFT_E* code if the loop failed. */
int weft_reactor_run(weft_reactor *r);
/* Graceful stop, safe from any callback: listening ports close first, open
 * connections are closed (flushing what was written) and get the grace
 * period to finish, then whatever remains is aborted and run() returns. */
void weft_reactor_stop(weft_reactor *r);
/* Grace period for weft_reactor_stop(); default 5 seconds. */
void weft_reactor_set_grace(weft_reactor *r, double seconds);
/* Makes SIGINT and SIGTERM call weft_reactor_stop().  Returns 0 or <0. */
int weft_reactor_handle_signals(weft_reactor *r);
/* True once weft_reactor_stop() was called. */
bool weft_reactor_stopping(const weft_reactor *r);

/* Seconds on the reactor's clock (monotonic; manual clock: its value). */
double weft_reactor_now(const weft_reactor *r);
/* Manual clock only: moves time forward by `seconds`, firing every timer
 * that falls due, in deadline order (ties in scheduling order). */
void weft_reactor_advance(weft_reactor *r, double seconds);

/* Calls cb(arg) once, `seconds` from now.  The handle is owned by the
 * reactor and stays valid until cb has returned or the timer is cancelled.
 * NULL on out-of-memory. */
weft_timer *weft_call_later(weft_reactor *r, double seconds,
                            weft_timer_cb cb, void *arg);
/* Cancels a pending timer; safe from any callback, including the timer's
 * own neighbours firing in the same tick.  Passing NULL is a no-op. */
void weft_timer_cancel(weft_timer *t);
/* Moves a pending timer's deadline to `seconds` from now (Twisted's
 * DelayedCall.reset). */
void weft_timer_reset(weft_timer *t, double seconds);

/* The underlying event_base, for users who add their own libevent events. */
struct event_base *weft_reactor_base(weft_reactor *r);

#endif
