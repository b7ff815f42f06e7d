/* endpoint.c — endpoint strings (Twisted's serverFromString and
 * clientFromString), listening ports and connect attempts.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "internal.h"

/* ---- parsing ------------------------------------------------------------- */

enum param {
    P_PORT, P_IFACE, P_BACKLOG, P_PATH, P_MODE, P_HOST, P_TIMEOUT, P_BIND,
    P_LOCKFILE, P_CHECKPID, P__COUNT
};

static const char *const param_key[P__COUNT] = {
    "port", "interface", "backlog", "path", "mode", "host", "timeout",
    "bindAddress", "lockfile", "checkPID",
};

/* What each kind of endpoint takes: positional parameters in order, then
 * every key accepted (as Twisted's _parseTCP, _parseUNIX, _parseClientTCP
 * and _parseClientUNIX). */
typedef struct shape {
    const char *what;               /* for messages */
    enum param pos[3];
    int npos;
    unsigned keys;                  /* bit set of enum param */
} shape;

#define K(p) (1u << (p))
static const shape tcp_server = {
    "tcp servers take port, interface, backlog",
    {P_PORT, P_IFACE, P_BACKLOG}, 3, K(P_PORT) | K(P_IFACE) | K(P_BACKLOG)};
static const shape unix_server = {
    "unix servers take path, mode, backlog",
    {P_PATH, P_MODE, P_BACKLOG}, 3,
    K(P_PATH) | K(P_MODE) | K(P_BACKLOG) | K(P_LOCKFILE)};
static const shape tcp_client = {
    "tcp clients take host, port, timeout, bindAddress",
    {P_HOST, P_PORT}, 2, K(P_HOST) | K(P_PORT) | K(P_TIMEOUT) | K(P_BIND)};
static const shape unix_client = {
    "unix clients take path, timeout",
    {P_PATH}, 1, K(P_PATH) | K(P_TIMEOUT) | K(P_CHECKPID)};

static int bad(weft_error *err, const char *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(weft_error *err, const char *s, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return weft__fail(err, WEFT_EENDPOINT, 0, "%s: %s", s, what);
}

/* Unescaped "::" almost always is an IPv6 address whose colons split the
 * string; say so in the positional-argument errors it causes. */
static const char *v6_hint(const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\\' && p[1])
            p++;
        else if (p[0] == ':' && p[1] == ':')
            return " (escape the colons of an IPv6 address: \\:\\:1)";
    }
    return "";
}

static bool parse_uint(const char *v, int base, unsigned long max,
                       unsigned long *out)
{
    if (!*v)
        return false;
    for (const char *p = v; *p; p++)
        if (base == 10 ? !isdigit((unsigned char)*p)
                       : (*p < '0' || *p > '7'))
            return false;
    errno = 0;
    unsigned long n = strtoul(v, NULL, base);
    if (errno || n > max)
        return false;
    *out = n;
    return true;
}

static bool numeric_addr(const char *h, int family)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return (family != AF_INET6 && inet_pton(AF_INET, h, buf) == 1)
           || (family != AF_INET && inet_pton(AF_INET6, h, buf) == 1);
}

/* Splits s at unescaped ':' into args, each split at its first unescaped
 * '=' into key and value; backslash escapes are removed.  tok must hold
 * 2 * strlen(s) + 2 bytes.  Returns the arg count or -1 on a trailing
 * backslash. */
static int tokenize(const char *s, char *tok, char **keys, char **vals,
                    int max)
{
    int n = 0;
    char *w = tok;
    keys[0] = w;
    vals[0] = NULL;
    for (const char *p = s;; p++) {
        if (*p == '\\') {
            if (!p[1])
                return -1;
            *w++ = *++p;
        } else if (*p == '=' && !vals[n]) {
            *w++ = '\0';
            vals[n] = w;
        } else if (*p == ':' || *p == '\0') {
            *w++ = '\0';
            if (++n == max || !*p)
                return *p ? max + 1 : n;
            keys[n] = w;
            vals[n] = NULL;
        } else {
            *w++ = *p;
        }
    }
}

