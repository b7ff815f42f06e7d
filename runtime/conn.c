/* conn.c — connections and their transports (socket or memory).
 *
 * Memory: an idle socket connection is one allocation (this struct plus the
 * protocol state) with one libevent event embedded.  Input and output
 * evbuffers exist only while bytes are held in them: reads go into one
 * per-reactor scratch buffer and are fed to the protocol straight from
 * there; only what the protocol leaves unconsumed is copied into c->in.
 *
 * Re-entrancy: every call into user code is bracketed by depth++/depth--.
 * A connection is never freed while depth > 0; when the outermost callback
 * returns, settle() flushes output, runs producer callbacks, finishes a
 * pending close and finalizes (on_disconnect, free) a finished connection.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <event2/buffer.h>

#include "internal.h"
#include "lines.h"

#define DEFAULT_HIGH (64 * 1024)
#define DEFAULT_LOW  (16 * 1024)
/* Writes at least this large go to the socket at once (write_direct). */
#define DIRECT_MIN 16384

static bool settle(weft_conn *c, bool io);
static bool end_conn(weft_conn *c, bool now);
static void touch(weft_conn *c);
static struct evbuffer *out_new(weft_conn *c);
static size_t high_mark(const weft_conn *c);

/* ---- small helpers ------------------------------------------------------- */

static struct weft__conn_extra *extra(weft_conn *c)
{
    if (!c->x) {
        c->x = calloc(1, sizeof *c->x);
        if (!c->x)
            abort();   /* small internal allocation (STYLE.md habit 6) */
    }
    return c->x;
}

static size_t pending(const weft_conn *c)
{
    size_t n = c->out ? evbuffer_get_length(c->out) : 0;
    if (c->r && c->r->echo.conn == c)
        n += (size_t)(c->r->echo.end - c->r->slice_p);
    return n;
}

/* ---- echo fast path --------------------------------------------------- */

/* A line echo writes back, line by line, the very bytes it is parsing.
 * Instead of one copy per write, such output is kept as one slice
 * [slice_p, slice_end) of the input being fed and handed to the socket (or
 * copied) once when the feed returns, or before any other output, so the
 * order never changes.  A feed starts with an empty slice at its first
 * byte, and a flushed slice leaves an empty one where it ended, so a write
 * that continues the input there joins it in a few instructions
 * (slice_fast); slice_take is the general case.  Returns true if [p, p+n)
 * joined the slice: it lies in the fed input right after the slice (or
 * starts an empty one), or is a short run of bytes equal to the input
 * there (the delimiter of send_line). */
static bool slice_take(weft_conn *c, const char *p, size_t n)
{
    weft_reactor *r = c->r;
    if (!r || r->echo.conn != c || !n || c->finished)
        return false;
    const bool empty = r->echo.end == r->slice_p;
    const char *at = empty ? p : r->echo.end;
    uintptr_t lo = (uintptr_t)r->feed_p, hi = (uintptr_t)r->feed_end;
    uintptr_t a = (uintptr_t)at;
    if (a < lo || a > hi || n > hi - a)
        return false;
    if (p != at) {
        if (n > 16)
            return false;
        for (size_t i = 0; i < n; i++)   /* a delimiter: a byte or two */
            if (p[i] != at[i])
                return false;
    }
    if (empty)
        r->slice_p = at;
    r->echo.end = at + n;
    r->echo.lim = (uintptr_t)r->echo.end;   /* wrote() sets it again */
    return true;
}

/* Where the fast path may take the slice of c, the connection being fed
 * (r->echo.lim, internal.h): a write that keeps the slice below it needs
 * no bookkeeping at all.  It ends the input; while a producer is
 * registered, it also keeps the output within the high-water mark, and
 * nothing fits while the producer is paused or c is closing.  So wrote()'s
 * check_marks would find nothing to do there, and touch() runs when the
 * slice is flushed.  Called wherever the slice, the output or those
 * settings change (writes: in wrote()). */
static void slice_bound(weft_conn *c)
{
    weft_reactor *r = c->r;
    if (!r || r->echo.conn != c)
        return;
    const struct weft__conn_extra *x = c->x;
    const bool producer = x && x->pvt;
    const uintptr_t end = (uintptr_t)r->echo.end;
    size_t room = (size_t)(r->feed_end - r->echo.end);
    if (c->closing || (producer && x->producer_paused)) {
        r->echo.lim = end;                 /* nothing fits */
        return;
    }
    if (producer) {
        size_t q = pending(c), high = high_mark(c);
        if (q > high) {
            r->echo.lim = end;             /* check_marks must run */
            return;
        }
        if (high - q < room)
            room = high - q;
    }
    r->echo.lim = end + room + 1;
}

