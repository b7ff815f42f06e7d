/* error.h — error codes and disconnect reasons, one list for the whole API.
 *
 * Every weft call that can fail returns 0 or a negative WEFT_E* code, and,
 * where it takes a weft_error *, fills it with a message that names the
 * offending input ("tcp:notaport: port must be a number from 0 to 65535").
 * Nothing in libweft prints or exits; programs do.
 */
#ifndef WEFT_ERROR_H
#define WEFT_ERROR_H

#include <stddef.h>

/* X(name, value, message).  The same list yields the enum, the names and the
 * default messages, so they can never drift apart. */
#define WEFT_ERRORS(X)                                                        \
    X(OK,             0,   "no error")                                        \
    X(INVAL,         -1,   "invalid argument")                                \
    X(NOMEM,         -2,   "out of memory")                                   \
    X(ENDPOINT,      -3,   "bad endpoint string")                             \
    X(ADDRINUSE,     -4,   "address already in use")                          \
    X(REFUSED,       -5,   "connection refused")                              \
    X(TIMEDOUT,      -6,   "timed out")                                       \
    X(DNS,           -7,   "host name lookup failed")                         \
    X(CANCELLED,     -8,   "cancelled")                                       \
    X(CLOSED,        -9,   "connection is closed")                            \
    X(SYS,          -10,   "system error")                                    \
    X(LINE_TOO_LONG,-11,   "line too long")                                   \
    X(PROTOCOL,     -12,   "protocol error")                                  \
    X(REFUSED_BUILD,-13,   "connection refused by the factory")               \
    X(LOST,         -14,   "connection lost")                                 \
    X(ABORTED,      -15,   "connection aborted")                              \
    X(DONE,         -16,   "connection closed cleanly")

enum weft_err {
#define WEFT__ERR_ENUM(name, value, msg) WEFT_E##name = (value),
    WEFT_ERRORS(WEFT__ERR_ENUM)
#undef WEFT__ERR_ENUM
};

/* A filled-in error: the code plus a message naming what failed. */
typedef struct weft_error {
    int code;           /* a WEFT_E* value */
    int sys_errno;      /* errno when one applies, else 0 */
    char msg[256];      /* full human text, NUL-terminated */
} weft_error;

/* Why a connection ended; passed to on_disconnect and connection_lost.
 * Valid during the callback only. */
typedef struct weft_reason {
    int code;           /* WEFT_EDONE (clean close by either side), WEFT_ELOST,
                           WEFT_EABORTED, WEFT_ETIMEDOUT, WEFT_EREFUSED,
                           WEFT_ELINE_TOO_LONG, WEFT_EPROTOCOL, WEFT_ECANCELLED,
                           WEFT_EDNS, WEFT_EREFUSED_BUILD */
    int sys_errno;      /* errno behind it, or 0 */
    const char *text;   /* "connection refused", "line too long", plus errno
                           text where there is one; never NULL */
} weft_reason;

/* Symbolic name of a code ("EADDRINUSE" style without the E: "ADDRINUSE"). */
const char *weft_err_name(int code);
/* Default message of a code; never NULL. */
const char *weft_strerror(int code);
/* Fills *err (if non-NULL) with code, errno and a printf-formatted message;
 * returns code so callers can `return weft__fail(err, ...)`. */
int weft__fail(weft_error *err, int code, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
