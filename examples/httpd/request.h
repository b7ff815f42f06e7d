/* request.h — HTTP/1.1 request framing on top of the generated parser
 * (build/gen/http.h): which header fields matter, whether a body follows
 * and how it is framed, and every reason to refuse a request.
 *
 * It knows nothing about sockets or files: the owner gets four events
 * (head, body data, done, error) through httpreq_hooks and decides what to
 * answer.  weft-httpd runs it under libweft; tests/unit/test_http_parser.c
 * runs it on a standalone parser, fed whole, at every split and byte by
 * byte.
 *
 * Field extraction is the spec's grammar (spec/http.weft): this file only
 * looks at the captures of the few fields that frame a message.
 */
#ifndef WEFT_HTTPD_REQUEST_H
#define WEFT_HTTPD_REQUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "http.h"

typedef struct httpreq httpreq;

enum httpreq_method {
    HTTPREQ_OTHER,      /* a token we do not know: 501 unless /echo */
    HTTPREQ_GET, HTTPREQ_HEAD, HTTPREQ_POST, HTTPREQ_PUT, HTTPREQ_DELETE,
    HTTPREQ_OPTIONS, HTTPREQ_PATCH, HTTPREQ_TRACE, HTTPREQ_CONNECT,
};

enum httpreq_phase {
    HTTPREQ_WAIT,       /* between requests, nothing of the next one seen */
    HTTPREQ_FIELDS,     /* request line seen, reading header fields */
    HTTPREQ_BODY,       /* reading the body */
    HTTPREQ_DEAD,       /* an error was reported: nothing more is parsed */
};

typedef struct httpreq_hooks {
    /* The header block is complete and valid.  Return 0 to go on (the
     * body, if any, is read next; rq->body_follows says whether there is
     * one), or an HTTP status >= 400 to refuse the request: on_error then
     * runs with it. */
    int (*on_head)(httpreq *rq);
    /* Body bytes, de-chunked, in the pieces they arrived in. */
    void (*on_body)(httpreq *rq, const char *data, size_t len);
    /* The request, body included, is complete; answer it.  Afterwards the
     * parser reads the next request (unless the owner closed or paused). */
    void (*on_done)(httpreq *rq);
    /* A bad request: answer `status` and close.  Nothing more is parsed. */
    void (*on_error)(httpreq *rq, int status, const char *why);
} httpreq_hooks;

/* One connection's request state.  Zero it, then set hooks, parser and the
 * limits, then httpreq_reset(); httpreq_reset() also clears the
 * per-request part between requests. */
struct httpreq {
    const httpreq_hooks *hooks;
    http_parser *parser;
    uint64_t max_body;          /* 413 above this (Content-Length or the
                                   sum of the chunks) */
    size_t max_head;            /* 431 when the field lines add up to more */

    /* ---- the current request (httpreq_reset clears from here) ---- */
    int phase;                  /* enum httpreq_phase */
    int method;                 /* enum httpreq_method */
    int minor;                  /* 0 or 1: HTTP/1.minor */
    char method_text[16];       /* the method token, truncated, for logs */
    char *target;               /* copy of the request target, NUL-ended,
                                   owned; NULL before the request line */
    size_t target_len, target_cap;
    size_t head_bytes;          /* field lines so far, CRLF included */
    uint64_t content_length;
    uint64_t body_bytes;        /* body bytes received so far */
    time_t if_modified_since;   /* -1 if absent or not a valid date */
    int host_count;
    bool has_content_length;
    bool has_transfer_encoding;
    bool chunked;
    bool te_unsupported;        /* a coding other than a single chunked */
    bool conn_close;            /* Connection: close */
    bool conn_keep_alive;       /* Connection: keep-alive */
    bool expect_continue;       /* Expect: 100-continue */
    bool expect_other;          /* any other expectation: 417 */
    bool bad_host;
    bool body_follows;          /* set before on_head */
    bool keep_alive;            /* set before on_head: the connection may
                                   carry another request after this one */
};

/* The callbacks of the generated parser that drive an httpreq.  Under
 * libweft the httpreq must be the first member of the per-connection user
 * state (http_state()); standalone, it is the parser's user pointer. */
extern const http_callbacks httpreq_callbacks;

/* Forgets the current request and frees its target. */
void httpreq_reset(httpreq *rq);
/* Frees what the httpreq owns. */
void httpreq_free(httpreq *rq);
/* The path of the target without the query, as given (not decoded):
 * "/a/b" for "/a/b?x=1" and for "http://host/a/b".  *len gets its length;
 * returns NULL for a target that is neither origin- nor absolute-form. */
const char *httpreq_path(const httpreq *rq, size_t *len);
/* "HTTP/1.1 ... reason" text of a status code; "Unknown" for others. */
const char *httpreq_reason(int status);
/* Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), also the two
 * obsolete forms RFC 9110 says a recipient must accept.  -1 if invalid. */
time_t httpreq_parse_date(const char *s, size_t len);

#endif