/* The common case of slice_take, inlined for the write calls (and, in
 * generated NAME_send_line, for a line echo): see weft__echo_take. */
static inline bool slice_fast(weft_conn *c, const char *p, size_t n,
                              const char *d, size_t dn)
{
    return c->r && weft__echo_take(&c->r->echo, c, p, n, d, dn);
}

/* Takes no write: only p == NULL reaches the room test, and there is none
 * (lim - end == 0).  Never written, so it may be shared. */
static weft__echo no_echo;

weft__echo *weft__conn_echo(weft_conn *c)
{
    return c && c->r ? &c->r->echo : &no_echo;
}

/* Hands the pending slice to c's output (or straight to the socket).  The
 * fast path's limit stays right: the slice's end does not move and the
 * output does not grow (the slice's bytes were counted already), so the
 * slice_bound of the write that follows, or of the next feed, is enough. */
static void slice_flush(weft_conn *c)
{
    weft_reactor *r = c->r;
    if (!r || r->echo.conn != c || r->echo.end == r->slice_p)
        return;
    const char *p = r->slice_p;
    size_t n = (size_t)(r->echo.end - p);
    r->slice_p = r->echo.end;
    if (c->finished)
        return;
    touch(c);                   /* for the writes slice_fast took */
    /* Nothing queued before the slice, or a little (e.g. a line completed
     * from the line buffer, which is not part of the input): hand both to
     * the socket now in one call, as the flush after the callback would,
     * and save copying the slice; only what the kernel does not take is
     * buffered.  Errors surface on the regular flush. */
    if (!c->mem) {
        size_t q = c->out ? evbuffer_get_length(c->out) : 0;
        struct evbuffer_iovec ev[4];
        struct iovec iov[5];
        int k = q ? evbuffer_peek(c->out, -1, NULL, ev, 4) : 0;
        if (q <= DIRECT_MIN && k <= 4) {
            for (int i = 0; i < k; i++) {
                iov[i].iov_base = ev[i].iov_base;
                iov[i].iov_len = ev[i].iov_len;
            }
            iov[k].iov_base = (void *)(uintptr_t)p;
            iov[k].iov_len = n;
            struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)k + 1};
            ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                size_t wq = (size_t)w < q ? (size_t)w : q;
                if (wq)
                    evbuffer_drain(c->out, wq);
                p += (size_t)w - wq;
                n -= (size_t)w - wq;
            }
        }
    }
    if (!n)
        return;
    if (!c->out && !(c->out = out_new(c)))
        abort();                   /* like the other small adds below */
    if (evbuffer_add(c->out, p, n) < 0)
        abort();
}

static size_t high_mark(const weft_conn *c)
{
    return c->x && c->x->have_marks ? c->x->high : DEFAULT_HIGH;
}

static size_t low_mark(const weft_conn *c)
{
    return c->x && c->x->have_marks ? c->x->low : DEFAULT_LOW;
}

static void touch(weft_conn *c)
{
    if (c->x && c->x->idle > 0 && c->r)
        c->x->last_active = weft_reactor_now(c->r);
}

static void leave(weft_conn *c)
{
    if (--c->depth == 0)
        settle(c, true);
}

/* The first reason wins, except that a clean close (EDONE) still in
 * progress is overridden by whatever really ended the connection. */
static void set_reason(weft_conn *c, int code, int sys_errno)
{
    if (c->code == 0 || (c->code == WEFT_EDONE && code != WEFT_EDONE)) {
        c->code = code;
        c->sys_errno = sys_errno;
        if (c->x && c->x->reason_text) {
            free(c->x->reason_text);
            c->x->reason_text = NULL;
        }
    }
}

/* ---- events -------------------------------------------------------------- */

static void sock_cb(evutil_socket_t fd, short what, void *arg);

static void update_events(weft_conn *c)
{
    if (c->mem)
        return;
    short want = 0;
    if (!c->finished) {
        if (!c->paused && !c->closing)
            want |= EV_READ;
        /* Output queued on the reactor's flush list is written this loop
         * iteration anyway; wait for writability only when a write could
         * not take everything. */
        if (pending(c) > 0 && !c->in_flushq)
            want |= EV_WRITE;
    }
    if (want == c->ev_mask)
        return;
    if (c->ev_mask)
        event_del(&c->ev);
    c->ev_mask = want;
    if (want) {
        event_assign(&c->ev, c->r->base, c->fd, want | EV_PERSIST, sock_cb,
                     c);
        event_add(&c->ev, NULL);
    }
}

/* close or abort was called: no protocol callback but on_eof and
 * on_disconnect runs from now on.  A bound parser (weft_conn_bind_lines)
 * stops at once, so the line loop ends right after the callback that
 * closed, with no check of its own after every callback. */
