/* smtpd.c — RFC 5321 receiver sessions; see smtpd.h and docs/smtp.md.
 *
 * The generated parser (spec/smtp.weft) hands us command lines split into
 * verb and argument, and the message text in raw chunks.  A session is a
 * small state machine: no greeting answered yet, ready, inside a mail
 * transaction (MAIL seen), with recipients (RCPT seen), and receiving the
 * text.  Every reply goes through weft_write into the connection's output
 * buffer, which the runtime flushes when the current read has been parsed:
 * the replies to a pipelined batch leave in one write.
 */
#include "smtpd.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "msgbody.h"
#include "smtp.h"

/* RFC 5321 4.5.3.1.3: a path is at most 256 octets with its brackets. */
#define PATH_MAX_LEN 256
#define DOMAIN_MAX_LEN 255

enum phase {
    PHASE_CONNECTED,   /* greeted; no HELO/EHLO yet */
    PHASE_READY,       /* HELO/EHLO done, no transaction */
    PHASE_MAIL,        /* MAIL accepted */
    PHASE_RCPT,        /* at least one RCPT accepted */
    PHASE_DATA,        /* 354 sent; reading the message text */
};

typedef struct session {
    smtp_parser *p;
    smtpd_config *cfg;
    enum phase phase;
    bool esmtp;                       /* greeted with EHLO */
    char helo[DOMAIN_MAX_LEN + 1];    /* the client's name for itself */
    char from[PATH_MAX_LEN + 1];      /* reverse-path, brackets included */
    char rcpt1[PATH_MAX_LEN + 1];     /* first forward-path */
    unsigned nrcpt;
    msgbody body;                     /* the text being received */
    msgbody_endscan end;              /* first bytes after DATA */
    bool end_seen;                    /* endscan found the final "." */
    maildir_msg msg;
    weft_timer *timer;                /* command or data timeout */
    bool closing;
} session;

/* ---- replies and life cycle ---------------------------------------------- */

static session *sess(smtp_parser *p)
{
    return smtp_state(p);
}

static void reply(session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One reply line; the CRLF is added here. */
static void reply(session *s, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 3)
        n = sizeof line - 3;
    memcpy(line + n, "\r\n", 2);
    weft_write(smtp_conn(s->p), line, (size_t)n + 2);
}

/* Output flow control.  A client that pipelines commands without reading
 * the replies would grow our output buffer without end, so a producer,
 * registered at connect, stops reading its commands once more than
 * SMTPD_OUTPUT_HIGH bytes wait to be sent (right after the reply that
 * crossed the mark) and reads again below SMTPD_OUTPUT_LOW. */
#define SMTPD_OUTPUT_HIGH (64 * 1024)
#define SMTPD_OUTPUT_LOW (16 * 1024)

static void producer_pause(weft_conn *c, void *arg)
{
    session *s = arg;
    smtp_pause(s->p);
}

static void producer_resume(weft_conn *c, void *arg)
{
    session *s = arg;
    smtp_resume(s->p);
}

static const weft_producer reply_producer = {
    .pause_producing = producer_pause,
    .resume_producing = producer_resume,
};

static void abandon_message(session *s)
{
    if (maildir_msg_open(&s->msg))
        maildir_msg_abort(&s->msg);
}

/* Flushes the replies written so far, then closes. */
static void session_close(session *s)
{
    weft_conn *c = smtp_conn(s->p);
    if (s->closing)
        return;
    s->closing = true;
    weft_timer_cancel(s->timer);
    s->timer = NULL;
    abandon_message(s);
    weft_close(c);
}

static void on_timeout(void *arg)
{
    session *s = arg;
    s->timer = NULL;
    reply(s, "421 %s Timeout waiting for client input, closing connection",
          s->cfg->hostname);
    session_close(s);
}

