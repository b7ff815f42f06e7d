/* weft-get — fetches one URL over HTTP/1.1 with the parser weftc generates
 * from spec/http_response.weft, on libweft's client endpoints.
 *
 * The status line and fields are line modes; the body is a counted block
 * (Content-Length), chunk-size lines and counted chunks (chunked), or raw
 * data until the server closes (neither).  Interim 1xx responses are
 * skipped.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/cli.h"
#include "http_response.h"
#include "weft.h"

static const char usage[] =
    "usage: weft-get URL [-o FILE] [--timeout S] [-v]\n"
    "\n"
    "Fetches URL (http://HOST[:PORT][/PATH]) with HTTP/1.1 and prints the\n"
    "body to stdout, or writes it to FILE.\n"
    "\n"
    "  -o, --output FILE   write the body to FILE instead of stdout\n"
    "  -t, --timeout S     give up after S seconds in all (default 30)\n"
    "  -v, --verbose       print the request and response heads to stderr\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 for a 2xx response; 1 when the connection failed or\n"
    "timed out; 2 for a usage error; 3 for a malformed or truncated\n"
    "response; 4 for a status other than 2xx (the body is not written);\n"
    "5 when the output cannot be written.\n";

enum {
    EXIT_CONNECT = 1, EXIT_MALFORMED = 3, EXIT_STATUS = 4, EXIT_OUTPUT = 5,
};

typedef struct getter {
    weft_reactor *r;
    const char *url;
    char host[256];             /* as in the URL, brackets removed */
    int port;
    const char *path;           /* from the URL, "/" if none */
    char host_header[300];
    const char *out_path;       /* NULL: stdout */
    FILE *out;
    bool verbose;
    double timeout;
    weft_timer *timer;
    weft_conn *conn;
    int exit_code;              /* -1 while undecided */
    int status;
    char reason[64];            /* reason phrase of the final response */
    bool interim;               /* the current response is 1xx */
    bool has_length, chunked, body_wanted;
    uint64_t length;
} getter;

static getter G = {.exit_code = -1, .timeout = 30};

/* Records the outcome (the first one wins), prints why, stops the loop. */
static void finish(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void finish(int code, const char *fmt, ...)
{
    if (G.exit_code >= 0)
        return;
    G.exit_code = code;
    if (fmt) {
        va_list ap;
        char msg[512];
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        cli_error("%s", msg);
    }
    weft_timer_cancel(G.timer);
    G.timer = NULL;
    if (G.conn)
        weft_abort(G.conn);
    weft_reactor_stop(G.r);
}

static void fail_malformed(const char *what)
{
    finish(EXIT_MALFORMED, "%s: malformed response: %s", G.url, what);
}

static void write_body(const char *data, size_t len)
{
    if (!G.body_wanted || len == 0)
        return;
    if (fwrite(data, 1, len, G.out) != len)
        finish(EXIT_OUTPUT, "%s: %s", G.out_path ? G.out_path : "stdout",
               strerror(errno));
}

static void body_complete(void)
{
    if (G.exit_code >= 0)
        return;
    if (G.out && fflush(G.out) != 0) {
        finish(EXIT_OUTPUT, "%s: %s", G.out_path ? G.out_path : "stdout",
               strerror(errno));
        return;
    }
    if (G.status >= 200 && G.status <= 299)
        finish(0, NULL);
    else
        finish(EXIT_STATUS, "%s: server answered %d %s", G.url, G.status,
               G.reason);
}

/* ---- parser callbacks ----------------------------------------------------- */

static void on_connect(http_response_parser *p)
{
    weft_conn *c = http_response_conn(p);
    G.conn = c;
    weft_conn_set_user(c, &G);
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\n"
                     "User-Agent: weft-get/" WEFT_VERSION "\r\n"
                     "Accept: */*\r\nConnection: close\r\n\r\n",
                     G.path, G.host_header);
    if (n < 0 || (size_t)n >= sizeof req) {
        finish(2, "%s: URL too long", G.url);
        return;
    }
    if (G.verbose) {
        /* Every line of the head, without the final empty one. */
        for (const char *l = req; l < req + n - 2;) {
            const char *e = strstr(l, "\r\n");
            fprintf(stderr, "> %.*s\n", (int)(e - l), l);
            l = e + 2;
        }
    }
    weft_write(c, req, (size_t)n);
}