static void mark_closing(weft_conn *c)
{
    c->closing = 1;
    if (c->lines_bound)
        weft_lines_stop((weft_lines *)(void *)c->state);
    slice_bound(c);
}

/* Ends the transport: no more I/O.  Finalization follows at depth 0. */
static void finish(weft_conn *c)
{
    if (c->finished)
        return;
    c->finished = 1;
    mark_closing(c);
    if (c->r && c->r->echo.conn == c)
        c->r->slice_p = c->r->echo.end;  /* output is dropped, the slice
                                             too */
    if (c->out) {
        evbuffer_free(c->out);
        c->out = NULL;
    }
    if (!c->mem && c->ev_mask) {
        event_del(&c->ev);
        c->ev_mask = 0;
    }
}

/* Closing a socket that still has unread input makes the kernel send RST,
 * which can destroy the reply the peer has not read yet; read (and drop)
 * what is there first, boundedly. */
static void discard_input(int fd, char *buf)
{
    for (int i = 0; i < 16; i++)
        if (read(fd, buf, WEFT__READ_SIZE) <= 0)
            return;
}

static void finalize(weft_conn *c)
{
    if (c->finalized)
        return;
    c->finalized = 1;
    weft_reactor *r = c->r;
    if (r && r->io_conn == c)
        r->io_conn = NULL;
    weft_factory *f = c->f;
    if (c->in_flushq) {
        for (size_t i = 0; i < r->nflush; i++)
            if (r->flushq[i] == c)
                r->flushq[i] = NULL;
        c->in_flushq = 0;
    }
    if (c->x && c->x->idle_timer) {
        weft_timer_cancel(c->x->idle_timer);
        c->x->idle_timer = NULL;
    }
    if (c->in) {
        evbuffer_free(c->in);
        c->in = NULL;
    }
    c->depth++;
    if (c->x && c->x->pvt && c->x->pvt->stop_producing)
        c->x->pvt->stop_producing(c, c->x->parg);
    char buf[256];
    weft_reason reason = {
        .code = c->code ? c->code : WEFT_EDONE,
        .sys_errno = c->sys_errno,
    };
    reason.text = c->x && c->x->reason_text
                      ? c->x->reason_text
                      : weft__reason_text(reason.code, c->sys_errno, buf,
                                          sizeof buf);
    if (c->connected && c->proto->on_disconnect)
        c->proto->on_disconnect(c, &reason);
    if (c->connected && c->client && f->hooks.connection_lost)
        f->hooks.connection_lost(f, c, &reason);
    c->depth--;
    if (c->out) {             /* written during on_disconnect: dropped */
        evbuffer_free(c->out);
        c->out = NULL;
    }
    if (c->in) {
        evbuffer_free(c->in);
        c->in = NULL;
    }
    f->nconns--;
    if (c->mem) {
        if (c->client)
            weft__factory_unuse(f);
        return;               /* freed by weft_memconn_free */
    }
    if (c->fd >= 0) {
        if (c->code == WEFT_EDONE && !c->eof) {
            if (!r->scratch)
                r->scratch = malloc(WEFT__READ_SIZE);
            if (r->scratch)
                discard_input(c->fd, r->scratch);
        }
        close(c->fd);
        c->fd = -1;
    }
    LIST_REMOVE(c, link);
    r->nconns--;
    bool client = c->client, connected = c->connected;
    if (c->x) {
        free(c->x->reason_text);
        free(c->x);
    }
    free(c);
    if (client) {
        if (connected)
            weft__factory_client_ended(f);
        weft__factory_unuse(f);
    }
    weft__reactor_check_stopped(r);
}

/* A finished connection ends (on_disconnect, then free).  When that
 * follows from its own socket event (EOF, an error, a completed flush, or
 * a close made in its callbacks, which have all returned by now) it ends at
 * once, like Twisted's connectionLost from doRead.  When a public call made
 * from outside its callbacks ended it (a timer or another connection
 * aborting it, a resume that delivered input which closed it), it ends
 * from the reactor's flush step instead, so the caller may still touch c
 * until it returns to the loop (Twisted's abortConnection likewise calls
 * connectionLost later).  now: end at once (the flush step itself,
 * factory and reactor teardown).  A memconn always ends at once: tests
 * drive it without a loop.  Returns true if c was finalized. */
static bool end_conn(weft_conn *c, bool now)
{
    if (now || c->mem || c->r->io_conn == c || c->r->freeing) {
        finalize(c);
        return true;
    }
    weft__reactor_queue_flush(c->r, c);
    return false;
}