/* (Re)starts the timeout for what we wait for now. */
static void arm_timer(session *s, double seconds)
{
    if (seconds <= 0) {
        weft_timer_cancel(s->timer);
        s->timer = NULL;
    } else if (s->timer)
        weft_timer_reset(s->timer, seconds);
    else
        s->timer = weft_call_later(weft_conn_reactor(smtp_conn(s->p)),
                                   seconds, on_timeout, s);
}

static void reset_transaction(session *s)
{
    abandon_message(s);
    s->phase = s->phase == PHASE_CONNECTED ? PHASE_CONNECTED : PHASE_READY;
    s->from[0] = s->rcpt1[0] = '\0';
    s->nrcpt = 0;
}

/* ---- argument parsing --------------------------------------------------- */

/* A cursor over the argument span. */
typedef struct args {
    const char *p, *end;
} args;

/* (NULL + 0 is undefined behaviour in C, so an absent span is "".) */
static args args_of(const weft_span *s)
{
    static const char none[1] = "";
    args a = {none, none};
    if (s->p) {
        a.p = s->p;
        a.end = s->p + s->len;
    }
    return a;
}

static bool at_end(const args *a)
{
    return a->p >= a->end;
}

/* Consumes `word` case-insensitively if it is next. */
static bool eat(args *a, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(a->end - a->p) < n || strncasecmp(a->p, word, n) != 0)
        return false;
    a->p += n;
    return true;
}

static void skip_spaces(args *a)
{
    while (!at_end(a) && *a->p == ' ')
        a->p++;
}

/* "<" path ">" into out (brackets kept).  Accepts a quoted local part and
 * a source route, which RFC 5321 4.1.2 still allows; refuses spaces outside
 * quotes, 8-bit octets (no SMTPUTF8) and control characters.  A mailbox
 * needs "@domain" unless `bare_ok` (RCPT TO:<postmaster>).  "<>" only if
 * `empty_ok`. */
static bool parse_path(args *a, char *out, bool empty_ok, bool bare_ok)
{
    const char *start = a->p, *at = NULL;   /* the mailbox's "@" */
    bool quoted = false;
    if (at_end(a) || *a->p != '<')
        return false;
    for (a->p++; !at_end(a); a->p++) {
        unsigned char c = (unsigned char)*a->p;
        if (c < 0x21 && !(quoted && c == ' '))
            return false;
        if (c >= 0x7f)
            return false;
        if (c == '"')
            quoted = !quoted;
        else if (c == '\\' && quoted && a->p + 1 < a->end)
            a->p++;
        else if (!quoted && c == '@' && a->p > start + 1)
            at = a->p;        /* "<@relay:...>" starts a route, not this */
        else if (!quoted && c == ':')
            at = NULL;        /* after a source route comes the mailbox */
        else if (!quoted && (c == '<' || c == '>'))
            break;
    }
    if (at_end(a) || *a->p != '>' || (at && a->p == at + 1))
        return false;         /* unclosed, or "local@" without a domain */
    a->p++;
    size_t len = (size_t)(a->p - start);
    if (len > PATH_MAX_LEN)
        return false;
    if (len == 2) {
        if (!empty_ok)
            return false;
    } else if (!at && !(bare_ok && len == 12 &&
                        strncasecmp(start, "<postmaster>", 12) == 0))
        return false;
    memcpy(out, start, len);
    out[len] = '\0';
    return true;
}

/* One " KEYWORD[=VALUE]" ESMTP parameter (RFC 5321 4.1.2). */
typedef struct param {
    const char *key, *val;
    size_t key_len, val_len;
} param;

