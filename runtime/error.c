/* error.c — names and messages of the WEFT_E* codes, and weft__fail. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *weft_err_name(int code)
{
    switch (code) {
#define WEFT__ERR_NAME(name, value, msg) case value: return #name;
    WEFT_ERRORS(WEFT__ERR_NAME)
#undef WEFT__ERR_NAME
    }
    return "UNKNOWN";
}

const char *weft_strerror(int code)
{
    switch (code) {
#define WEFT__ERR_MSG(name, value, msg) case value: return msg;
    WEFT_ERRORS(WEFT__ERR_MSG)
#undef WEFT__ERR_MSG
    }
    return "unknown error";
}

int weft__fail(weft_error *err, int code, int sys_errno, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        err->sys_errno = sys_errno;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* "connection lost: connection reset by peer": the code's message, plus
 * strerror (first letter lowered, to read as one sentence) when there is
 * an errno that adds something. */
const char *weft__reason_text(int code, int sys_errno, char *buf, size_t size)
{
    const char *msg = weft_strerror(code);
    if (sys_errno == 0 || (code == WEFT_EREFUSED && sys_errno == ECONNREFUSED)
        || (code == WEFT_ETIMEDOUT && sys_errno == ETIMEDOUT)) {
        snprintf(buf, size, "%s", msg);
        return buf;
    }
    int n = snprintf(buf, size, "%s: ", msg);
    if (n < 0 || (size_t)n >= size)
        return buf;
    snprintf(buf + n, size - (size_t)n, "%s", strerror(sys_errno));
    buf[n] = (char)tolower((unsigned char)buf[n]);
    return buf;
}