/* Ends c with a reason, dropping output (lost, aborted, timed out). */
void weft__conn_lost(weft_conn *c, int code, int sys_errno)
{
    if (c->finished)
        return;
    set_reason(c, code, sys_errno);
    finish(c);
    if (c->depth == 0)
        end_conn(c, false);
}

/* Aborts c and, unless one of its callbacks is running, ends it before
 * returning (teardown of a factory or reactor). */
void weft__conn_abort_now(weft_conn *c)
{
    if (!c->finished) {
        c->aborted = 1;
        set_reason(c, WEFT_EABORTED, 0);
        finish(c);
    }
    if (c->depth == 0)
        finalize(c);
}

/* ---- producer / watermarks ---------------------------------------------- */

/* Runs pause/resume_producing if output crossed a watermark.  Returns true
 * if a callback ran (the caller re-checks state). */
static bool check_marks(weft_conn *c)
{
    struct weft__conn_extra *x = c->x;
    if (!x || !x->pvt || c->finished)
        return false;
    size_t n = pending(c);
    if (!x->producer_paused && n > high_mark(c)) {
        x->producer_paused = true;
        slice_bound(c);
        c->depth++;
        x->pvt->pause_producing(c, x->parg);
        c->depth--;
        return true;
    }
    if (x->producer_paused && n <= low_mark(c)) {
        x->producer_paused = false;
        slice_bound(c);
        c->depth++;
        x->pvt->resume_producing(c, x->parg);
        c->depth--;
        return true;
    }
    return false;
}

/* ---- output -------------------------------------------------------------- */

/* An output buffer for c: the reactor's spare one if it has one.  A
 * request/response connection empties its output on every reply; keeping
 * one emptied buffer per reactor saves an allocation and a free per reply
 * (malloc's calloc path is the costly part), while an idle connection
 * still holds none. */
static struct evbuffer *out_new(weft_conn *c)
{
    weft_reactor *r = c->r;
    if (r && r->spare_out) {
        struct evbuffer *b = r->spare_out;
        r->spare_out = NULL;
        return b;
    }
    return evbuffer_new();
}

/* Gives up c's emptied output buffer: kept as the reactor's spare, or
 * freed. */
static void out_release(weft_conn *c)
{
    weft_reactor *r = c->r;
    if (r && !r->spare_out && !r->freeing)
        r->spare_out = c->out;
    else
        evbuffer_free(c->out);
    c->out = NULL;
}

/* Moves output toward the peer: a socket write, or for memconn the record.
 * Frees the output buffer once empty. */
static void transport_flush(weft_conn *c)
{
    if (!c->out)
        return;
    if (c->mem) {
        if (!c->x->slow)
            evbuffer_add_buffer(c->x->record, c->out);
    } else if (evbuffer_get_length(c->out) > 0) {
        int n = evbuffer_write(c->out, c->fd);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                set_reason(c, WEFT_ELOST, errno);
                finish(c);
                return;
            }
        } else if (n > 0) {
            touch(c);
        }
    }
    if (evbuffer_get_length(c->out) == 0)
        out_release(c);
}

/* Called at depth 0: brings the connection to a stable state.  io: also
 * write to the socket now (false: leave that to the reactor's flush).
 * now: a finished connection ends at once (see end_conn).  Returns true if
 * c was finalized (a socket connection is then freed). */
static bool settle_now(weft_conn *c, bool io, bool now)
{
    for (int guard = 0; guard < 1000; guard++) {
        if (c->finished)
            return end_conn(c, now);
        if (io || c->mem)
            transport_flush(c);
        if (c->finished)
            continue;
        if (check_marks(c))
            continue;
        /* A registered producer does not hold the close back: it is a push
         * producer (Twisted's streaming=True), and Twisted's loseConnection
         * closes once the buffer drained unless the producer is paused;
         * here it was resumed at the low mark, before the buffer emptied.
         * It gets stop_producing when the connection ends. */
        if (c->closing && pending(c) == 0) {
            finish(c);
            continue;
        }
        if (!io && !c->mem && pending(c) > 0)
            weft__reactor_queue_flush(c->r, c);
        update_events(c);
        return false;
    }
    /* A producer that writes and unpauses forever against a memconn fast
     * reader would spin here; leave it to the next event instead. */
    update_events(c);
    return false;
}

static bool settle(weft_conn *c, bool io)
{
    return settle_now(c, io, false);
}

void weft__conn_flush(weft_conn *c)
{
    if (c->depth == 0)
        settle_now(c, true, true);
}

static int wrote(weft_conn *c)
{
    touch(c);
    check_marks(c);
    slice_bound(c);
    if (c->depth == 0)
        settle(c, false);
    return 0;
}

static int out_buf(weft_conn *c)
{
    if (c->closing)
        return WEFT_ECLOSED;
    if (!c->out && !(c->out = out_new(c)))
        return WEFT_ENOMEM;
    return 0;
}

