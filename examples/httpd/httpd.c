/* httpd.c — weft-httpd's server (see httpd.h).
 *
 * The generated parser (spec/http.weft) cuts the stream into a request
 * line, field lines and body blocks; request.c turns those into requests;
 * this file answers them.  Per connection it keeps an hconn in the
 * parser's user state.  Answers to pipelined requests are written in order
 * as each request completes; the runtime sends everything one read
 * produced together.  When output to a slow reader passes the high-water
 * mark the connection's producer pauses the parser, so no further request
 * is read until the peer has caught up.
 *
 * Files up to cache_max_file bytes are kept in memory with their headers
 * prepared and are revalidated (path resolved again, stat compared) at most
 * once a second, like nginx's open_file_cache; larger files are opened per
 * request and sent with sendfile (weft_write_file).
 */
#include "httpd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "../common/flow.h"
#include "http.h"
#include "request.h"

#define CACHE_BUCKETS 1024
#define CACHE_MAX_ENTRIES 4096
#define CACHE_MAX_BYTES (64u << 20)
#define REVALIDATE_SECONDS 1.0

/* A resolved file: metadata always, contents when small. */
typedef struct fentry {
    struct fentry *next;        /* hash chain */
    char *key;                  /* normalised request path */
    size_t key_len;
    unsigned hash;
    char *real;                 /* resolved path inside the root */
    double checked;             /* reactor time of the last validation */
    off_t size;
    time_t mtime;
    dev_t dev;
    ino_t ino;
    const char *ctype;
    char lastmod[32];           /* HTTP-date of mtime */
    char *data;                 /* contents, or NULL: sendfile */
} fentry;

typedef struct hconn hconn;

struct httpd {
    httpd_config cfg;
    weft_reactor *r;
    weft_factory *f;
    weft_protocol proto;        /* generated glue, feed wrapped */
    char root[PATH_MAX];        /* realpath of cfg.root */
    size_t root_len;
    fentry *cache[CACHE_BUCKETS];
    size_t cache_entries;
    size_t cache_bytes;
    hconn *conns;               /* every open connection */
    weft_timer *sweep_timer;    /* pending while there are connections */
    time_t date_sec;            /* second the cached dates belong to */
    char date[40];              /* "Sun, 22 Nov 2026 01:29:29 GMT" */
    char log_date[40];          /* "22/Nov/2026:01:29:29 +0000" */
};

/* Per-connection state; request.c finds rq at the start of it. */
struct hconn {
    httpreq rq;                 /* must stay first */
    httpd *srv;
    weft_conn *c;
    http_parser *p;
    struct evbuffer *body;      /* /echo: the body received so far */
    struct hconn *prev, *next;  /* the server's list of connections */
    double last_active;         /* reactor time of the last read/answer */
    size_t last_pending;        /* output pending at the last sweep */
    double head_start;          /* when the current request head began */
    bool reading_head;          /* some of a request head has arrived */
    bool echo;                  /* the current request is for /echo */
};

/* ---- dates --------------------------------------------------------------- */

static void format_http_date(time_t t, char *buf, size_t size)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Dates are formatted once per second, not once per response. */
static void refresh_dates(httpd *s)
{
    time_t now = time(NULL);
    if (now == s->date_sec)
        return;
    s->date_sec = now;
    format_http_date(now, s->date, sizeof s->date);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(s->log_date, sizeof s->log_date, "%d/%b/%Y:%H:%M:%S +0000", &tm);
}

/* ---- response headers ---------------------------------------------------- */

/* A bounded appender for a response head.  Big enough for the longest
 * head written here (a 301 whose Location repeats a request path of up to
 * max_line bytes); overflow is checked and truncates anyway.  Not zeroed:
 * only b[0..n) is ever read. */
typedef struct hbuf {
    char b[9216];
    size_t n;
} hbuf;

static void put(hbuf *h, const char *s, size_t n)
{
    if (n > sizeof h->b - h->n)
        n = sizeof h->b - h->n;
    memcpy(h->b + h->n, s, n);
    h->n += n;
}
#define PUTLIT(h, lit) put((h), (lit), sizeof(lit) - 1)

static void puts_(hbuf *h, const char *s)
{
    put(h, s, strlen(s));
}

static void putnum(hbuf *h, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(h, tmp + i, sizeof tmp - i);
}