static int fill(const char *s, bool server, weft_endpoint *out,
                const char **v, weft_error *err)
{
    unsigned long n;
    if (v[P_PORT]) {
        if (!parse_uint(v[P_PORT], 10, 65535, &n) || (!server && n == 0))
            return bad(err, s, "port must be a number from %d to 65535",
                       server ? 0 : 1);
        out->port = (int)n;
    }
    if (v[P_BACKLOG]) {
        if (!parse_uint(v[P_BACKLOG], 10, 65535, &n) || n == 0)
            return bad(err, s, "backlog must be a number from 1 to 65535");
        out->backlog = (int)n;
    }
    if (v[P_MODE]) {
        if (!parse_uint(v[P_MODE], 8, 07777, &n))
            return bad(err, s, "mode must be an octal number such as 0660");
        out->mode = (unsigned)n;
        out->has_mode = true;
    }
    if (v[P_TIMEOUT]) {
        char *end;
        double t = strtod(v[P_TIMEOUT], &end);
        if (!*v[P_TIMEOUT] || *end || !isfinite(t) || t < 0)
            return bad(err, s, "timeout must be a number of seconds");
        out->timeout = t;
    }
    if (v[P_PATH]) {
        if (!*v[P_PATH])
            return bad(err, s, "path must not be empty");
        if (strlen(v[P_PATH]) >= sizeof out->path)
            return bad(err, s, "path is too long (at most %zu bytes)",
                       sizeof out->path - 1);
        strcpy(out->path, v[P_PATH]);
    }
    const char *host = server ? v[P_IFACE] : v[P_HOST];
    if (host) {
        if (strlen(host) >= sizeof out->host)
            return bad(err, s, "%s is too long",
                       server ? "interface" : "host");
        if (!server && !*host)
            return bad(err, s, "host must not be empty");
        if (server && *host
            && !numeric_addr(host, out->kind == WEFT_ENDPOINT_TCP6
                                       ? AF_INET6 : AF_UNSPEC))
            return bad(err, s, "interface must be a numeric %saddress",
                       out->kind == WEFT_ENDPOINT_TCP6 ? "IPv6 " : "IP ");
        strcpy(out->host, host);
    }
    if (v[P_BIND]) {
        if (!numeric_addr(v[P_BIND], AF_UNSPEC)
            || strlen(v[P_BIND]) >= sizeof out->bind_address)
            return bad(err, s, "bindAddress must be a numeric IP address");
        strcpy(out->bind_address, v[P_BIND]);
    }
    if (v[P_LOCKFILE] && strcmp(v[P_LOCKFILE], "0")
        && strcmp(v[P_LOCKFILE], "1"))
        return bad(err, s, "lockfile must be 0 or 1");
    if (v[P_CHECKPID] && strcmp(v[P_CHECKPID], "0")
        && strcmp(v[P_CHECKPID], "1"))
        return bad(err, s, "checkPID must be 0 or 1");
    return 0;
}

