/* msgbody.c — see msgbody.h. */
#include "msgbody.h"

#include <string.h>

void msgbody_init(msgbody *b, uint64_t max_size, msgbody_sink_cb sink,
                  void *arg)
{
    memset(b, 0, sizeof *b);
    b->max_size = max_size;
    b->line_start = true;
    b->sink = sink;
    b->sink_arg = arg;
}

static void refuse(msgbody *b, enum msgbody_status st)
{
    b->refused |= (unsigned)st;
}

void msgbody_refuse(msgbody *b, enum msgbody_status why)
{
    refuse(b, why);
}

static enum msgbody_status status(const msgbody *b)
{
    if (b->refused & MSGBODY_TOO_BIG)
        return MSGBODY_TOO_BIG;
    if (b->refused & MSGBODY_LINE_TOO_LONG)
        return MSGBODY_LINE_TOO_LONG;
    return b->refused ? MSGBODY_SINK_FAILED : MSGBODY_OK;
}

/* Counts `counted` bytes of content (a CRLF counts two) and passes `len`
 * converted bytes on, unless the message is already refused. */
static void emit(msgbody *b, const char *data, size_t len, size_t counted)
{
    b->size += counted;
    if (b->max_size && b->size > b->max_size)
        refuse(b, MSGBODY_TOO_BIG);
    if (!b->refused && len > 0 &&
        b->sink(b->sink_arg, data, len) != 0)
        refuse(b, MSGBODY_SINK_FAILED);
}

/* Adds n bytes to the current line and refuses an over-long one. */
static void grow_line(msgbody *b, size_t n)
{
    b->line_len += n;
    if (b->line_len > MSGBODY_MAX_LINE)
        refuse(b, MSGBODY_LINE_TOO_LONG);
}

/* The loop hands out runs between CRs in one piece, so converting costs a
 * memchr per line, not a branch per byte. */
enum msgbody_status msgbody_write(msgbody *b, const char *data, size_t len)
{
    while (len > 0) {
        if (b->pending_cr) {
            b->pending_cr = false;
            if (*data == '\n') {
                emit(b, "\n", 1, 2);
                b->line_len = 0;
                b->line_start = true;
                data++, len--;
                continue;
            }
            grow_line(b, 1);         /* a bare CR is data */
            emit(b, "\r", 1, 1);
        }
        if (b->line_start) {
            b->line_start = false;
            if (*data == '.') {      /* the stuffing dot (RFC 5321 4.5.2) */
                data++, len--;
                continue;
            }
        }
        const char *cr = memchr(data, '\r', len);
        size_t run = cr ? (size_t)(cr - data) : len;
        grow_line(b, run);
        emit(b, data, run, run);
        data += run, len -= run;
        if (cr) {
            b->pending_cr = true;
            data++, len--;
        }
    }
    return status(b);
}

enum msgbody_status msgbody_finish(msgbody *b)
{
    /* The end mark always follows a CRLF, so nothing is pending here; a
     * caller that ends early still gets its CR written. */
    if (b->pending_cr) {
        b->pending_cr = false;
        grow_line(b, 1);
        emit(b, "\r", 1, 1);
    }
    return status(b);
}

/* ---- the end of data, byte by byte ------------------------------------- */

static const char mark[] = "\r\n.\r\n";
enum { MARK_LEN = 5 };

void msgbody_endscan_init(msgbody_endscan *e)
{
    e->state = 2;   /* the CRLF that ended "DATA" */
    e->virt = 2;
}

/* Knuth-Morris-Pratt step for the mark: the longest prefix of the mark
 * that is a suffix of (matched prefix + c).  The mark's only border is
 * "\r\n", so the fallbacks are short. */
static int step(int state, char c)
{
    static const int fail[MARK_LEN] = {0, 0, 0, 0, 1};
    for (;;) {
        if (mark[state] == c)
            return state + 1;
        if (state == 0)
            return 0;
        state = fail[state];
    }
}

size_t msgbody_endscan_feed(msgbody_endscan *e, msgbody *b, const char *data,
                       size_t len, bool *done)
{
    *done = false;
    for (size_t i = 0; i < len; i++) {
        /* held: the real (non-virtual) bytes of the partial match, then c */
        char held[MARK_LEN + 1];
        int n = e->state - e->virt;
        memcpy(held, mark + e->virt, (size_t)n);
        held[n++] = data[i];
        int next = step(e->state, data[i]);
        if (next != e->state + 1)
            e->virt = 0;         /* a restart never reuses virtual bytes */
        e->state = next;
        if (next == MARK_LEN) {
            /* ".\r\n" ends the data; a real CRLF before it ended the last
             * line of content. */
            if (e->virt == 0)
                msgbody_write(b, "\r\n", 2);
            *done = true;
            return i + 1;
        }
        int keep = next - e->virt;
        if (n - keep > 0)
            msgbody_write(b, held, (size_t)(n - keep));
    }
    return len;
}

int msgbody_endscan_need(const msgbody_endscan *e)
{
    return MARK_LEN - e->state;
}

bool msgbody_endscan_clear(const msgbody_endscan *e)
{
    return e->state == 0;
}
