/* smtpd.h — the SMTP receiver behind weft-smtpd: RFC 5321 sessions on the
 * parser generated from spec/smtp.weft, delivering into a maildir.
 *
 * The session code is separate from main.c so the unit tests can run whole
 * sessions over the in-memory transport (memconn.h) with a manual clock.
 */
#ifndef WEFT_SMTPD_H
#define WEFT_SMTPD_H

#include <stdint.h>

#include "maildir.h"
#include "weft.h"

/* RFC 5321 4.5.3.2.7: a server waits at least 5 minutes for a command. */
#define SMTPD_COMMAND_TIMEOUT 300.0
/* Waiting for more message text between DATA and the final "."; RFC 5321
 * gives the client 3 minutes per data block and 10 for the final reply,
 * the server waits as long as for a command. */
#define SMTPD_DATA_TIMEOUT 300.0
/* RFC 5321 4.5.3.1.8: at least 100 recipients must be accepted. */
#define SMTPD_MAX_RCPTS 100
#define SMTPD_MAX_SIZE 10485760u

/* Shared by every session of a factory (the factory's user pointer). */
typedef struct smtpd_config {
    maildir *md;               /* where accepted messages go */
    const char *hostname;      /* our name in replies and Received */
    uint64_t max_size;         /* message size limit; 0: none */
    unsigned max_rcpts;        /* recipients per message */
    double command_timeout;    /* seconds; 0: wait forever */
    double data_timeout;       /* seconds between data chunks; 0: forever */
} smtpd_config;

/* ---- public API ------------------------------------------------------- */

/* The defaults above; md and hostname are left NULL for the caller. */
void smtpd_config_defaults(smtpd_config *cfg);
/* Fills *proto with the SMTP server protocol.  Give its factory an
 * smtpd_config as user pointer that outlives every connection. */
void smtpd_protocol_init(weft_protocol *proto);

#endif