int weft_endpoint_parse(const char *s, bool server, weft_endpoint *out,
                        weft_error *err)
{
    enum { MAXARGS = 16 };
    if (!s || !*s)
        return weft__fail(err, WEFT_EENDPOINT, 0, "empty endpoint string");
    memset(out, 0, sizeof *out);
    out->server = server;
    out->backlog = 50;
    out->timeout = 30.0;
    out->port = -1;

    size_t len = strlen(s);
    char *tok = malloc(2 * len + 2);
    if (!tok)
        return weft__fail(err, WEFT_ENOMEM, 0, "%s: out of memory", s);
    char *keys[MAXARGS], *vals[MAXARGS];
    int rc = 0, n = tokenize(s, tok, keys, vals, MAXARGS);
    if (n < 0) {
        rc = bad(err, s, "a backslash at the end escapes nothing");
        goto out;
    }
    if (n > MAXARGS) {
        rc = bad(err, s, "too many arguments");
        goto out;
    }
    if (vals[0]) {
        rc = bad(err, s, "the endpoint kind (tcp, tcp6 or unix) comes first");
        goto out;
    }
    const shape *sh;
    if (strcmp(keys[0], "tcp") == 0 || strcmp(keys[0], "tcp6") == 0) {
        out->kind = keys[0][3] ? WEFT_ENDPOINT_TCP6 : WEFT_ENDPOINT_TCP;
        sh = server ? &tcp_server : &tcp_client;
    } else if (strcmp(keys[0], "unix") == 0) {
        out->kind = WEFT_ENDPOINT_UNIX;
        sh = server ? &unix_server : &unix_client;
    } else {
        rc = bad(err, s, "unknown endpoint kind '%s' (expected tcp, tcp6 or "
                 "unix)", keys[0]);
        goto out;
    }

    const char *v[P__COUNT] = {0};
    int npos = 0;
    for (int i = 1; i < n; i++) {
        int p;
        if (!vals[i]) {
            if (npos == sh->npos) {
                rc = bad(err, s, "too many positional arguments (%s)%s",
                         sh->what, v6_hint(s));
                goto out;
            }
            p = sh->pos[npos++];
            if (v[p]) {
                rc = bad(err, s, "%s given twice%s", param_key[p], v6_hint(s));
                goto out;
            }
            v[p] = keys[i];
            continue;
        }
        for (p = 0; p < P__COUNT; p++)
            if (strcmp(keys[i], param_key[p]) == 0)
                break;
        /* Twisted's unix server names its path "address". */
        if (p == P__COUNT && out->kind == WEFT_ENDPOINT_UNIX
            && strcmp(keys[i], "address") == 0)
            p = P_PATH;
        if (p == P__COUNT || !(sh->keys & K(p))) {
            rc = bad(err, s, "unknown option '%s' (%s)", keys[i], sh->what);
            goto out;
        }
        if (v[p]) {
            rc = bad(err, s, "%s given twice", param_key[p]);
            goto out;
        }
        v[p] = vals[i];
    }
    if (out->kind == WEFT_ENDPOINT_UNIX) {
        if (!v[P_PATH]) {
            rc = bad(err, s, "missing path");
            goto out;
        }
    } else {
        if (!server && !v[P_HOST]) {
            rc = bad(err, s, "missing host");
            goto out;
        }
        if (!v[P_PORT]) {
            rc = bad(err, s, "missing port");
            goto out;
        }
    }
    rc = fill(s, server, out, v, err);
out:
    free(tok);
    return rc;
}

/* "permission denied": strerror with its first letter lowered. */
static const char *lower_strerror(int e, char *buf, size_t size)
{
    snprintf(buf, size, "%s", strerror(e));
    buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

static int sys_fail(weft_error *err, const char *s, int e)
{
    char m[128];
    return weft__fail(err, e == EADDRINUSE ? WEFT_EADDRINUSE : WEFT_ESYS, e,
                      "%s: %s", s, lower_strerror(e, m, sizeof m));
}

/* ---- listening ----------------------------------------------------------- */

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
                      struct sockaddr *sa, int salen, void *arg)
{
    weft_port *p = arg;
    weft_factory *f = p->f;
    (void)lev;
    if (p->r->stopping
        || (f->hooks.on_build && !f->hooks.on_build(f, sa, (socklen_t)salen))) {
        close(fd);
        return;
    }
    weft_conn *c = weft__conn_new(p->r, f, fd, false, false);
    if (!c) {
        close(fd);
        return;
    }
    weft__conn_start(c);
}