static void on_status_line(http_response_parser *p,
                           const http_response_status_line *m)
{
    G.status = (m->status.p[0] - '0') * 100 + (m->status.p[1] - '0') * 10 +
               (m->status.p[2] - '0');
    G.interim = G.status >= 100 && G.status <= 199;
    G.has_length = G.chunked = false;
    size_t rl = m->reason.p ? m->reason.len : 0;
    if (rl >= sizeof G.reason)
        rl = sizeof G.reason - 1;
    memcpy(G.reason, m->reason.p ? m->reason.p : "", rl);
    G.reason[rl] = '\0';
    if (G.verbose)
        fprintf(stderr, "< HTTP/1.%c %d %.*s\n", m->minor.p[0], G.status,
                m->reason.p ? (int)m->reason.len : 0,
                m->reason.p ? m->reason.p : "");
}

static bool span_is(weft_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p && s.len == n && strncasecmp(s.p, lit, n) == 0;
}

static void on_header(http_response_parser *p, const http_response_header *m)
{
    if (G.verbose)
        fprintf(stderr, "< %.*s: %.*s\n", (int)m->name.len, m->name.p,
                m->value.p ? (int)m->value.len : 0,
                m->value.p ? m->value.p : "");
    if (span_is(m->name, "content-length")) {
        uint64_t v = 0;
        if (!m->value.p || m->value.len == 0 || m->value.len > 18) {
            fail_malformed("bad Content-Length");
            return;
        }
        for (size_t i = 0; i < m->value.len; i++) {
            char ch = m->value.p[i];
            if (ch < '0' || ch > '9') {
                fail_malformed("bad Content-Length");
                return;
            }
            v = v * 10 + (uint64_t)(ch - '0');
        }
        if (G.has_length && v != G.length) {
            fail_malformed("conflicting Content-Length");
            return;
        }
        G.has_length = true;
        G.length = v;
    } else if (span_is(m->name, "transfer-encoding")) {
        if (span_is(m->value, "chunked"))
            G.chunked = true;
        else
            fail_malformed("unsupported Transfer-Encoding");
    }
}

static void on_header_empty(http_response_parser *p)
{
    if (G.verbose)
        fprintf(stderr, "<\n");
    if (G.interim) {
        http_response_set_mode(p, HTTP_RESPONSE_MODE_STATUS_LINE, 0);
        return;
    }
    G.body_wanted = G.status >= 200 && G.status <= 299;
    if (G.body_wanted && G.out_path && !G.out) {
        G.out = fopen(G.out_path, "wb");
        if (!G.out) {
            finish(EXIT_OUTPUT, "%s: %s", G.out_path, strerror(errno));
            return;
        }
    }
    if (G.status == 204 || G.status == 304) {
        body_complete();
    } else if (G.chunked) {
        http_response_set_mode(p, HTTP_RESPONSE_MODE_CHUNK_SIZE, 0);
    } else if (G.has_length) {
        if (G.length == 0)
            body_complete();
        else
            http_response_set_mode(p, HTTP_RESPONSE_MODE_BODY, G.length);
    } else {
        http_response_set_mode(p, HTTP_RESPONSE_MODE_REST, 0);
    }
}

static void on_data(http_response_parser *p, const char *data, size_t len)
{
    write_body(data, len);
}

static void on_data_end(http_response_parser *p)
{
    body_complete();
}

