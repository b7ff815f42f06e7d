/* httpd.h — weft-httpd's server: static files under a root, /echo, and the
 * HTTP/1.1 connection rules, on the parser generated from spec/http.weft.
 */
#ifndef WEFT_HTTPD_H
#define WEFT_HTTPD_H

#include <stdint.h>
#include <stdio.h>

#include "weft.h"

typedef struct httpd_config {
    const char *root;           /* directory served; must exist */
    uint64_t max_body;          /* 413 above this; default 1 MiB */
    size_t max_head;            /* 431 above this many bytes of fields */
    double idle_timeout;        /* keep-alive / inactivity timeout, s */
    double header_timeout;      /* whole request head must arrive in it */
    size_t cache_max_file;      /* files up to this size are kept in memory
                                   (revalidated every second); larger ones
                                   are sent with sendfile; 0: never cache */
    FILE *access_log;           /* NULL: no log */
} httpd_config;

typedef struct httpd httpd;

/* New server on r serving cfg->root (resolved now).  NULL with *err
 * filled when the root is not a directory or memory runs out. */
httpd *httpd_new(weft_reactor *r, const httpd_config *cfg, weft_error *err);
/* The factory to listen with. */
weft_factory *httpd_factory(httpd *s);
/* Frees the server; its factory must have no connection left. */
void httpd_free(httpd *s);

#endif
