/* flow.c — output flow control shared by the example servers (flow.h). */
#include "flow.h"

static void conn_pause(weft_conn *c, void *arg)
{
    weft_conn_pause(c);
}

static void conn_resume(weft_conn *c, void *arg)
{
    weft_conn_resume(c);
}

const weft_producer flow_conn_producer = {
    .pause_producing = conn_pause,
    .resume_producing = conn_resume,
};

/* Registering again while the producer is paused would make the runtime
 * forget that pause (and never resume); a paused producer has paused
 * reading, so a paused connection is left alone. */
size_t flow_reserve(weft_conn *c, const flow *f, size_t len, void *arg)
{
    size_t out = weft_conn_pending(c) + len;
    if (out > f->high && !weft_conn_paused(c)) {
        weft_conn_set_watermarks(c, f->high, f->low);
        weft_conn_set_producer(c, f->producer, arg);
    }
    return out < f->high ? f->high - out : 0;
}