/* Appends bytes to the output, through the slice when they echo input. */
static int out_add(weft_conn *c, const void *data, size_t len)
{
    if (!len || slice_take(c, data, len))
        return 0;
    slice_flush(c);
    return evbuffer_add(c->out, data, len) < 0 ? WEFT_ENOMEM : 0;
}

/* Writes of at least min bytes with nothing queued before them go to the
 * socket at once: for large ones batching buys nothing, and the copy into
 * the output buffer is saved.  Returns the bytes the kernel took. */
static size_t write_direct(weft_conn *c, const void *data, size_t len,
                           size_t min)
{
    if (c->mem || len < min || c->closing || c->finished || pending(c) > 0)
        return 0;
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0)
        return 0;     /* errors surface on the regular flush */
    touch(c);
    return (size_t)n;
}

/* weft_write and weft_write_now past the echo fast path. */
static int write_at(weft_conn *c, const void *data, size_t len, size_t min)
{
    if (c->closing)
        return WEFT_ECLOSED;
    size_t done = write_direct(c, data, len, min);
    if (done > 0 && done == len) {
        check_marks(c);
        return 0;
    }
    int rc = out_buf(c);
    if (rc)
        return rc;
    if (out_add(c, (const char *)data + done, len - done))
        return WEFT_ENOMEM;
    return wrote(c);
}

int weft_write(weft_conn *c, const void *data, size_t len)
{
    if (len < DIRECT_MIN && slice_fast(c, data, len, NULL, 0))
        return 0;                   /* nothing else to do (slice_bound) */
    /* Only large writes skip the batching (docs/runtime.md, Flushing). */
    return write_at(c, data, len, DIRECT_MIN);
}

int weft_write_now(weft_conn *c, const void *data, size_t len)
{
    if (!len)
        return c->closing ? WEFT_ECLOSED : 0;
    return write_at(c, data, len, 1);
}

static __attribute__((noinline)) int writev_slow(weft_conn *c,
                                                 const struct iovec *iov,
                                                 int iovcnt)
{
    int rc = out_buf(c);
    if (rc)
        return rc;
    for (int i = 0; i < iovcnt; i++)
        if (out_add(c, iov[i].iov_base, iov[i].iov_len))
            return WEFT_ENOMEM;
    return wrote(c);
}

int weft_writev(weft_conn *c, const struct iovec *iov, int iovcnt)
{
    /* A send_line echoing its input: no copy, and below echo.lim nothing
     * else to do (depth > 0 during a feed: settling happens when the
     * feed's callback returns; see slice_bound).  The rest is out of line,
     * so this path needs no stack frame. */
    if (iovcnt != 2 || !slice_fast(c, iov[0].iov_base, iov[0].iov_len,
                                   iov[1].iov_base, iov[1].iov_len))
        return writev_slow(c, iov, iovcnt);
    return 0;
}

int weft_printf(weft_conn *c, const char *fmt, ...)
{
    int rc = out_buf(c);
    if (rc)
        return rc;
    va_list ap;
    slice_flush(c);
    va_start(ap, fmt);
    int n = evbuffer_add_vprintf(c->out, fmt, ap);
    va_end(ap);
    if (n < 0)
        return WEFT_ENOMEM;
    return wrote(c);
}

static __attribute__((noinline)) int write_line_slow(weft_conn *c,
                                                     const void *line,
                                                     size_t len,
                                                     const char *delim,
                                                     size_t delim_len)
{
    int rc = out_buf(c);
    if (rc)
        return rc;
    if (out_add(c, line, len) || out_add(c, delim, delim_len))
        return WEFT_ENOMEM;
    return wrote(c);
}

int weft_write_line(weft_conn *c, const void *line, size_t len,
                    const char *delim, size_t delim_len)
{
    /* An echo of the input line: the slice grows, nothing is copied (see
     * weft_writev). */
    if (!slice_fast(c, line, len, delim, delim_len))
        return write_line_slow(c, line, len, delim, delim_len);
    return 0;
}

int weft_send_line(weft_conn *c, const void *line, size_t len)
{
    return weft_write_line(c, line, len, c->delim, c->delim_len);
}

void weft_conn_set_delimiter(weft_conn *c, const char *delim, size_t len)
{
    c->delim = delim;
    c->delim_len = len;
}