/* Status line, Server, Date and Connection. */
static void head_start(hconn *h, hbuf *b, int status, bool keep)
{
    httpd *s = h->srv;
    refresh_dates(s);
    PUTLIT(b, "HTTP/1.1 ");
    putnum(b, (uint64_t)status);
    PUTLIT(b, " ");
    puts_(b, httpreq_reason(status));
    PUTLIT(b, "\r\nServer: weft-httpd\r\nDate: ");
    puts_(b, s->date);
    PUTLIT(b, "\r\n");
    if (!keep)
        PUTLIT(b, "Connection: close\r\n");
    else if (h->rq.minor == 0)
        PUTLIT(b, "Connection: keep-alive\r\n");
}

/* ---- access log ---------------------------------------------------------- */

static void log_request(hconn *h, int status, uint64_t bytes)
{
    FILE *log = h->srv->cfg.access_log;
    if (!log)
        return;
    refresh_dates(h->srv);
    const httpreq *rq = &h->rq;
    fprintf(log, "%s - - [%s] \"", weft_conn_peer_text(h->c), h->srv->log_date);
    if (rq->target_len) {
        fprintf(log, "%s ", rq->method_text);
        for (size_t i = 0; i < rq->target_len; i++) {
            char ch = rq->target[i];
            if (ch == '"' || ch == '\\')
                fprintf(log, "\\x%02x", (unsigned char)ch);
            else
                fputc(ch, log);
        }
        fprintf(log, " HTTP/1.%d", rq->minor);
    } else {
        fputc('-', log);
    }
    fprintf(log, "\" %d %llu\n", status, (unsigned long long)bytes);
}

/* ---- ending a response ----------------------------------------------------- */

/* A small text response; closes the connection unless keep. */
static void respond_simple(hconn *h, int status, bool keep,
                           const char *extra_header)
{
    hbuf b;
    b.n = 0;
    char body[96];
    int blen = snprintf(body, sizeof body, "%d %s\n", status,
                        httpreq_reason(status));
    head_start(h, &b, status, keep);
    if (extra_header)
        puts_(&b, extra_header);
    PUTLIT(&b, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: ");
    putnum(&b, (uint64_t)blen);
    PUTLIT(&b, "\r\n\r\n");
    bool head = h->rq.method == HTTPREQ_HEAD;
    struct iovec iov[2] = {{b.b, b.n}, {body, head ? 0 : (size_t)blen}};
    weft_writev(h->c, iov, 2);
    log_request(h, status, head ? 0 : (uint64_t)blen);
    if (!keep)
        weft_close(h->c);
}

/* ---- paths ------------------------------------------------------------------ */

static int hexdigit(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes path[0..len) and normalises it into out ("/a/b", with a
 * trailing "/" when the path names a directory explicitly): empty and "."
 * segments vanish, ".." removes the previous one.  Returns 0, 400 for a bad
 * escape or a control character, 403 for a ".." above the root. */
static int normalise_path(const char *path, size_t len, char *out,
                          size_t cap, size_t *out_len)
{
    char dec[PATH_MAX];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int ch = (unsigned char)path[i];
        if (ch == '%') {
            int hi = i + 2 < len ? hexdigit(path[i + 1]) : -1;
            int lo = hi >= 0 ? hexdigit(path[i + 2]) : -1;
            if (lo < 0)
                return 400;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (ch < 0x20 || ch == 0x7f)
            return 400;
        if (n == sizeof dec)
            return 414;
        dec[n++] = (char)ch;
    }
    size_t o = 0;
    out[o++] = '/';
    bool dir = true;
    size_t i = 0;
    while (i < n) {
        while (i < n && dec[i] == '/')
            i++;
        size_t start = i;
        while (i < n && dec[i] != '/')
            i++;
        size_t seg = i - start;
        if (seg == 0 || (seg == 1 && dec[start] == '.')) {
            dir = true;
            continue;
        }
        if (seg == 2 && dec[start] == '.' && dec[start + 1] == '.') {
            if (o == 1)
                return 403;
            o--;                            /* the '/' after the last one */
            while (out[o - 1] != '/')
                o--;
            dir = true;
            continue;
        }
        if (o + seg + 1 >= cap)
            return 414;
        memcpy(out + o, dec + start, seg);
        o += seg;
        out[o++] = '/';
        dir = i < n;                        /* a '/' follows the name */
    }
    if (!dir && o > 1)
        o--;
    out[o] = '\0';
    *out_len = o;
    return 0;
}

static const char *content_type(const char *path)
{
    static const struct { const char *ext, *type; } types[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"txt", "text/plain; charset=utf-8"},
        {"md", "text/markdown; charset=utf-8"},
        {"xml", "application/xml"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"ico", "image/vnd.microsoft.icon"},
        {"pdf", "application/pdf"},
        {"wasm", "application/wasm"},
        {"woff", "font/woff"},
        {"woff2", "font/woff2"},
        {"mp4", "video/mp4"},
        {"gz", "application/gzip"},
        {"zip", "application/zip"},
    };
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    if (dot && (!slash || dot > slash)) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    }
    return "application/octet-stream";
}

