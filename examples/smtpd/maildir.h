/* maildir.h — delivering messages into a maildir, the standard way
 * (https://cr.yp.to/proto/maildir.html, as qmail-local and Dovecot do it).
 *
 * A message is written into DIR/tmp/NAME as it arrives, never held whole in
 * memory; once complete it is flushed, fsync'ed and moved into DIR/new/NAME
 * with link(2) + unlink(2) (so an existing name is never overwritten).  A
 * message that is abandoned is unlinked from tmp/, so readers of new/ only
 * ever see complete messages.
 *
 * NAME is "SECONDS.PID_COUNTER.HOST": the delivery time, the process id and
 * a per-process counter (unique within one second and one process), and the
 * host name with "/" and ":" written as "\057" and "\072".
 *
 * Errors are negative errno values; nothing here prints.
 */
#ifndef WEFT_SMTPD_MAILDIR_H
#define WEFT_SMTPD_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One maildir.  Fields are private; use the functions. */
typedef struct maildir {
    char *path;            /* DIR, as given */
    char host[128];        /* host part of names, already escaped */
    unsigned long counter; /* deliveries started by this process */
    bool fsync;            /* fsync files and new/ (default true) */
} maildir;

/* One message being delivered. */
typedef struct maildir_msg {
    maildir *md;
    int fd;                /* open file in tmp/, -1 when none */
    char name[256];        /* NAME, without directory */
    char *buf;             /* write buffer, MAILDIR_BUFSIZE bytes */
    size_t len;            /* bytes waiting in buf */
    uint64_t written;      /* bytes accepted by maildir_msg_write */
    int error;             /* first write error (negative errno), sticky */
} maildir_msg;

#define MAILDIR_BUFSIZE 16384

/* ---- public API ------------------------------------------------------- */

/* Opens DIR as a maildir, creating DIR, DIR/tmp, DIR/new and DIR/cur (mode
 * 0700) when missing.  host names the deliveries (escaped as above; NULL:
 * gethostname).  Returns 0 or a negative errno; on failure md needs no
 * maildir_close. */
int maildir_open(maildir *md, const char *dir, const char *host);
/* Releases md; messages still open must be finished first. */
void maildir_close(maildir *md);
/* Turns fsync of delivered files off (for tests and fuzzing only). */
void maildir_set_fsync(maildir *md, bool on);

/* Starts a message: creates DIR/tmp/NAME exclusively.  Returns 0 or a
 * negative errno (m is then left closed: fd -1). */
int maildir_msg_begin(maildir *md, maildir_msg *m);
/* Appends len bytes (buffered).  Returns 0 or the sticky negative errno of
 * the first failed write; after a failure the bytes are dropped. */
int maildir_msg_write(maildir_msg *m, const void *data, size_t len);
/* Flushes, fsyncs, closes and moves the file into new/.  Returns 0, or a
 * negative errno after removing the file from tmp/.  Either way m is
 * closed afterwards. */
int maildir_msg_commit(maildir_msg *m);
/* Abandons the message: closes and unlinks the tmp/ file.  Safe on a
 * closed or never-begun (zeroed) message. */
void maildir_msg_abort(maildir_msg *m);
/* True between a successful begin and commit/abort. */
bool maildir_msg_open(const maildir_msg *m);

/* Escapes a host name for the maildir name ("/" -> "\057", ":" ->
 * "\072"), truncating to size - 1 bytes without cutting an escape.
 * Returns out. */
char *maildir_escape_host(const char *host, char *out, size_t size);

#endif
