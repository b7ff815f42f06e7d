/* msgbody.h — the text of one SMTP message, between DATA and the final
 * ".": undoes dot-stuffing, enforces the text line limit and the message
 * size limit, converts CRLF to LF (the maildir convention), and streams the
 * result to a sink as it arrives.  Memory use is constant: nothing is kept
 * but a few counters.
 *
 * The bytes given to msgbody_write are the message content exactly as the
 * client sent it, CRLFs and stuffing dots included, without the final
 * ".\r\n" (and without the CRLF that ended the DATA command).  Lines are
 * CRLF-terminated; a bare CR or LF is kept as data, as RFC 5321 2.3.8 asks
 * receivers not to "fix" anything.
 *
 * Also here: msgbody_endscan, which finds the end of data ("\r\n.\r\n")
 * byte by byte when the CRLF that ended the DATA command is part of it (an
 * empty message: ".\r\n" right after DATA).  See docs/smtp.md.
 */
#ifndef WEFT_SMTPD_MSGBODY_H
#define WEFT_SMTPD_MSGBODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 5321 4.5.3.1.6: a text line is at most 1000 octets with its CRLF,
 * not counting a stuffing dot. */
#define MSGBODY_MAX_LINE 998

/* Why a message is refused.  Several may apply; the status reported is
 * the first in this order that does, so it depends only on the bytes, not
 * on how they were cut into pieces (the size and line checks go on after
 * a refusal). */
enum msgbody_status {
    MSGBODY_OK = 0,
    MSGBODY_TOO_BIG = 1,         /* over max_size: reply 552 */
    MSGBODY_LINE_TOO_LONG = 2,   /* a line over MSGBODY_MAX_LINE: reply 500 */
    MSGBODY_SINK_FAILED = 4,     /* the sink returned an error: reply 451 */
};

/* Receives converted message text; returns 0, or nonzero to refuse the
 * message (MSGBODY_SINK_FAILED). */
typedef int (*msgbody_sink_cb)(void *arg, const char *data, size_t len);

typedef struct msgbody {
    uint64_t max_size;       /* content limit in bytes (CRLF counts 2,
                                stuffing dots 0, as RFC 1870); 0: none */
    uint64_t size;           /* content bytes so far */
    size_t line_len;         /* bytes of the current line so far */
    bool line_start;         /* next byte starts a line */
    bool pending_cr;         /* last byte was CR; is LF next? */
    unsigned refused;        /* msgbody_status bits that apply */
    msgbody_sink_cb sink;
    void *sink_arg;
} msgbody;

/* Finds "\r\n.\r\n" in the stream after the DATA command, where the CRLF
 * that ended the command counts as the mark's first two bytes. */
typedef struct msgbody_endscan {
    int state;               /* bytes of the mark matched (0..5) */
    int virt;                /* of those, how many are the virtual CRLF */
} msgbody_endscan;

/* ---- public API ------------------------------------------------------- */

/* Starts a message: limits, sink (called only while status is OK). */
void msgbody_init(msgbody *b, uint64_t max_size, msgbody_sink_cb sink,
                  void *arg);
/* Feeds content bytes, in any pieces.  Returns the current status; the
 * bytes of a refused message are still read (and dropped, the sink is not
 * called again) so the caller can keep parsing until the end of data. */
enum msgbody_status msgbody_write(msgbody *b, const char *data, size_t len);
/* Refuses the message for a reason found outside (e.g. the parser's own
 * cap on the data block). */
void msgbody_refuse(msgbody *b, enum msgbody_status why);
/* The end of data was reached (the final CRLF of the last line having
 * been written).  Returns the final status. */
enum msgbody_status msgbody_finish(msgbody *b);

/* Starts scanning right after the DATA command line. */
void msgbody_endscan_init(msgbody_endscan *e);
/* Scans data until the end mark completes or data runs out; content bytes
 * that are certainly not part of the mark are passed to b (the bytes of a
 * partial match are held back until the next call decides).  Returns the
 * number of bytes consumed; *done is set when the mark completed (at the
 * last consumed byte), after which b has received the whole content. */
size_t msgbody_endscan_feed(msgbody_endscan *e, msgbody *b, const char *data,
                       size_t len, bool *done);
/* Bytes to read before the mark could complete: the count to give a
 * counted raw mode so it never reads past the end of data (1..5). */
int msgbody_endscan_need(const msgbody_endscan *e);
/* True when nothing is held back and the mark is not partly matched: from
 * here on a plain search for "\r\n.\r\n" finds the end. */
bool msgbody_endscan_clear(const msgbody_endscan *e);

#endif