static void accept_again(void *arg)
{
    weft_port *p = arg;
    p->retry_accept = NULL;
    evconnlistener_enable(p->lev);
}

static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
    weft_port *p = arg;
    int e = errno;
    /* Out of descriptors: the listening socket stays readable, so stop
     * accepting for a moment instead of spinning. */
    if ((e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
        && !p->retry_accept) {
        evconnlistener_disable(lev);
        p->retry_accept = weft_call_later(p->r, 0.1, accept_again, p);
    }
}

/* A unix socket file left by a dead server is removed; one a live server
 * answers on is "address already in use". */
static void remove_stale(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
        return;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    strcpy(un.sun_path, path);
    if (connect(fd, (struct sockaddr *)&un, sizeof un) < 0
        && errno == ECONNREFUSED)
        unlink(path);
    close(fd);
}

static int open_listener(const weft_endpoint *ep, const char *s,
                         weft_error *err, int *out_fd)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    int family;
    if (ep->kind == WEFT_ENDPOINT_UNIX) {
        struct sockaddr_un *un = (struct sockaddr_un *)&ss;
        un->sun_family = family = AF_UNIX;
        strcpy(un->sun_path, ep->path);
        sl = sizeof *un;
        remove_stale(ep->path);
    } else {
        const char *h = ep->host;
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        if (ep->kind == WEFT_ENDPOINT_TCP6
            || (*h && inet_pton(AF_INET6, h, &in6->sin6_addr) == 1)) {
            family = AF_INET6;
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons((uint16_t)ep->port);
            if (*h)
                inet_pton(AF_INET6, h, &in6->sin6_addr);
            else
                in6->sin6_addr = in6addr_any;
            sl = sizeof *in6;
        } else {
            family = AF_INET;
            in->sin_family = AF_INET;
            in->sin_port = htons((uint16_t)ep->port);
            in->sin_addr.s_addr = htonl(INADDR_ANY);
            if (*h)
                inet_pton(AF_INET, h, &in->sin_addr);
            sl = sizeof *in;
        }
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sys_fail(err, s, errno);
    int one = 1;
    if (family != AF_UNIX)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* tcp:PORT and tcp6:PORT can then listen side by side. */
    if (family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
        int e = errno;
        close(fd);
        return sys_fail(err, s, e);
    }
    if ((ep->has_mode && chmod(ep->path, ep->mode) < 0)
        || listen(fd, ep->backlog) < 0) {
        int e = errno;
        if (family == AF_UNIX)
            unlink(ep->path);
        close(fd);
        return sys_fail(err, s, e);
    }
    *out_fd = fd;
    return 0;
}

weft_port *weft_listen(weft_reactor *r, const char *endpoint, weft_factory *f,
                       weft_error *err)
{
    weft_endpoint ep;
    int fd = -1;
    if (weft_endpoint_parse(endpoint, true, &ep, err) < 0
        || open_listener(&ep, endpoint, err, &fd) < 0)
        return NULL;
    weft_port *p = calloc(1, sizeof *p);
    if (!p) {
        close(fd);
        weft__fail(err, WEFT_ENOMEM, 0, "%s: out of memory", endpoint);
        return NULL;
    }
    p->r = r;
    p->f = f;
    p->kind = ep.kind;
    p->number = -1;
    p->lev = evconnlistener_new(r->base, accept_cb, p,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                0, fd);
    if (!p->lev) {
        close(fd);
        free(p);
        weft__fail(err, WEFT_ESYS, 0, "%s: cannot watch the socket", endpoint);
        return NULL;
    }
    evconnlistener_set_error_cb(p->lev, accept_error_cb);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    if (ep.kind == WEFT_ENDPOINT_UNIX) {
        p->unix_path = strdup(ep.path);
        snprintf(p->text, sizeof p->text, "unix:%s", ep.path);
    } else {
        char addr[80];
        p->number = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        weft_sockaddr_text((struct sockaddr *)&ss, sl, addr, sizeof addr);
        snprintf(p->text, sizeof p->text, "%s:%s",
                 ss.ss_family == AF_INET6 ? "tcp6" : "tcp", addr);
    }
    LIST_INSERT_HEAD(&r->ports, p, link);
    weft__factory_use(f);
    return p;
}