static void on_chunk_size(http_response_parser *p,
                          const http_response_chunk_size *m)
{
    const char *s = m->size.p;
    size_t n = m->size.len;
    while (n > 1 && *s == '0') {
        s++;
        n--;
    }
    if (n > 15) {
        fail_malformed("chunk size too large");
        return;
    }
    uint64_t size = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int d = ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
        size = size * 16 + (uint64_t)d;
    }
    if (size == 0)
        http_response_set_mode(p, HTTP_RESPONSE_MODE_TRAILER, 0);
    else
        http_response_set_mode(p, HTTP_RESPONSE_MODE_CHUNK_DATA, size);
}

static void on_chunk_data_end(http_response_parser *p)
{
    http_response_set_mode(p, HTTP_RESPONSE_MODE_CHUNK_SIZE, 0);
}

static void on_trailer(http_response_parser *p,
                       const http_response_trailer *m)
{
}

static void on_trailer_empty(http_response_parser *p)
{
    body_complete();
}

static void on_mismatch(http_response_parser *p, enum http_response_mode m,
                        const char *line, size_t len)
{
    switch (m) {
    case HTTP_RESPONSE_MODE_STATUS_LINE:
        fail_malformed("bad status line");
        break;
    case HTTP_RESPONSE_MODE_CHUNK_SIZE:
        fail_malformed("bad chunk size");
        break;
    case HTTP_RESPONSE_MODE_HEADER:
    case HTTP_RESPONSE_MODE_TRAILER:
        fail_malformed("bad header field");
        break;
    default:
        fail_malformed("chunk not followed by CRLF");
        break;
    }
}

static void on_line_too_long(http_response_parser *p,
                             enum http_response_mode m, const char *data,
                             size_t len)
{
    fail_malformed("line too long");
}

static void on_disconnect(http_response_parser *p, const weft_reason *r)
{
    G.conn = NULL;
    if (G.exit_code >= 0)
        return;
    if (r->code == WEFT_ETIMEDOUT)
        finish(EXIT_CONNECT, "%s: timed out", G.url);
    else if (r->code == WEFT_EPROTOCOL || r->code == WEFT_EDONE ||
             r->code == WEFT_ELOST)
        fail_malformed(G.status ? "connection closed before the body ended"
                                : "connection closed before a response");
    else
        fail_malformed(r->text);
}

static const http_response_callbacks callbacks = {
    .on_connect = on_connect,
    .on_status_line = on_status_line,
    .on_header = on_header,
    .on_header_empty = on_header_empty,
    .on_body = on_data,
    .on_body_end = on_data_end,
    .on_chunk_size = on_chunk_size,
    .on_chunk_data = on_data,
    .on_chunk_data_end = on_chunk_data_end,
    .on_trailer = on_trailer,
    .on_trailer_empty = on_trailer_empty,
    .on_rest = on_data,
    .on_rest_end = on_data_end,
    .on_mismatch = on_mismatch,
    .on_line_too_long = on_line_too_long,
    .on_disconnect = on_disconnect,
};

static void connection_failed(weft_factory *f, const weft_reason *r)
{
    finish(EXIT_CONNECT, "cannot connect to %s port %d: %s", G.host, G.port,
           r->text);
}

static void timed_out(void *arg)
{
    G.timer = NULL;
    finish(EXIT_CONNECT, "%s: timed out after %g s", G.url, G.timeout);
}