/* ---- the file cache ------------------------------------------------------------ */

static unsigned hash_key(const char *k, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 16777619u;
    return h;
}

static void fentry_free(fentry *e)
{
    free(e->key);
    free(e->real);
    free(e->data);
    free(e);
}

static void cache_remove(httpd *s, fentry *e)
{
    fentry **pp = &s->cache[e->hash % CACHE_BUCKETS];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    s->cache_entries--;
    if (e->data)
        s->cache_bytes -= (size_t)e->size;
    fentry_free(e);
}

/* Resolves a path below the root: realpath, then a check that the result
 * is still inside the root (a symlink may point anywhere).  Returns 0 with
 * out filled, or 403/404. */
static int resolve(httpd *s, const char *full, char *out)
{
    if (!realpath(full, out))
        return errno == EACCES ? 403 : 404;
    size_t n = strlen(out);
    if (n < s->root_len || memcmp(out, s->root, s->root_len) != 0 ||
        (n > s->root_len && out[s->root_len] != '/' && s->root_len > 1))
        return 403;
    return 0;
}

/* Outcome of looking a request path up. */
typedef struct lookup {
    int status;                 /* 0: file found (e), else 301/403/404 */
    fentry *e;
} lookup;

/* Resolves key (a normalised path) to a regular file: a directory named
 * with a trailing '/' means its index.html; without one, 301.  Fills a
 * new entry's metadata and, for small files, its contents. */
static lookup load_entry(httpd *s, const char *key, size_t key_len)
{
    char full[PATH_MAX], real[PATH_MAX];
    if (s->root_len + key_len + sizeof "index.html" >= sizeof full)
        return (lookup){404, NULL};
    memcpy(full, s->root, s->root_len);
    memcpy(full + s->root_len, key, key_len + 1);
    int st = resolve(s, full, real);
    if (st)
        return (lookup){st, NULL};
    struct stat sb;
    if (stat(real, &sb) < 0)
        return (lookup){errno == EACCES ? 403 : 404, NULL};
    if (S_ISDIR(sb.st_mode)) {
        if (key[key_len - 1] != '/')
            return (lookup){301, NULL};
        size_t rl = strlen(real);
        if (rl + sizeof "/index.html" > sizeof full)
            return (lookup){404, NULL};
        memcpy(full, real, rl);
        memcpy(full + rl, "/index.html", sizeof "/index.html");
        if ((st = resolve(s, full, real)) != 0)
            return (lookup){st, NULL};
        if (stat(real, &sb) < 0)
            return (lookup){errno == EACCES ? 403 : 404, NULL};
    }
    if (!S_ISREG(sb.st_mode))
        return (lookup){403, NULL};
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return (lookup){errno == EACCES ? 403 : 404, NULL};
    fentry *e = calloc(1, sizeof *e);
    if (!e || !(e->key = strndup(key, key_len)) || !(e->real = strdup(real))) {
        if (e)
            fentry_free(e);
        close(fd);
        return (lookup){503, NULL};
    }
    fstat(fd, &sb);
    e->key_len = key_len;
    e->hash = hash_key(key, key_len);
    e->size = sb.st_size;
    e->mtime = sb.st_mtime;
    e->dev = sb.st_dev;
    e->ino = sb.st_ino;
    e->ctype = content_type(real);
    e->checked = weft_reactor_now(s->r);
    format_http_date(sb.st_mtime, e->lastmod, sizeof e->lastmod);
    if ((size_t)sb.st_size <= s->cfg.cache_max_file &&
        s->cache_bytes + (size_t)sb.st_size <= CACHE_MAX_BYTES) {
        e->data = malloc(sb.st_size ? (size_t)sb.st_size : 1);
        ssize_t got = e->data ? pread(fd, e->data, (size_t)sb.st_size, 0) : -1;
        if (got != (ssize_t)sb.st_size) {
            free(e->data);
            e->data = NULL;
        }
    }
    close(fd);
    return (lookup){0, e};
}