static bool next_param(args *a, param *pm, bool *bad)
{
    *bad = false;
    if (at_end(a))
        return false;
    if (*a->p != ' ') {
        *bad = true;
        return false;
    }
    skip_spaces(a);
    if (at_end(a))
        return false;    /* trailing spaces are tolerated */
    pm->key = a->p;
    while (!at_end(a) && (isalnum((unsigned char)*a->p) || *a->p == '-'))
        a->p++;
    pm->key_len = (size_t)(a->p - pm->key);
    pm->val = NULL;
    pm->val_len = 0;
    if (!at_end(a) && *a->p == '=') {
        pm->val = ++a->p;
        while (!at_end(a) && *a->p > ' ' && *a->p < 0x7f && *a->p != '=')
            a->p++;
        pm->val_len = (size_t)(a->p - pm->val);
    }
    if (pm->key_len == 0 || (pm->val && pm->val_len == 0) ||
        (!at_end(a) && *a->p != ' ')) {
        *bad = true;
        return false;
    }
    return true;
}

static bool param_is(const param *pm, const char *key)
{
    return pm->key_len == strlen(key) &&
           strncasecmp(pm->key, key, pm->key_len) == 0;
}

static bool val_is(const param *pm, const char *val)
{
    return pm->val && pm->val_len == strlen(val) &&
           strncasecmp(pm->val, val, pm->val_len) == 0;
}

/* A decimal SIZE value; false if malformed or absurd (over 20 digits). */
static bool parse_size(const param *pm, uint64_t *out)
{
    uint64_t v = 0;
    if (!pm->val || pm->val_len == 0 || pm->val_len > 19)
        return false;
    for (size_t i = 0; i < pm->val_len; i++) {
        if (!isdigit((unsigned char)pm->val[i]))
            return false;
        v = v * 10 + (uint64_t)(pm->val[i] - '0');
    }
    *out = v;
    return true;
}

/* ---- commands ------------------------------------------------------------------ */