/* http://HOST[:PORT][/PATH]; HOST may be [IPv6]. */
static void parse_url(const char *url)
{
    if (strncasecmp(url, "http://", 7) != 0) {
        if (strstr(url, "://"))
            cli_usage_error("%s: only http:// URLs are supported", url);
        cli_usage_error("%s: not a URL (http://HOST[:PORT][/PATH])", url);
    }
    const char *h = url + 7, *end;
    const char *slash = strchr(h, '/');
    const char *auth_end = slash ? slash : h + strlen(h);
    const char *port = NULL;
    if (*h == '[') {
        end = memchr(h, ']', (size_t)(auth_end - h));
        if (!end)
            cli_usage_error("%s: unterminated [IPv6 address]", url);
        h++;
        if (end[1] == ':')
            port = end + 2;
        else if (end + 1 != auth_end)
            cli_usage_error("%s: bad host", url);
    } else {
        end = memchr(h, ':', (size_t)(auth_end - h));
        if (end)
            port = end + 1;
        else
            end = auth_end;
    }
    size_t hl = (size_t)(end - h);
    if (hl == 0 || hl >= sizeof G.host)
        cli_usage_error("%s: bad host", url);
    memcpy(G.host, h, hl);
    G.host[hl] = '\0';
    G.port = 80;
    if (port) {
        char *e;
        long v = strtol(port, &e, 10);
        if (e != auth_end || e == port || v < 1 || v > 65535)
            cli_usage_error("%s: bad port", url);
        G.port = (int)v;
    }
    G.path = slash ? slash : "/";
    const char *fmt = strchr(G.host, ':') ? "[%s]" : "%s";
    size_t n = (size_t)snprintf(G.host_header, sizeof G.host_header, fmt,
                                G.host);
    if (G.port != 80)
        snprintf(G.host_header + n, sizeof G.host_header - n, ":%d", G.port);
    G.url = url;
}

/* tcp:host=H:port=P:timeout=S with ':' and '\' in H escaped. */
static void client_endpoint(char *buf, size_t size)
{
    char esc[600];
    size_t o = 0;
    for (const char *s = G.host; *s && o + 2 < sizeof esc; s++) {
        if (*s == ':' || *s == '\\')
            esc[o++] = '\\';
        esc[o++] = *s;
    }
    esc[o] = '\0';
    snprintf(buf, size, "tcp:host=%s:port=%d:timeout=%g", esc, G.port,
             G.timeout);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"timeout", required_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    cli_init("weft-get", usage);
    /* getopt stops at the URL; options may come before or after it. */
    const char *url = NULL;
    int ch;
    for (;;) {
        while (optind < argc && argv[optind][0] != '-') {
            if (url)
                cli_usage_error("unexpected argument '%s'", argv[optind]);
            url = argv[optind++];
        }
        if (optind >= argc)
            break;
        opterr = 0;
        ch = getopt_long(argc, argv, "+:ho:t:v", opts, NULL);
        if (ch == -1)
            break;
        switch (ch) {
        case 'o': G.out_path = optarg; break;
        case 't':
            if (!cli_parse_seconds(optarg, &G.timeout) || G.timeout <= 0)
                cli_usage_error("--timeout wants seconds, not '%s'", optarg);
            break;
        case 'v': G.verbose = true; break;
        case 'h': cli_help();
        case ':': cli_usage_error("option '%s' needs an argument",
                                  argv[optind - 1]);
        default: cli_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!url)
        cli_usage_error("a URL is required");
    parse_url(url);
    if (!G.out_path)
        G.out = stdout;

    G.r = cli_reactor_new();
    weft_protocol proto;
    http_response_protocol_init(&proto, &callbacks, 0);
    static const weft_factory_hooks hooks = {
        .connection_failed = connection_failed,
    };
    weft_factory *f = weft_factory_new(G.r, &proto, &hooks, NULL);
    if (!f) {
        cli_error("out of memory");
        return EXIT_CONNECT;
    }
    char ep[800];
    client_endpoint(ep, sizeof ep);
    weft_error err = {0};
    if (!weft_connect(G.r, ep, f, &err)) {
        cli_error("%s", err.msg);
        weft_reactor_free(G.r);
        weft_factory_free(f);
        return CLI_EXIT_USAGE;
    }
    G.timer = weft_call_later(G.r, G.timeout, timed_out, NULL);
    int rc = weft_reactor_run(G.r);
    if (rc < 0 && G.exit_code < 0)
        finish(EXIT_CONNECT, "event loop failed: %s", weft_strerror(rc));
    if (G.exit_code < 0)
        G.exit_code = EXIT_MALFORMED;
    weft_timer_cancel(G.timer);
    weft_reactor_free(G.r);
    weft_factory_free(f);
    if (G.out && G.out != stdout && fclose(G.out) != 0 && G.exit_code == 0)
        G.exit_code = EXIT_OUTPUT;
    return G.exit_code;
}