void weft_port_stop(weft_port *p, void (*done)(void *arg), void *arg)
{
    weft_reactor *r = p->r;
    LIST_REMOVE(p, link);
    evconnlistener_free(p->lev);
    weft_timer_cancel(p->retry_accept);
    if (p->unix_path) {
        unlink(p->unix_path);
        free(p->unix_path);
    }
    weft_factory *f = p->f;
    free(p);
    weft__factory_unuse(f);
    if (done)
        done(arg);
    weft__reactor_check_stopped(r);
}

int weft_port_number(const weft_port *p) { return p->number; }
const char *weft_port_text(const weft_port *p) { return p->text; }

void weft__port_stop_all(weft_reactor *r)
{
    while (!LIST_EMPTY(&r->ports))
        weft_port_stop(LIST_FIRST(&r->ports), NULL, NULL);
}

void weft__port_stop_factory(weft_factory *f)
{
    for (;;) {
        weft_port *p;
        LIST_FOREACH(p, &f->r->ports, link)
            if (p->f == f)
                break;
        if (!p)
            return;
        weft_port_stop(p, NULL, NULL);
    }
}

/* ---- connecting ---------------------------------------------------------- */

struct weft_attempt {
    weft_reactor *r;
    weft_factory *f;
    LIST_ENTRY(weft_attempt) link;
    weft_endpoint ep;
    struct evdns_getaddrinfo_request *req;
    struct evutil_addrinfo *ai, *cur;
    struct sockaddr_un un;            /* unix target */
    int fd;
    struct event ev;                  /* start, then connect completion */
    bool ev_added;
    weft_timer *timer;
    int last_errno;
    bool in_dns, dns_done;
    int dns_result;
    struct evutil_addrinfo *dns_ai;
    bool *gone;                       /* set true when freed */
};

static void attempt_free(weft_attempt *a)
{
    if (a->req) {
        struct evdns_getaddrinfo_request *req = a->req;
        a->req = NULL;
        evdns_getaddrinfo_cancel(req);   /* runs dns_cb with EAI_CANCEL */
    }
    if (a->ev_added)
        event_del(&a->ev);
    if (a->fd >= 0)
        close(a->fd);
    weft_timer_cancel(a->timer);
    if (a->ai)
        evutil_freeaddrinfo(a->ai);
    LIST_REMOVE(a, link);
    if (a->gone)
        *a->gone = true;
    free(a);
}

static void attempt_fail(weft_attempt *a, int code, int sys_errno,
                         const char *text)
{
    weft_reactor *r = a->r;
    weft_factory *f = a->f;
    char buf[256];
    weft_reason reason = {code, sys_errno,
                          text ? text
                               : weft__reason_text(code, sys_errno, buf,
                                                   sizeof buf)};
    attempt_free(a);
    if (f->hooks.connection_failed)
        f->hooks.connection_failed(f, &reason);
    weft__factory_client_ended(f);
    weft__factory_unuse(f);
    weft__reactor_check_stopped(r);
}

static void fail_errno(weft_attempt *a, int e)
{
    if (e == ECONNREFUSED || e == ENOENT)
        attempt_fail(a, WEFT_EREFUSED, e, NULL);
    else if (e == ETIMEDOUT)
        attempt_fail(a, WEFT_ETIMEDOUT, e, NULL);
    else
        attempt_fail(a, WEFT_ESYS, e, NULL);
}