static void greet(session *s, const weft_span *arg, bool esmtp)
{
    const char *name = arg->p;
    size_t len = arg->len;
    while (len > 0 && name[len - 1] == ' ')
        len--;
    if (!name || len == 0 || len > DOMAIN_MAX_LEN || memchr(name, ' ', len)) {
        reply(s, "501 Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
        return;
    }
    memcpy(s->helo, name, len);
    s->helo[len] = '\0';
    s->esmtp = esmtp;
    s->phase = PHASE_READY;
    reset_transaction(s);
    if (!esmtp) {
        reply(s, "250 %s Hello %s", s->cfg->hostname, s->helo);
        return;
    }
    char size[40] = "";
    if (s->cfg->max_size)
        snprintf(size, sizeof size, " %llu",
                 (unsigned long long)s->cfg->max_size);
    weft_printf(smtp_conn(s->p),
                "250-%s Hello %s\r\n"
                "250-PIPELINING\r\n"
                "250-SIZE%s\r\n"
                "250 8BITMIME\r\n",
                s->cfg->hostname, s->helo, size);
}

static void cmd_helo(session *s, const weft_span *arg)
{
    greet(s, arg, false);
}

static void cmd_ehlo(session *s, const weft_span *arg)
{
    greet(s, arg, true);
}

static void cmd_mail(session *s, const weft_span *arg)
{
    args a = args_of(arg);
    param pm;
    bool bad;
    uint64_t size = 0;

    if (s->phase == PHASE_CONNECTED) {
        reply(s, "503 Error: send HELO/EHLO first");
        return;
    }
    if (s->phase != PHASE_READY) {
        reply(s, "503 Error: nested MAIL command");
        return;
    }
    char from[PATH_MAX_LEN + 1];
    if (!arg->p || !eat(&a, "FROM:")) {
        reply(s, "501 Syntax: MAIL FROM:<address>");
        return;
    }
    skip_spaces(&a);
    if (!parse_path(&a, from, true, false)) {
        reply(s, "501 Syntax: MAIL FROM:<address>");
        return;
    }
    while (next_param(&a, &pm, &bad)) {
        if (!s->esmtp) {
            reply(s, "555 MAIL FROM parameters need EHLO");
            return;
        }
        if (param_is(&pm, "SIZE")) {
            if (!parse_size(&pm, &size)) {
                reply(s, "501 Syntax: SIZE=<number>");
                return;
            }
        } else if (param_is(&pm, "BODY")) {
            if (!val_is(&pm, "7BIT") && !val_is(&pm, "8BITMIME")) {
                reply(s, "501 Syntax: BODY=7BIT or BODY=8BITMIME");
                return;
            }
        } else {
            reply(s, "555 MAIL FROM parameter not recognized or not "
                     "implemented");
            return;
        }
    }
    if (bad) {
        reply(s, "501 Syntax: MAIL FROM:<address> [SIZE=n] [BODY=8BITMIME]");
        return;
    }
    if (s->cfg->max_size && size > s->cfg->max_size) {
        reply(s, "552 Message size exceeds fixed maximum message size");
        return;
    }
    strcpy(s->from, from);
    s->phase = PHASE_MAIL;
    reply(s, "250 OK");
}

static void cmd_rcpt(session *s, const weft_span *arg)
{
    args a = args_of(arg);
    param pm;
    bool bad;

    if (s->phase != PHASE_MAIL && s->phase != PHASE_RCPT) {
        reply(s, "503 Error: need MAIL command");
        return;
    }
    char to[PATH_MAX_LEN + 1];
    if (!arg->p || !eat(&a, "TO:")) {
        reply(s, "501 Syntax: RCPT TO:<address>");
        return;
    }
    skip_spaces(&a);
    if (!parse_path(&a, to, false, true)) {
        reply(s, "501 Syntax: RCPT TO:<address>");
        return;
    }
    if (next_param(&a, &pm, &bad)) {
        reply(s, "555 RCPT TO parameters not recognized or not implemented");
        return;
    }
    if (bad) {
        reply(s, "501 Syntax: RCPT TO:<address>");
        return;
    }
    if (s->nrcpt >= s->cfg->max_rcpts) {
        reply(s, "452 Too many recipients");
        return;
    }
    if (s->nrcpt++ == 0)
        strcpy(s->rcpt1, to);
    s->phase = PHASE_RCPT;
    reply(s, "250 OK");
}

static void cmd_rset(session *s, const weft_span *arg)
{
    if (arg->p) {
        reply(s, "501 Syntax: RSET");
        return;
    }
    reset_transaction(s);
    reply(s, "250 OK");
}

static void cmd_noop(session *s, const weft_span *arg)
{
    reply(s, "250 OK");    /* RFC 5321 4.1.1.9: a parameter is ignored */
}

static void cmd_vrfy(session *s, const weft_span *arg)
{
    if (!arg->p || arg->len == 0) {
        reply(s, "501 Syntax: VRFY address");
        return;
    }
    reply(s, "252 Cannot VRFY user, but will accept message and attempt "
             "delivery");
}

static void cmd_expn(session *s, const weft_span *arg)
{
    reply(s, "502 Command not implemented");
}

static void cmd_help(session *s, const weft_span *arg)
{
    reply(s, "214 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY");
}

static void cmd_quit(session *s, const weft_span *arg)
{
    if (arg->p) {
        reply(s, "501 Syntax: QUIT");
        return;
    }
    reply(s, "221 %s closing connection", s->cfg->hostname);
    session_close(s);
}

/* The peer address as "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321
 * 4.1.3 address literals). */
static void peer_literal(session *s, char *out, size_t size)
{
    socklen_t len = 0;
    const struct sockaddr *sa = weft_conn_peer(smtp_conn(s->p), &len);
    char ip[INET6_ADDRSTRLEN] = "";
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip,
                  sizeof ip);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
                  ip, sizeof ip);
    if (!ip[0])
        snprintf(out, size, "unknown");
    else
        snprintf(out, size, "[%s%s]",
                 sa->sa_family == AF_INET6 ? "IPv6:" : "", ip);
}

/* Return-Path (RFC 5321 4.4) and Received (RFC 5321 4.4, RFC 5322 3.6.7)
 * trace headers, with LF line ends like the rest of the stored text. */