int weft_write_file(weft_conn *c, int fd, off_t offset, off_t len)
{
    int rc = out_buf(c);
    if (rc) {
        close(fd);
        return rc;
    }
    slice_flush(c);
    if (c->mem) {
        /* The memory transport records bytes, so read them now. */
        char buf[8192];
        while (len != 0) {
            size_t want = len < 0 || (off_t)sizeof buf < len ? sizeof buf
                                                             : (size_t)len;
            ssize_t n = pread(fd, buf, want, offset);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            evbuffer_add(c->out, buf, (size_t)n);
            offset += n;
            if (len > 0)
                len -= n;
        }
        close(fd);
        return wrote(c);
    }
    if (evbuffer_add_file(c->out, fd, offset, len) < 0) {
        close(fd);
        return WEFT_ENOMEM;
    }
    return wrote(c);
}

struct evbuffer *weft_conn_output(weft_conn *c)
{
    if (!c->out)
        c->out = out_new(c);
    slice_flush(c);
    /* The caller adds bytes after this returns: flush them on the next
     * loop turn, or when the current callback returns.  Until the next
     * write (wrote) the fast path does not know the output's size. */
    if (c->r && c->r->echo.conn == c)
        c->r->echo.lim = (uintptr_t)c->r->echo.end;
    if (c->depth == 0 && !c->mem && !c->finished)
        weft__reactor_queue_flush(c->r, c);
    return c->out;
}

size_t weft_conn_pending(const weft_conn *c) { return pending(c); }

/* ---- closing ------------------------------------------------------------- */

static void close_with(weft_conn *c, int code, const char *text)
{
    if (c->closing)
        return;
    mark_closing(c);
    c->code = code;
    if (text) {
        struct weft__conn_extra *x = extra(c);
        free(x->reason_text);
        x->reason_text = strdup(text);
    }
    if (c->depth == 0)
        settle(c, true);
}

void weft_close(weft_conn *c) { close_with(c, WEFT_EDONE, NULL); }

void weft_close_reason(weft_conn *c, int code, const char *text)
{
    close_with(c, code, text);
}

void weft_abort(weft_conn *c)
{
    if (c->finished)
        return;
    c->aborted = 1;
    weft__conn_lost(c, WEFT_EABORTED, 0);
}

bool weft_conn_closing(const weft_conn *c) { return c->closing; }

/* ---- input --------------------------------------------------------------- */

static size_t call_feed(weft_conn *c, const char *p, size_t n)
{
    const weft_protocol *pr = c->proto;
    weft_reactor *r = c->r;
    size_t k = n;
    /* Feeds nest (a callback may make another connection read, e.g. over
     * memconn): the outer slice is flushed and its input remembered. */
    weft_conn *outer = NULL;
    const char *outer_p = NULL, *outer_end = NULL, *outer_slice = NULL;
    if (r) {
        if ((outer = r->echo.conn) != NULL)
            slice_flush(outer);
        outer_p = r->feed_p;
        outer_end = r->feed_end;
        outer_slice = r->echo.end;
        r->echo.conn = c;
        r->feed_p = p;
        r->feed_end = p + n;
        r->slice_p = r->echo.end = p;
        slice_bound(c);
    }
    c->in_feed = 1;
    if (pr->feed) {
        k = pr->feed(c, p, n);
        if (k > n)
            k = n;
    } else if (pr->on_data) {
        pr->on_data(c, p, n);
    }
    c->in_feed = 0;
    if (r) {
        slice_flush(c);
        r->echo.conn = outer;
        r->feed_p = outer_p;
        r->feed_end = outer_end;
        r->slice_p = r->echo.end = outer_slice;
        if (outer)
            slice_bound(outer);
    }
    return k;
}

static void do_eof(weft_conn *c)
{
    if (c->closing)
        return;
    if (c->proto->on_eof)
        c->proto->on_eof(c);
    /* Twisted closes a connection whose peer half-closed; what was
     * written (also in on_eof) is flushed first. */
    close_with(c, WEFT_EDONE, NULL);
}

/* Offers the buffered input, extent by extent.  depth > 0. */
static void deliver_buffered(weft_conn *c)
{
    while (c->in && !c->closing && !c->paused) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(c->in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
            break;
        size_t k = call_feed(c, v.iov_base, v.iov_len);
        evbuffer_drain(c->in, k);
        /* A parser that takes nothing without pausing would loop: treat
         * it as paused until weft_conn_resume. */
        if (k == 0 && !c->paused && !c->closing)
            c->paused = 1;
    }
    if (c->in && (c->closing || evbuffer_get_length(c->in) == 0)) {
        evbuffer_free(c->in);
        c->in = NULL;
    }
    if (c->eof && !c->in && !c->paused)
        do_eof(c);
}

