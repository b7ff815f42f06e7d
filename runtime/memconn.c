/* memconn.c — the in-memory transport (Twisted's StringTransport).
 *
 * A memconn runs through the very code paths of conn.c (delivery loop,
 * close/abort, watermarks, idle timeout); only the transport differs:
 * output moves into a record buffer instead of a socket.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "internal.h"

weft_conn *weft_memconn_new(weft_factory *f)
{
    weft_conn *c = weft__conn_new(weft_factory_reactor(f), f, -1, false, true);
    if (!c)
        return NULL;
    c->x = calloc(1, sizeof *c->x);
    if (!c->x || !(c->x->record = evbuffer_new()))
        abort();
    if (f->hooks.on_build && !f->hooks.on_build(f, NULL, 0)) {
        /* Refused: no protocol callback runs, as for a socket. */
        c->code = WEFT_EREFUSED_BUILD;
        c->closing = c->finished = c->finalized = 1;
        f->nconns--;
        return c;
    }
    weft__conn_start(c);
    return c;
}

void weft_memconn_receive(weft_conn *c, const void *data, size_t len)
{
    weft__conn_receive(c, data, len);
}

void weft_memconn_eof(weft_conn *c)
{
    if (!c->finished)
        weft__conn_eof(c);
}

const char *weft_memconn_written(weft_conn *c, size_t *len)
{
    struct weft__conn_extra *x = c->x;
    size_t a = evbuffer_get_length(x->record);
    size_t b = c->out ? evbuffer_get_length(c->out) : 0;
    char *v = realloc(x->view, a + b + 1);
    if (!v)
        abort();
    x->view = v;
    evbuffer_copyout(x->record, v, a);
    if (b)
        evbuffer_copyout(c->out, v + a, b);
    v[a + b] = '\0';
    if (len)
        *len = a + b;
    return v;
}

void weft_memconn_clear(weft_conn *c)
{
    evbuffer_drain(c->x->record, evbuffer_get_length(c->x->record));
}

bool weft_memconn_closed(const weft_conn *c) { return c->closing; }
bool weft_memconn_aborted(const weft_conn *c) { return c->aborted; }

int weft_memconn_reason(const weft_conn *c)
{
    return c->finalized ? c->code : 0;
}

void weft_memconn_set_slow_reader(weft_conn *c, bool slow)
{
    c->x->slow = slow;
    if (!slow)
        weft__conn_mem_drain(c);
}

void weft_memconn_drain(weft_conn *c)
{
    weft__conn_mem_drain(c);
}

void weft_memconn_free(weft_conn *c)
{
    if (!c)
        return;
    if (!c->finalized)
        weft__conn_lost(c, WEFT_ELOST, 0);
    if (c->out)
        evbuffer_free(c->out);
    if (c->in)
        evbuffer_free(c->in);
    evbuffer_free(c->x->record);
    free(c->x->view);
    free(c->x->reason_text);
    free(c->x);
    free(c);
}