static int write_trace(session *s)
{
    char peer[80], date[64], head[1400];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
    peer_literal(s, peer, sizeof peer);
    int n = snprintf(head, sizeof head,
                     "Return-Path: %s\n"
                     "Received: from %s (%s)\n"
                     "\tby %s (weft-smtpd) with %s id %s%s%s;\n"
                     "\t%s\n",
                     s->from, s->helo, peer, s->cfg->hostname,
                     s->esmtp ? "ESMTP" : "SMTP", s->msg.name,
                     s->nrcpt == 1 ? "\n\tfor " : "",
                     s->nrcpt == 1 ? s->rcpt1 : "", date);
    if (n < 0 || (size_t)n >= sizeof head)
        return -1;
    return maildir_msg_write(&s->msg, head, (size_t)n);
}

static int body_sink(void *arg, const char *data, size_t len)
{
    return maildir_msg_write(arg, data, len);
}

static void cmd_data(session *s, const weft_span *arg)
{
    if (s->phase == PHASE_CONNECTED || s->phase == PHASE_READY) {
        reply(s, "503 Error: need MAIL command");
        return;
    }
    if (s->phase == PHASE_MAIL) {
        reply(s, "503 Error: need RCPT command");
        return;
    }
    if (arg->p) {
        reply(s, "501 Syntax: DATA");
        return;
    }
    if (maildir_msg_begin(s->cfg->md, &s->msg) != 0 || write_trace(s) != 0) {
        abandon_message(s);
        reply(s, "451 Requested action aborted: local error in processing");
        return;
    }
    msgbody_init(&s->body, s->cfg->max_size, body_sink, &s->msg);
    msgbody_endscan_init(&s->end);
    s->end_seen = false;
    s->phase = PHASE_DATA;
    reply(s, "354 End data with <CR><LF>.<CR><LF>");
    smtp_set_mode(s->p, SMTP_MODE_DATA_START,
                  (uint64_t)msgbody_endscan_need(&s->end));
    arm_timer(s, s->cfg->data_timeout);
}

typedef void (*command_fn)(session *s, const weft_span *arg);

static const struct command {
    const char *verb;
    command_fn fn;
} commands[] = {
    {"HELO", cmd_helo}, {"EHLO", cmd_ehlo}, {"MAIL", cmd_mail},
    {"RCPT", cmd_rcpt}, {"DATA", cmd_data}, {"RSET", cmd_rset},
    {"NOOP", cmd_noop}, {"QUIT", cmd_quit}, {"VRFY", cmd_vrfy},
    {"EXPN", cmd_expn}, {"HELP", cmd_help},
};

static void on_command(smtp_parser *p, const smtp_command *m)
{
    session *s = sess(p);
    arm_timer(s, s->cfg->command_timeout);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (m->verb.len == 4 &&
            strncasecmp(m->verb.p, commands[i].verb, 4) == 0) {
            commands[i].fn(s, &m->arg);
            return;
        }
    }
    reply(s, "500 Error: command not recognized");
}

/* ---- the message text ------------------------------------------------------- */

static void finish_message(session *s)
{
    enum msgbody_status st = msgbody_finish(&s->body);
    int rc;
    switch (st) {
    case MSGBODY_OK:
        if ((rc = maildir_msg_commit(&s->msg)) == 0)
            reply(s, "250 OK: queued as %s", s->msg.name);
        else
            reply(s, "451 Requested action aborted: local error in "
                     "processing");
        break;
    case MSGBODY_LINE_TOO_LONG:
        reply(s, "500 Line too long (over 1000 octets); message refused");
        break;
    case MSGBODY_TOO_BIG:
        reply(s, "552 Message size exceeds fixed maximum message size");
        break;
    case MSGBODY_SINK_FAILED:
        reply(s, "451 Requested action aborted: local error in processing");
        break;
    }
    s->phase = PHASE_READY;
    reset_transaction(s);
    smtp_set_mode(s->p, SMTP_MODE_COMMAND, 0);
    arm_timer(s, s->cfg->command_timeout);
}