/* Bytes from the peer.  depth > 0. */
static void receive(weft_conn *c, const char *data, size_t len)
{
    touch(c);
    if (c->closing || len == 0)
        return;
    if (c->in || c->paused || c->in_feed) {
        if (!c->in && !(c->in = evbuffer_new()))
            abort();
        evbuffer_add(c->in, data, len);
        if (!c->paused && !c->in_feed)
            deliver_buffered(c);
        return;
    }
    size_t k = call_feed(c, data, len);
    if (k < len && !c->closing) {
        if (!c->in && !(c->in = evbuffer_new()))
            abort();
        /* prepend: anything added to c->in during feed came later */
        evbuffer_prepend(c->in, data + k, len - k);
        if (k == 0 && !c->paused)
            c->paused = 1;
    }
    deliver_buffered(c);
}

void weft__conn_receive(weft_conn *c, const char *data, size_t len)
{
    if (c->finished)
        return;
    c->depth++;
    receive(c, data, len);
    leave(c);
}

void weft__conn_eof(weft_conn *c)
{
    if (c->closing || c->eof)
        return;
    c->eof = 1;
    c->depth++;
    if (!c->in && !c->in_feed)
        do_eof(c);     /* else after the buffered bytes (deliver_buffered) */
    leave(c);
}

static void sock_read(weft_conn *c)
{
    weft_reactor *r = c->r;
    if (!r->scratch && !(r->scratch = malloc(WEFT__READ_SIZE)))
        abort();
    ssize_t n = read(c->fd, r->scratch, WEFT__READ_SIZE);
    if (n > 0) {
        weft__conn_receive(c, r->scratch, (size_t)n);
    } else if (n == 0) {
        weft__conn_eof(c);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        weft__conn_lost(c, WEFT_ELOST, errno);
    }
}

static void sock_cb(evutil_socket_t fd, short what, void *arg)
{
    weft_conn *c = arg;
    weft_reactor *r = c->r;
    (void)fd;
    r->io_conn = c;            /* see end_conn */
    if ((what & EV_WRITE) && settle(c, true)) {
        r->io_conn = NULL;
        return;                /* finalized: c is freed */
    }
    if ((what & EV_READ) && !c->paused && !c->closing)
        sock_read(c);
    r->io_conn = NULL;
}

void weft_conn_pause(weft_conn *c)
{
    if (c->paused)
        return;
    c->paused = 1;
    if (c->depth == 0)
        update_events(c);
}

void weft_conn_resume(weft_conn *c)
{
    if (!c->paused)
        return;
    c->paused = 0;
    if (c->closing || c->in_feed)
        return;       /* the running delivery loop carries on */
    c->depth++;
    deliver_buffered(c);
    leave(c);
}

bool weft_conn_paused(const weft_conn *c) { return c->paused; }

/* ---- idle timeout -------------------------------------------------------- */

static void idle_cb(void *arg)
{
    weft_conn *c = arg;
    struct weft__conn_extra *x = c->x;
    x->idle_timer = NULL;
    double left = x->last_active + x->idle - weft_reactor_now(c->r);
    if (left > 1e-6) {
        x->idle_timer = weft_call_later(c->r, left, idle_cb, c);
        return;
    }
    if (pending(c) > 0 || c->closing) {
        /* The peer is not reading either: flushing would never end. */
        weft__conn_lost(c, WEFT_ETIMEDOUT, 0);
    } else {
        close_with(c, WEFT_ETIMEDOUT, NULL);
    }
}

void weft_conn_set_idle_timeout(weft_conn *c, double seconds)
{
    struct weft__conn_extra *x = extra(c);
    weft_timer_cancel(x->idle_timer);
    x->idle_timer = NULL;
    x->idle = seconds > 0 ? seconds : 0;
    x->last_active = weft_reactor_now(c->r);
    if (x->idle > 0 && !c->finished)
        x->idle_timer = weft_call_later(c->r, x->idle, idle_cb, c);
}

void weft_conn_set_watermarks(weft_conn *c, size_t high, size_t low)
{
    struct weft__conn_extra *x = extra(c);
    x->high = high;
    x->low = low <= high ? low : high;
    x->have_marks = true;
    slice_bound(c);
    if (c->depth == 0)
        settle(c, false);
}

void weft_conn_set_producer(weft_conn *c, const weft_producer *vt, void *arg)
{
    struct weft__conn_extra *x = extra(c);
    x->pvt = vt;
    x->parg = arg;
    x->producer_paused = false;
    slice_bound(c);
    if (c->depth == 0 && !c->finished)
        settle(c, false);
}

int weft_conn_bind_lines(weft_conn *c, weft_lines *l)
{
    if ((void *)l != (void *)c->state)
        return WEFT_EINVAL;
    c->lines_bound = 1;
    if (c->closing)
        weft_lines_stop(l);
    return 0;
}

/* ---- accessors ----------------------------------------------------------- */