/* True when the entry still describes what its path resolves to. */
static bool still_valid(httpd *s, fentry *e)
{
    lookup l = load_entry(s, e->key, e->key_len);
    if (l.status)
        return false;
    bool same = strcmp(l.e->real, e->real) == 0 && l.e->size == e->size &&
                l.e->mtime == e->mtime && l.e->ino == e->ino &&
                l.e->dev == e->dev;
    fentry_free(l.e);
    return same;
}

static lookup cache_lookup(httpd *s, const char *key, size_t key_len)
{
    unsigned h = hash_key(key, key_len);
    fentry *e = s->cache[h % CACHE_BUCKETS];
    while (e && !(e->hash == h && e->key_len == key_len &&
                  memcmp(e->key, key, key_len) == 0))
        e = e->next;
    double now = weft_reactor_now(s->r);
    if (e) {
        if (now - e->checked < REVALIDATE_SECONDS)
            return (lookup){0, e};
        if (still_valid(s, e)) {
            e->checked = now;
            return (lookup){0, e};
        }
        cache_remove(s, e);
    }
    lookup l = load_entry(s, key, key_len);
    if (l.status)
        return l;
    if (s->cache_entries >= CACHE_MAX_ENTRIES) {
        /* Full: the entry serves this request only (see respond_file). */
        return l;
    }
    e = l.e;
    e->next = s->cache[h % CACHE_BUCKETS];
    s->cache[h % CACHE_BUCKETS] = e;
    s->cache_entries++;
    if (e->data)
        s->cache_bytes += (size_t)e->size;
    return l;
}

static bool in_cache(httpd *s, const fentry *e)
{
    for (fentry *x = s->cache[e->hash % CACHE_BUCKETS]; x; x = x->next)
        if (x == e)
            return true;
    return false;
}

/* ---- answering requests --------------------------------------------------------- */

static void reserve(hconn *h, uint64_t size);

static void respond_echo(hconn *h)
{
    hbuf b;
    b.n = 0;
    size_t len = h->body ? evbuffer_get_length(h->body) : 0;
    head_start(h, &b, 200, h->rq.keep_alive);
    PUTLIT(&b, "Content-Type: application/octet-stream\r\nContent-Length: ");
    putnum(&b, len);
    PUTLIT(&b, "\r\n\r\n");
    bool head = h->rq.method == HTTPREQ_HEAD;
    reserve(h, b.n + (head ? 0 : len));
    weft_write(h->c, b.b, b.n);
    if (len && !head) {
        /* Written (copied) through weft_writev rather than moved into the
         * output buffer, so the watermark check runs on this write. */
        struct evbuffer_iovec v[64];
        while (evbuffer_get_length(h->body) > 0) {
            int n = evbuffer_peek(h->body, -1, NULL, v, 64);
            if (n > 64)
                n = 64;
            struct iovec iov[64];
            size_t took = 0;
            for (int i = 0; i < n; i++) {
                iov[i].iov_base = v[i].iov_base;
                iov[i].iov_len = v[i].iov_len;
                took += v[i].iov_len;
            }
            weft_writev(h->c, iov, n);
            evbuffer_drain(h->body, took);
        }
    } else if (h->body) {
        evbuffer_drain(h->body, len);
    }
    log_request(h, 200, h->rq.method == HTTPREQ_HEAD ? 0 : len);
    if (!h->rq.keep_alive)
        weft_close(h->c);
}