/* data_start delivers at most as many bytes as the end mark could still
 * need, so the mark can only complete at the last of them. */
static void on_data_start(smtp_parser *p, const char *data, size_t len)
{
    session *s = sess(p);
    bool done = false;
    msgbody_endscan_feed(&s->end, &s->body, data, len, &done);
    s->end_seen = s->end_seen || done;
}

static void on_data_start_end(smtp_parser *p)
{
    session *s = sess(p);
    if (s->end_seen)
        finish_message(s);
    else if (msgbody_endscan_clear(&s->end))
        smtp_set_mode(p, SMTP_MODE_DATA, 0);
    else
        smtp_set_mode(p, SMTP_MODE_DATA_START,
                      (uint64_t)msgbody_endscan_need(&s->end));
    if (s->phase == PHASE_DATA)
        arm_timer(s, s->cfg->data_timeout);
}

static void on_data(smtp_parser *p, const char *data, size_t len)
{
    session *s = sess(p);
    msgbody_write(&s->body, data, len);
    arm_timer(s, s->cfg->data_timeout);
}

/* The mark "\r\n.\r\n" was consumed; its CRLF ended the last line. */
static void on_data_end(smtp_parser *p)
{
    session *s = sess(p);
    msgbody_write(&s->body, "\r\n", 2);
    finish_message(s);
}

/* ---- errors and the connection ---------------------------------------------------- */

static void on_mismatch(smtp_parser *p, enum smtp_mode m, const char *line,
                        size_t len)
{
    session *s = sess(p);
    arm_timer(s, s->cfg->command_timeout);
    reply(s, "500 Error: command not recognized");
}

/* A command line over 512 octets: 500, and the driver drops the rest of
 * the line and goes on with the next.  In `data` this is the spec's
 * backstop cap on the block (far above any --max-size): the driver drops
 * the rest of the text and ends the block at the mark, where the message
 * is refused as too big. */
static void on_line_too_long(smtp_parser *p, enum smtp_mode m,
                             const char *data, size_t len)
{
    session *s = sess(p);
    if (m == SMTP_MODE_DATA)
        msgbody_refuse(&s->body, MSGBODY_TOO_BIG);
    else
        reply(s, "500 Line too long");
}

static void on_connect(smtp_parser *p)
{
    session *s = sess(p);
    weft_conn *c = smtp_conn(p);
    s->p = p;
    s->cfg = weft_factory_user(weft_conn_factory(c));
    s->msg.fd = -1;
    weft_conn_set_watermarks(c, SMTPD_OUTPUT_HIGH, SMTPD_OUTPUT_LOW);
    weft_conn_set_producer(c, &reply_producer, s);
    reply(s, "220 %s ESMTP weft-smtpd ready", s->cfg->hostname);
    arm_timer(s, s->cfg->command_timeout);
}

/* A connection lost before the final "." leaves nothing in new/, and its
 * file in tmp/ is removed. */
static void on_disconnect(smtp_parser *p, const weft_reason *r)
{
    session *s = sess(p);
    weft_timer_cancel(s->timer);
    s->timer = NULL;
    abandon_message(s);
}

static const smtp_callbacks callbacks = {
    .on_connect = on_connect,
    .on_command = on_command,
    .on_data_start = on_data_start,
    .on_data_start_end = on_data_start_end,
    .on_data = on_data,
    .on_data_end = on_data_end,
    .on_mismatch = on_mismatch,
    .on_line_too_long = on_line_too_long,
    .on_disconnect = on_disconnect,
};

void smtpd_config_defaults(smtpd_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_size = SMTPD_MAX_SIZE;
    cfg->max_rcpts = SMTPD_MAX_RCPTS;
    cfg->command_timeout = SMTPD_COMMAND_TIMEOUT;
    cfg->data_timeout = SMTPD_DATA_TIMEOUT;
}

void smtpd_protocol_init(weft_protocol *proto)
{
    smtp_protocol_init(proto, &callbacks, sizeof(session));
}