void *weft_conn_state(weft_conn *c) { return c->state; }
weft_factory *weft_conn_factory(const weft_conn *c) { return c->f; }
weft_reactor *weft_conn_reactor(const weft_conn *c) { return c->r; }
void weft_conn_set_user(weft_conn *c, void *user) { c->user = user; }
void *weft_conn_user(const weft_conn *c) { return c->user; }

char *weft_sockaddr_text(const struct sockaddr *sa, socklen_t len, char *buf,
                         size_t size)
{
    char ip[INET6_ADDRSTRLEN];
    if (!sa || size == 0) {
        if (size)
            buf[0] = '\0';
        return buf;
    }
    switch (sa->sa_family) {
    case AF_INET: {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(buf, size, "%s:%u", ip, ntohs(in->sin_port));
        break;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(buf, size, "[%s]:%u", ip, ntohs(in6->sin6_port));
        break;
    }
    case AF_UNIX: {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t n = len > offsetof(struct sockaddr_un, sun_path)
                       ? len - offsetof(struct sockaddr_un, sun_path) : 0;
        if (n > sizeof un->sun_path)
            n = sizeof un->sun_path;
        if (n > 0 && un->sun_path[0] == '\0')
            n = 0;     /* abstract or unnamed */
        snprintf(buf, size, "unix:%.*s", (int)strnlen(un->sun_path, n),
                 un->sun_path);
        break;
    }
    default:
        snprintf(buf, size, "family-%d", sa->sa_family);
    }
    return buf;
}

const struct sockaddr *weft_conn_peer(const weft_conn *c, socklen_t *len)
{
    weft_conn *m = (weft_conn *)c;
    if (c->mem)
        return NULL;
    struct weft__conn_extra *x = extra(m);
    if (!x->peer_len) {
        socklen_t sl = sizeof x->peer;
        if (c->fd < 0 || getpeername(c->fd, (struct sockaddr *)&x->peer, &sl))
            return NULL;
        x->peer_len = sl;
    }
    if (len)
        *len = x->peer_len;
    return (const struct sockaddr *)&x->peer;
}

const struct sockaddr *weft_conn_host(const weft_conn *c, socklen_t *len)
{
    weft_conn *m = (weft_conn *)c;
    if (c->mem)
        return NULL;
    struct weft__conn_extra *x = extra(m);
    if (!x->host_len) {
        socklen_t sl = sizeof x->host;
        if (c->fd < 0 || getsockname(c->fd, (struct sockaddr *)&x->host, &sl))
            return NULL;
        x->host_len = sl;
    }
    if (len)
        *len = x->host_len;
    return (const struct sockaddr *)&x->host;
}

const char *weft_conn_peer_text(weft_conn *c)
{
    socklen_t len;
    const struct sockaddr *sa = weft_conn_peer(c, &len);
    if (!sa)
        return c->mem ? "memory" : "unknown";
    return weft_sockaddr_text(sa, len, c->x->peer_text,
                              sizeof c->x->peer_text);
}

const char *weft_conn_host_text(weft_conn *c)
{
    socklen_t len;
    const struct sockaddr *sa = weft_conn_host(c, &len);
    if (!sa)
        return c->mem ? "memory" : "unknown";
    return weft_sockaddr_text(sa, len, c->x->host_text,
                              sizeof c->x->host_text);
}

/* ---- creation ------------------------------------------------------------ */

weft_conn *weft__conn_new(weft_reactor *r, weft_factory *f, int fd,
                          bool client, bool mem)
{
    const weft_protocol *pr = weft_factory_protocol(f);
    weft_conn *c = calloc(1, sizeof *c + pr->state_size);
    if (!c)
        return NULL;
    c->r = r;
    c->f = f;
    c->proto = pr;
    c->fd = fd;
    c->delim = "\r\n";
    c->delim_len = 2;
    c->client = client;
    c->mem = mem;
    if (!mem) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        LIST_INSERT_HEAD(&r->conns, c, link);
        r->nconns++;
    }
    f->nconns++;
    if (client)
        weft__factory_use(f);
    return c;
}

void weft__conn_start(weft_conn *c)
{
    weft_reactor *r = c->r;
    weft_conn *outer = r->io_conn;
    r->io_conn = c;           /* its own event: may end at once (end_conn) */
    c->connected = 1;
    if (c->client)
        weft__factory_connected(c->f);
    c->depth++;
    if (c->proto->on_connect)
        c->proto->on_connect(c);
    leave(c);
    r->io_conn = outer;
}

/* ---- memory transport hooks (memconn.c) --------------------------------- */

void weft__conn_mem_drain(weft_conn *c)
{
    if (c->out)
        evbuffer_add_buffer(c->x->record, c->out);
    if (c->depth == 0)
        settle(c, true);
}