static void attempt_connected(weft_attempt *a)
{
    weft_factory *f = a->f;
    weft_reactor *r = a->r;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(a->fd, (struct sockaddr *)&ss, &sl) < 0)
        sl = 0;
    if (f->hooks.on_build
        && !f->hooks.on_build(f, sl ? (struct sockaddr *)&ss : NULL, sl)) {
        attempt_fail(a, WEFT_EREFUSED_BUILD, 0, NULL);
        return;
    }
    int fd = a->fd;
    a->fd = -1;
    weft_conn *c = weft__conn_new(r, f, fd, true, false);
    if (!c) {
        a->fd = fd;
        attempt_fail(a, WEFT_ENOMEM, 0, NULL);
        return;
    }
    attempt_free(a);
    weft__factory_unuse(f);     /* the conn holds its own use */
    weft__conn_start(c);
}

static void try_next(weft_attempt *a);

static void connect_cb(evutil_socket_t fd, short what, void *arg)
{
    weft_attempt *a = arg;
    (void)what;
    int e = 0;
    socklen_t el = sizeof e;
    a->ev_added = false;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
        e = errno;
    if (e == 0) {
        attempt_connected(a);
        return;
    }
    a->last_errno = e;
    close(a->fd);
    a->fd = -1;
    if (a->cur)
        a->cur = a->cur->ai_next;
    try_next(a);
}

/* Starts a non-blocking connect to sa; false (errno set) if it failed at
 * once. */
static bool start_connect(weft_attempt *a, const struct sockaddr *sa,
                          socklen_t sl)
{
    a->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   0);
    if (a->fd < 0)
        return false;
    if (a->ep.bind_address[0] && sa->sa_family != AF_UNIX) {
        struct evutil_addrinfo hints = {0}, *res = NULL;
        hints.ai_family = sa->sa_family;
        hints.ai_flags = EVUTIL_AI_NUMERICHOST | EVUTIL_AI_PASSIVE;
        hints.ai_socktype = SOCK_STREAM;
        if (evutil_getaddrinfo(a->ep.bind_address, "0", &hints, &res) != 0) {
            errno = EADDRNOTAVAIL;
            goto fail;
        }
        int rc = bind(a->fd, res->ai_addr, (socklen_t)res->ai_addrlen);
        evutil_freeaddrinfo(res);
        if (rc < 0)
            goto fail;
    }
    if (connect(a->fd, sa, sl) < 0 && errno != EINPROGRESS)
        goto fail;
    event_assign(&a->ev, a->r->base, a->fd, EV_WRITE, connect_cb, a);
    event_add(&a->ev, NULL);
    a->ev_added = true;
    return true;
fail:;
    int e = errno;
    close(a->fd);
    a->fd = -1;
    errno = e;
    return false;
}

static void try_next(weft_attempt *a)
{
    for (; a->cur; a->cur = a->cur->ai_next) {
        if (start_connect(a, a->cur->ai_addr, (socklen_t)a->cur->ai_addrlen))
            return;
        a->last_errno = errno;
    }
    fail_errno(a, a->last_errno ? a->last_errno : ECONNREFUSED);
}

static void handle_dns(weft_attempt *a)
{
    if (a->dns_result != 0) {
        char text[300];
        snprintf(text, sizeof text, "%s: %s: %s", weft_strerror(WEFT_EDNS),
                 a->ep.host, evutil_gai_strerror(a->dns_result));
        attempt_fail(a, WEFT_EDNS, 0, text);
        return;
    }
    a->ai = a->cur = a->dns_ai;
    a->dns_ai = NULL;
    try_next(a);
}

static void dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
    weft_attempt *a = arg;
    if (result == EVUTIL_EAI_CANCEL) {
        if (res)
            evutil_freeaddrinfo(res);
        return;       /* attempt_free is cancelling us */
    }
    a->req = NULL;
    a->dns_done = true;
    a->dns_result = result;
    a->dns_ai = res;
    if (!a->in_dns)
        handle_dns(a);
}