/* Sends a large file: opened again so its length is what fstat says now. */
static int send_file(hconn *h, hbuf *b, fentry *e, bool head)
{
    int fd = open(e->real, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char lastmod[32];
    format_http_date(sb.st_mtime, lastmod, sizeof lastmod);
    PUTLIT(b, "Content-Length: ");
    putnum(b, (uint64_t)sb.st_size);
    PUTLIT(b, "\r\nLast-Modified: ");
    puts_(b, lastmod);
    PUTLIT(b, "\r\n\r\n");
    reserve(h, b->n + (head ? 0 : (uint64_t)sb.st_size));
    weft_write(h->c, b->b, b->n);
    if (head || sb.st_size == 0)
        close(fd);
    else
        weft_write_file(h->c, fd, 0, sb.st_size);
    log_request(h, 200, head ? 0 : (uint64_t)sb.st_size);
    return 0;
}

static void respond_file(hconn *h, const char *path, size_t path_len)
{
    httpd *s = h->srv;
    httpreq *rq = &h->rq;
    char key[PATH_MAX];
    size_t key_len;
    int st = normalise_path(path, path_len, key, sizeof key, &key_len);
    if (st) {
        respond_simple(h, st, st != 400 && rq->keep_alive, NULL);
        return;
    }
    lookup l = cache_lookup(s, key, key_len);
    if (l.status == 301) {
        char loc[8192 + 32];        /* the path is at most max_line */
        snprintf(loc, sizeof loc, "Location: %.*s/\r\n", (int)path_len, path);
        respond_simple(h, 301, rq->keep_alive, loc);
        return;
    }
    if (l.status) {
        respond_simple(h, l.status, rq->keep_alive, NULL);
        return;
    }
    fentry *e = l.e;
    bool head = rq->method == HTTPREQ_HEAD;
    hbuf b;
    b.n = 0;
    if (rq->if_modified_since >= 0 && e->mtime <= rq->if_modified_since) {
        head_start(h, &b, 304, rq->keep_alive);
        PUTLIT(&b, "Last-Modified: ");
        puts_(&b, e->lastmod);
        PUTLIT(&b, "\r\n\r\n");
        weft_write(h->c, b.b, b.n);
        log_request(h, 304, 0);
    } else {
        head_start(h, &b, 200, rq->keep_alive);
        PUTLIT(&b, "Content-Type: ");
        puts_(&b, e->ctype);
        PUTLIT(&b, "\r\n");
        if (e->data) {
            PUTLIT(&b, "Content-Length: ");
            putnum(&b, (uint64_t)e->size);
            PUTLIT(&b, "\r\nLast-Modified: ");
            puts_(&b, e->lastmod);
            PUTLIT(&b, "\r\n\r\n");
            struct iovec iov[2] = {{b.b, b.n},
                                   {e->data, head ? 0 : (size_t)e->size}};
            reserve(h, iov[0].iov_len + iov[1].iov_len);
            weft_writev(h->c, iov, 2);
            log_request(h, 200, head ? 0 : (uint64_t)e->size);
        } else if (send_file(h, &b, e, head) < 0) {
            if (!in_cache(s, e))
                fentry_free(e);
            respond_simple(h, 404, rq->keep_alive, NULL);
            return;
        }
    }
    if (!in_cache(s, e))
        fentry_free(e);
    if (!rq->keep_alive)
        weft_close(h->c);
}


static bool is_echo(const httpreq *rq)
{
    size_t len;
    const char *path = httpreq_path(rq, &len);
    return path && len == 5 && memcmp(path, "/echo", 5) == 0;
}

/* ---- httpreq hooks --------------------------------------------------------------- */

static int hook_head(httpreq *rq)
{
    hconn *h = (hconn *)rq;
    h->reading_head = false;
    h->echo = is_echo(rq);
    if (h->echo && rq->body_follows && !h->body) {
        h->body = evbuffer_new();
        if (!h->body)
            return 503;
    }
    if (rq->body_follows && rq->expect_continue && rq->minor == 1)
        weft_write(h->c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    return 0;
}

static void hook_body(httpreq *rq, const char *data, size_t len)
{
    hconn *h = (hconn *)rq;
    if (h->echo)
        evbuffer_add(h->body, data, len);
}

static void hook_done(httpreq *rq)
{
    hconn *h = (hconn *)rq;
    size_t len;
    const char *path = httpreq_path(rq, &len);
    if (!path) {
        rq->keep_alive = false;
        respond_simple(h, 400, false, NULL);
    } else if (h->echo) {
        respond_echo(h);
    } else if (rq->method == HTTPREQ_GET || rq->method == HTTPREQ_HEAD) {
        respond_file(h, path, len);
    } else if (rq->method == HTTPREQ_OTHER) {
        respond_simple(h, 501, rq->keep_alive, NULL);
    } else {
        respond_simple(h, 405, rq->keep_alive, "Allow: GET, HEAD\r\n");
    }
    h->echo = false;
    h->last_active = weft_reactor_now(h->srv->r);
}

static void hook_error(httpreq *rq, int status, const char *why)
{
    hconn *h = (hconn *)rq;
    h->reading_head = false;
    rq->keep_alive = false;
    respond_simple(h, status, false, NULL);
}

static const httpreq_hooks hooks = {
    .on_head = hook_head,
    .on_body = hook_body,
    .on_done = hook_done,
    .on_error = hook_error,
};

/* ---- connection life ----------------------------------------------------------- */

/* Output flow control.  A peer that pipelines requests and does not read
 * the answers must not make the server buffer without bound: before an
 * answer that could take the output past the high-water mark is written,
 * a producer is registered (flow.h), so the runtime calls pause_producing
 * as soon as a write crosses the mark (the parser then stops after the
 * current request) and resume_producing once the output drained below the
 * low mark.  Registered only then, because the runtime's bookkeeping for it
 * costs an idle connection memory; once registered it stays. */
static void producer_pause(weft_conn *c, void *arg)
{
    hconn *h = arg;
    http_pause(h->p);
}

/* Runs inside the runtime's own callback frame, so the connection cannot
 * be freed while the parser delivers the requests it held back. */
static void producer_resume(weft_conn *c, void *arg)
{
    hconn *h = arg;
    http_resume(h->p);
}

static const weft_producer producer = {
    .pause_producing = producer_pause,
    .resume_producing = producer_resume,
};

static const flow http_flow = {
    .high = 64 * 1024,
    .low = 16 * 1024,
    .producer = &producer,
};

/* Call before writing `size` bytes of an answer. */
static void reserve(hconn *h, uint64_t size)
{
    flow_reserve(h->c, &http_flow, (size_t)size, h);
}

/* ---- timeouts: one sweep per server ------------------------------------

 * Idle and header-read timeouts cost no timer per connection (a timer and
 * its libevent event are about 200 bytes, more than the rest of an idle
 * connection): a single server timer walks the connections a few times a
 * second.  A connection is idle when nothing was read, nothing answered and
 * none of its pending output drained for idle_timeout; a request head must
 * be complete header_timeout after its first byte. */

static double sweep_interval(const httpd *s)
{
    double t = s->cfg.idle_timeout;
    if (s->cfg.header_timeout > 0 && (t <= 0 || s->cfg.header_timeout < t))
        t = s->cfg.header_timeout;
    t /= 4;
    return t < 0.05 ? 0.05 : t > 1.0 ? 1.0 : t;
}

static void sweep_conn(httpd *s, hconn *h, double now)
{
    if (weft_conn_closing(h->c))
        return;
    size_t pending = weft_conn_pending(h->c);
    if (pending != h->last_pending) {       /* the peer is reading */
        h->last_pending = pending;
        h->last_active = now;
    }
    if (h->reading_head && s->cfg.header_timeout > 0 &&
        now - h->head_start >= s->cfg.header_timeout) {
        h->reading_head = false;
        h->rq.phase = HTTPREQ_DEAD;
        h->rq.keep_alive = false;
        respond_simple(h, 408, false, NULL);
    } else if (s->cfg.idle_timeout > 0 &&
               now - h->last_active >= s->cfg.idle_timeout) {
        if (pending)                        /* flushing would never end */
            weft_abort(h->c);
        else
            weft_close(h->c);
    }
}

static void sweep(void *arg)
{
    httpd *s = arg;
    s->sweep_timer = NULL;
    double now = weft_reactor_now(s->r);
    for (hconn *h = s->conns, *next; h; h = next) {
        next = h->next;
        sweep_conn(s, h, now);
    }
    if (s->conns)
        s->sweep_timer = weft_call_later(s->r, sweep_interval(s), sweep, s);
}

/* Replaces the generated feed to note activity and the first byte of each
 * request head (which starts the header-read timeout), and to answer the
 * one parser failure no callback sees: chunk data not followed by CRLF
 * (the spec's `trailer "\r\n"` fails the driver with WEFT_EPROTOCOL).
 * The generated glue's feed is the standalone feed plus closing the
 * connection on a parser error; this does the same after answering 400. */
static size_t httpd_feed(weft_conn *c, const char *data, size_t len)
{
    hconn *h = weft_conn_user(c);
    double now = weft_reactor_now(h->srv->r);
    h->last_active = now;
    if (!h->reading_head && h->rq.phase == HTTPREQ_WAIT && len > 0) {
        h->reading_head = true;
        h->head_start = now;
    }
    size_t n = http_parser_feed(h->p, data, len);
    int e = http_parser_error(h->p);
    if (e != 0 && !weft_conn_closing(c)) {
        if (h->rq.phase == HTTPREQ_BODY && h->rq.chunked) {
            h->rq.phase = HTTPREQ_DEAD;
            h->rq.keep_alive = false;
            respond_simple(h, 400, false, NULL);
        } else {
            weft_close_reason(c, e, "HTTP parser error");
        }
    }
    return n;
}

static void on_connect(http_parser *p)
{
    hconn *h = http_state(p);
    weft_conn *c = http_conn(p);
    httpd *s = weft_factory_user(weft_conn_factory(c));
    h->srv = s;
    h->c = c;
    h->p = p;
    h->rq.hooks = &hooks;
    h->rq.parser = p;
    h->rq.max_body = s->cfg.max_body;
    h->rq.max_head = s->cfg.max_head;
    httpreq_reset(&h->rq);
    weft_conn_set_user(c, h);
    h->last_active = weft_reactor_now(s->r);
    h->next = s->conns;
    if (s->conns)
        s->conns->prev = h;
    s->conns = h;
    if (!s->sweep_timer &&
        (s->cfg.idle_timeout > 0 || s->cfg.header_timeout > 0))
        s->sweep_timer = weft_call_later(s->r, sweep_interval(s), sweep, s);
}

static void on_disconnect(http_parser *p, const weft_reason *reason)
{
    hconn *h = http_state(p);
    httpd *s = h->srv;
    if (h->prev)
        h->prev->next = h->next;
    else
        s->conns = h->next;
    if (h->next)
        h->next->prev = h->prev;
    if (h->body)
        evbuffer_free(h->body);
    h->body = NULL;
    httpreq_free(&h->rq);
}

/* ---- the server ------------------------------------------------------------------ */

httpd *httpd_new(weft_reactor *r, const httpd_config *cfg, weft_error *err)
{
    httpd *s = calloc(1, sizeof *s);
    if (!s) {
        weft__fail(err, WEFT_ENOMEM, 0, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->r = r;
    struct stat sb;
    if (!realpath(cfg->root, s->root) || stat(s->root, &sb) < 0) {
        weft__fail(err, WEFT_EINVAL, errno, "--root %s: %s", cfg->root,
                   strerror(errno));
        free(s);
        return NULL;
    }
    if (!S_ISDIR(sb.st_mode)) {
        weft__fail(err, WEFT_EINVAL, 0, "--root %s: not a directory",
                   cfg->root);
        free(s);
        return NULL;
    }
    s->root_len = strlen(s->root);
    if (s->root_len == 1)           /* "/": keys already start with '/' */
        s->root_len = 0;
    http_callbacks cb = httpreq_callbacks;
    cb.on_connect = on_connect;
    cb.on_disconnect = on_disconnect;
    static http_callbacks callbacks;    /* must outlive the protocol */
    callbacks = cb;
    http_protocol_init(&s->proto, &callbacks, sizeof(hconn));
    s->proto.feed = httpd_feed;
    s->f = weft_factory_new(r, &s->proto, NULL, s);
    if (!s->f) {
        weft__fail(err, WEFT_ENOMEM, 0, "out of memory");
        free(s);
        return NULL;
    }
    return s;
}

weft_factory *httpd_factory(httpd *s)
{
    return s->f;
}

void httpd_free(httpd *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < CACHE_BUCKETS; i++) {
        fentry *e = s->cache[i];
        while (e) {
            fentry *next = e->next;
            fentry_free(e);
            e = next;
        }
    }
    weft_factory_free(s->f);
    free(s);
}
