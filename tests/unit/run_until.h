/* run_until.h — the socket tests' loop helper: runs a reactor's event loop
 * until a condition holds, and fails the test (cmocka) if a watchdog timer
 * fires first.  Include after cmocka.h and weft.h. */
#ifndef WEFT_TEST_RUN_UNTIL_H
#define WEFT_TEST_RUN_UNTIL_H

#include <event2/event.h>

/* Runs the loop of reactor r until cond holds; fails after secs seconds
 * (generous: passing tests take far less, even under ASan on a loaded
 * machine). */
#define RUN_UNTIL_WITHIN(r, secs, cond)                                     \
    do {                                                                    \
        weft_timer *t_ = weft_call_later((r), (secs), deadline, NULL);      \
        while (!(cond))                                                     \
            event_base_loop(weft_reactor_base(r), EVLOOP_ONCE);             \
        weft_timer_cancel(t_);                                              \
    } while (0)

/* The watchdog: a timer callback that fails the running test. */
static inline void deadline(void *arg)
{
    (void)arg;
    fail_msg("test took too long");
}

#endif