static void start_cb(evutil_socket_t fd, short what, void *arg)
{
    weft_attempt *a = arg;
    (void)fd;
    (void)what;
    a->ev_added = false;
    if (a->ep.kind == WEFT_ENDPOINT_UNIX) {
        a->un.sun_family = AF_UNIX;
        strcpy(a->un.sun_path, a->ep.path);
        if (!start_connect(a, (struct sockaddr *)&a->un, sizeof a->un))
            fail_errno(a, errno);
        return;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", a->ep.port);
    struct evutil_addrinfo hints = {0};
    hints.ai_family = a->ep.kind == WEFT_ENDPOINT_TCP6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = EVUTIL_AI_NUMERICHOST | EVUTIL_AI_NUMERICSERV;
    struct evutil_addrinfo *res = NULL;
    if (evutil_getaddrinfo(a->ep.host, port, &hints, &res) == 0) {
        a->ai = a->cur = res;    /* numeric: no DNS round trip */
        try_next(a);
        return;
    }
    struct evdns_base *dns = weft__reactor_dns(a->r);
    if (!dns) {
        attempt_fail(a, WEFT_EDNS, 0, "host name lookup failed: no resolver");
        return;
    }
    hints.ai_flags = EVUTIL_AI_NUMERICSERV;
    a->in_dns = true;
    struct evdns_getaddrinfo_request *req =
        evdns_getaddrinfo(dns, a->ep.host, port, &hints, dns_cb, a);
    a->in_dns = false;
    if (a->dns_done)
        handle_dns(a);       /* answered at once (hosts file, cache) */
    else
        a->req = req;
}

static void attempt_timeout(void *arg)
{
    weft_attempt *a = arg;
    a->timer = NULL;
    attempt_fail(a, WEFT_ETIMEDOUT, 0, NULL);
}

weft_attempt *weft_connect(weft_reactor *r, const char *endpoint,
                           weft_factory *f, weft_error *err)
{
    weft_endpoint ep;
    if (weft_endpoint_parse(endpoint, false, &ep, err) < 0)
        return NULL;
    weft_attempt *a = calloc(1, sizeof *a);
    if (!a) {
        weft__fail(err, WEFT_ENOMEM, 0, "%s: out of memory", endpoint);
        return NULL;
    }
    a->r = r;
    a->f = f;
    a->ep = ep;
    a->fd = -1;
    LIST_INSERT_HEAD(&r->attempts, a, link);
    weft__factory_set_endpoint(f, endpoint);
    weft__factory_use(f);
    if (ep.timeout > 0)
        a->timer = weft_call_later(r, ep.timeout, attempt_timeout, a);
    /* Connecting starts from the loop, so every outcome (even an instant
     * refusal) reaches connection_failed after weft_connect returned. */
    event_assign(&a->ev, r->base, -1, 0, start_cb, a);
    event_active(&a->ev, EV_TIMEOUT, 1);
    a->ev_added = true;
    if (f->hooks.started_connecting) {
        bool gone = false;
        a->gone = &gone;
        f->hooks.started_connecting(f, a);
        if (gone) {
            weft__fail(err, WEFT_ECANCELLED, 0, "%s: cancelled", endpoint);
            return NULL;
        }
        a->gone = NULL;
    }
    return a;
}

void weft_attempt_cancel(weft_attempt *a)
{
    if (a)
        attempt_fail(a, WEFT_ECANCELLED, 0, NULL);
}

void weft__attempt_abort_all(weft_reactor *r)
{
    while (!LIST_EMPTY(&r->attempts))
        weft_attempt_cancel(LIST_FIRST(&r->attempts));
}

void weft__factory_cancel_attempts(weft_factory *f)
{
    weft_reactor *r = f->r;
    for (;;) {
        weft_attempt *a;
        LIST_FOREACH(a, &r->attempts, link)
            if (a->f == f)
                break;
        if (!a)
            return;
        weft_attempt_cancel(a);
    }
}
