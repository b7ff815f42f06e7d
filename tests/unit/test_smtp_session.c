/* test_smtp_session.c — whole weft-smtpd sessions (examples/smtpd/smtpd.c
 * on the parser generated from spec/smtp.weft) over the in-memory
 * transport, with a manual clock for the timeouts.
 *
 * Each transcript is fed whole, cut at every offset and one byte at a time;
 * the replies and the maildir must not depend on the cuts.  That covers the
 * end-of-data mark "\r\n.\r\n" split at every offset, the empty message
 * whose mark begins with the CRLF of the DATA line, and pipelined batches.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../examples/smtpd/maildir.h"
#include "../../examples/smtpd/smtpd.h"
#include "weft.h"

typedef struct fixture {
    char dir[64];
    maildir md;
    smtpd_config cfg;
    weft_protocol proto;
    weft_reactor *r;
    weft_factory *f;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    strcpy(fx->dir, "/tmp/weft-test-smtpd-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    assert_int_equal(maildir_open(&fx->md, fx->dir, "mx.test"), 0);
    maildir_set_fsync(&fx->md, false);
    smtpd_config_defaults(&fx->cfg);
    fx->cfg.md = &fx->md;
    fx->cfg.hostname = "mx.test";
    fx->cfg.max_size = 1000;
    fx->cfg.max_rcpts = 5;
    fx->cfg.command_timeout = 300;
    fx->cfg.data_timeout = 60;
    smtpd_protocol_init(&fx->proto);
    fx->r = weft_reactor_new_manual();
    assert_non_null(fx->r);
    fx->f = weft_factory_new(fx->r, &fx->proto, NULL, &fx->cfg);
    assert_non_null(fx->f);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    char cmd[128];
    assert_int_equal(weft_factory_conn_count(fx->f), 0);
    weft_factory_free(fx->f);
    weft_reactor_free(fx->r);
    maildir_close(&fx->md);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* ---- helpers ----------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Names of the files in DIR/sub (at most 16), sorted; returns the count. */
static int list_dir(fixture *fx, const char *sub, char names[][256])
{
    char path[256];
    int n = 0;
    snprintf(path, sizeof path, "%s/%s", fx->dir, sub);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        assert_true(n < 16);
        snprintf(names[n++], 256, "%s", de->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, 256, cmp_names);
    return n;
}

static void clear_dir(fixture *fx, const char *sub)
{
    char names[16][256], path[4200];
    int n = list_dir(fx, sub, names);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s/%s", fx->dir, sub, names[i]);
        assert_int_equal(unlink(path), 0);
    }
}

static char *slurp(fixture *fx, const char *sub, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s/%s", fx->dir, sub, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 16);
    fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    return buf;
}

/* The stored text after the trace headers (Return-Path, Received and its
 * continuation lines), checking those headers on the way. */
static const char *after_trace(const char *msg, const char *from)
{
    char want[300];
    snprintf(want, sizeof want, "Return-Path: %s\nReceived: from ", from);
    assert_memory_equal(msg, want, strlen(want));
    const char *p = strchr(msg, '\n') + 1;   /* Received: */
    assert_non_null(strstr(p, "\n\tby mx.test (weft-smtpd) with "));
    do {
        p = strchr(p, '\n') + 1;
    } while (*p == '\t');
    return p;
}

/* Replaces "queued as NAME" by "queued as X" so transcripts can be
 * compared; returns a malloc'ed copy. */
static char *normalize(const char *out)
{
    char *s = strdup(out), *q = s;
    while ((q = strstr(q, "queued as ")) != NULL) {
        q += 10;
        char *end = strstr(q, "\r\n");
        assert_non_null(end);
        memmove(q + 1, end, strlen(end) + 1);
        *q = 'X';
    }
    return s;
}

/* Runs one session: in[] cut at the sorted offsets cuts[0..ncuts), then
 * (if eof) the peer's EOF.  Returns the normalized output; the connection
 * is freed. */
static char *run(fixture *fx, const char *in, size_t len, const size_t *cuts,
                 size_t ncuts, bool eof)
{
    weft_conn *c = weft_memconn_new(fx->f);
    assert_non_null(c);
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        if (end > at)
            weft_memconn_receive(c, in + at, end - at);
        at = end;
    }
    if (eof && !weft_memconn_closed(c))
        weft_memconn_eof(c);
    char *out = normalize(weft_memconn_written(c, NULL));
    weft_memconn_free(c);
    return out;
}

/* Feeds `in` whole, at every single cut and byte by byte; every run must
 * answer `want` and leave `nmsgs` messages in new/ (checked by `check`,
 * then removed) and none in tmp/. */
static void transcript(fixture *fx, const char *in, const char *want,
                       int nmsgs, void (*check)(fixture *, char **, int))
{
    size_t len = strlen(in);
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    char names[16][256], tmpnames[16][256];
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    /* run -1: whole; 0..len: one cut; len+1: byte by byte */
    for (size_t k = 0; k <= len + 2; k++) {
        char *out;
        if (k == 0)
            out = run(fx, in, len, NULL, 0, true);
        else if (k <= len + 1) {
            size_t cut = k - 1;
            out = run(fx, in, len, &cut, 1, true);
        } else
            out = run(fx, in, len, cuts, len ? len - 1 : 0, true);
        if (strcmp(out, want) != 0)
            fail_msg("split %zu of %zu: got\n%s\nwant\n%s", k, len + 2, out,
                     want);
        free(out);
        int n = list_dir(fx, "new", names);
        assert_int_equal(n, nmsgs);
        assert_int_equal(list_dir(fx, "tmp", tmpnames), 0);
        if (check && n > 0) {
            char *msgs[16];
            for (int i = 0; i < n; i++)
                msgs[i] = slurp(fx, "new", names[i]);
            check(fx, msgs, n);
            for (int i = 0; i < n; i++)
                free(msgs[i]);
        }
        clear_dir(fx, "new");
    }
    free(cuts);
}

#define GREETING "220 mx.test ESMTP weft-smtpd ready\r\n"
#define EHLO_REPLY                                                            \
    "250-mx.test Hello client.test\r\n250-PIPELINING\r\n"                     \
    "250-SIZE 1000\r\n250 8BITMIME\r\n"

/* ---- whole transactions ------------------------------------------------------- */

static void check_simple(fixture *fx, char **msgs, int n)
{
    assert_string_equal(after_trace(msgs[0], "<a@x.test>"),
                        "Subject: hi\n\nhello\n");
    assert_non_null(strstr(msgs[0], "\tfor <b@y.test>;"));
}

static void simple_message(void **state)
{
    transcript(*state,
               "EHLO client.test\r\n"
               "MAIL FROM:<a@x.test>\r\n"
               "RCPT TO:<b@y.test>\r\n"
               "DATA\r\n"
               "Subject: hi\r\n\r\nhello\r\n.\r\n"
               "QUIT\r\n",
               GREETING EHLO_REPLY
               "250 OK\r\n250 OK\r\n"
               "354 End data with <CR><LF>.<CR><LF>\r\n"
               "250 OK: queued as X\r\n"
               "221 mx.test closing connection\r\n",
               1, check_simple);
}

static void check_empty(fixture *fx, char **msgs, int n)
{
    assert_string_equal(after_trace(msgs[0], "<>"), "");
}

/* ".\r\n" right after DATA: the CRLF of the DATA line starts the mark. */
static void empty_message(void **state)
{
    transcript(*state,
               "HELO client.test\r\n"
               "MAIL FROM:<>\r\n"
               "RCPT TO:<postmaster>\r\n"
               "DATA\r\n.\r\nNOOP\r\n",
               GREETING
               "250 mx.test Hello client.test\r\n"
               "250 OK\r\n250 OK\r\n"
               "354 End data with <CR><LF>.<CR><LF>\r\n"
               "250 OK: queued as X\r\n250 OK\r\n",
               1, check_empty);
}

static void check_stuffed(fixture *fx, char **msgs, int n)
{
    assert_string_equal(after_trace(msgs[0], "<a@x.test>"),
                        ".\n..two\n\n.x\nend.\n");
}

/* Dot-stuffing undone: ".." at a line start is ".", also on the first
 * line, where the mark check and the stuffing meet. */
static void dot_stuffing(void **state)
{
    transcript(*state,
               "EHLO client.test\r\n"
               "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n"
               "..\r\n...two\r\n\r\n..x\r\nend.\r\n.\r\n",
               GREETING EHLO_REPLY "250 OK\r\n250 OK\r\n"
               "354 End data with <CR><LF>.<CR><LF>\r\n"
               "250 OK: queued as X\r\n",
               1, check_stuffed);
}

static void check_two(fixture *fx, char **msgs, int n)
{
    /* Names sort by time, then pid, then counter; the bodies tell which. */
    int one = strstr(msgs[0], "first") ? 0 : 1;
    assert_string_equal(after_trace(msgs[one], "<a@x.test>"), "first\n");
    assert_string_equal(after_trace(msgs[1 - one], "<c@x.test>"),
                        "\nsecond\n");
    /* Two recipients: no "for" clause. */
    assert_null(strstr(msgs[1 - one], "\tfor "));
}

/* Two transactions on one connection, pipelined as one batch after EHLO
 * (RFC 2920: MAIL, RCPT may be batched; DATA ends a batch). */
static void pipelined_transactions(void **state)
{
    transcript(*state,
               "EHLO client.test\r\n"
               "MAIL FROM:<a@x.test> SIZE=6 BODY=8BITMIME\r\n"
               "RCPT TO:<b@y.test>\r\nDATA\r\nfirst\r\n.\r\n"
               "MAIL FROM:<c@x.test>\r\nRCPT TO:<b@y.test>\r\n"
               "RCPT TO:<d@y.test>\r\nDATA\r\n\r\nsecond\r\n.\r\nQUIT\r\n",
               GREETING EHLO_REPLY "250 OK\r\n250 OK\r\n"
               "354 End data with <CR><LF>.<CR><LF>\r\n"
               "250 OK: queued as X\r\n"
               "250 OK\r\n250 OK\r\n250 OK\r\n"
               "354 End data with <CR><LF>.<CR><LF>\r\n"
               "250 OK: queued as X\r\n"
               "221 mx.test closing connection\r\n",
               2, check_two);
}

static void check_8bit(fixture *fx, char **msgs, int n)
{
    assert_string_equal(after_trace(msgs[0], "<a@x.test>"),
                        "caf\xc3\xa9 \xff\x01\rx\n");
}

static void eight_bit_and_bare_cr(void **state)
{
    transcript(*state,
               "EHLO client.test\r\nMAIL FROM:<a@x.test>\r\n"
               "RCPT TO:<b@y.test>\r\nDATA\r\n"
               "caf\xc3\xa9 \xff\x01\rx\r\n.\r\n",
               GREETING EHLO_REPLY "250 OK\r\n250 OK\r\n"
               "354 End data with <CR><LF>.<CR><LF>\r\n"
               "250 OK: queued as X\r\n",
               1, check_8bit);
}

/* ---- bad input ----------------------------------------------------------------- */

static void out_of_sequence(void **state)
{
    transcript(*state,
               "MAIL FROM:<a@x.test>\r\n"     /* before HELO */
               "RCPT TO:<b@y.test>\r\n"
               "DATA\r\n"
               "HELO client.test\r\n"
               "RCPT TO:<b@y.test>\r\n"       /* before MAIL */
               "DATA\r\n"
               "MAIL FROM:<a@x.test>\r\n"
               "MAIL FROM:<a@x.test>\r\n"     /* nested */
               "DATA\r\n"                     /* before RCPT */
               "RSET\r\n"
               "RCPT TO:<b@y.test>\r\n",      /* RSET ended the transaction */
               GREETING
               "503 Error: send HELO/EHLO first\r\n"
               "503 Error: need MAIL command\r\n"
               "503 Error: need MAIL command\r\n"
               "250 mx.test Hello client.test\r\n"
               "503 Error: need MAIL command\r\n"
               "503 Error: need MAIL command\r\n"
               "250 OK\r\n"
               "503 Error: nested MAIL command\r\n"
               "503 Error: need RCPT command\r\n"
               "250 OK\r\n"
               "503 Error: need MAIL command\r\n",
               0, NULL);
}

static void unknown_and_syntax(void **state)
{
    transcript(*state,
               "EHLO client.test\r\n"
               "FOO bar\r\n"                  /* unknown verb */
               "\r\n"                         /* empty line: no verb */
               " NOOP\r\n"                    /* leading space */
               "NO\tOP\r\n"                   /* control character */
               "EXPN list\r\n"
               "HELO\r\n"                     /* missing argument */
               "MAIL TO:<a@x.test>\r\n"
               "MAIL FROM:a@x.test\r\n"       /* no brackets */
               "MAIL FROM:<a@x.test\r\n"
               "MAIL FROM:<a b@x.test>\r\n"
               "MAIL FROM:<a@>\r\n"
               "MAIL FROM:<a@x.test> SIZE=abc\r\n"
               "MAIL FROM:<a@x.test> FOO=1\r\n"
               "MAIL FROM:<a@x.test> BODY=9BIT\r\n"
               "mail from: <a@x.test>\r\n"    /* case, space: accepted */
               "RCPT TO:<nodomain>\r\n"
               "RCPT TO:<@relay.test:c@y.test>\r\n" /* a source route */
               "RCPT TO:<\"a b\"@y.test>\r\n"      /* quoted local part */
               "RCPT TO:<>\r\n"
               "RCPT TO:<b@y.test> NOTIFY=NEVER\r\n"
               "RCPT TO:<b@y.test>\r\n"
               "DATA now\r\n"
               "RSET x\r\n"
               "QUIT now\r\n"
               "VRFY\r\n"
               "VRFY someone\r\n"
               "NOOP anything\r\n"
               "HELP\r\n",
               GREETING EHLO_REPLY
               "500 Error: command not recognized\r\n"
               "500 Error: command not recognized\r\n"
               "500 Error: command not recognized\r\n"
               "500 Error: command not recognized\r\n"
               "502 Command not implemented\r\n"
               "501 Syntax: HELO hostname\r\n"
               "501 Syntax: MAIL FROM:<address>\r\n"
               "501 Syntax: MAIL FROM:<address>\r\n"
               "501 Syntax: MAIL FROM:<address>\r\n"
               "501 Syntax: MAIL FROM:<address>\r\n"
               "501 Syntax: MAIL FROM:<address>\r\n"
               "501 Syntax: SIZE=<number>\r\n"
               "555 MAIL FROM parameter not recognized or not implemented\r\n"
               "501 Syntax: BODY=7BIT or BODY=8BITMIME\r\n"
               "250 OK\r\n"
               "501 Syntax: RCPT TO:<address>\r\n"
               "250 OK\r\n250 OK\r\n"
               "501 Syntax: RCPT TO:<address>\r\n"
               "555 RCPT TO parameters not recognized or not implemented\r\n"
               "250 OK\r\n"
               "501 Syntax: DATA\r\n"
               "501 Syntax: RSET\r\n"
               "501 Syntax: QUIT\r\n"
               "501 Syntax: VRFY address\r\n"
               "252 Cannot VRFY user, but will accept message and attempt "
               "delivery\r\n"
               "250 OK\r\n"
               "214 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY\r\n",
               0, NULL);
}

/* MAIL parameters are an ESMTP extension: not after HELO. */
static void params_need_ehlo(void **state)
{
    transcript(*state,
               "HELO client.test\r\nMAIL FROM:<a@x.test> SIZE=10\r\n",
               GREETING "250 mx.test Hello client.test\r\n"
               "555 MAIL FROM parameters need EHLO\r\n",
               0, NULL);
}

static void declared_size_too_big(void **state)
{
    transcript(*state,
               "EHLO client.test\r\nMAIL FROM:<a@x.test> SIZE=1001\r\n"
               "MAIL FROM:<a@x.test> SIZE=1000\r\n",
               GREETING EHLO_REPLY
               "552 Message size exceeds fixed maximum message size\r\n"
               "250 OK\r\n",
               0, NULL);
}

static void too_many_recipients(void **state)
{
    /* max_rcpts is 5 in this fixture. */
    transcript(*state,
               "EHLO client.test\r\nMAIL FROM:<a@x.test>\r\n"
               "RCPT TO:<1@y.test>\r\nRCPT TO:<2@y.test>\r\n"
               "RCPT TO:<3@y.test>\r\nRCPT TO:<4@y.test>\r\n"
               "RCPT TO:<5@y.test>\r\nRCPT TO:<6@y.test>\r\n"
               "DATA\r\nx\r\n.\r\n",
               GREETING EHLO_REPLY "250 OK\r\n"
               "250 OK\r\n250 OK\r\n250 OK\r\n250 OK\r\n250 OK\r\n"
               "452 Too many recipients\r\n"
               "354 End data with <CR><LF>.<CR><LF>\r\n"
               "250 OK: queued as X\r\n",
               1, NULL);
}

static char *build(const char *a, size_t n, char fill, const char *b)
{
    char *s = malloc(strlen(a) + n + strlen(b) + 1);
    strcpy(s, a);
    memset(s + strlen(a), fill, n);
    strcpy(s + strlen(a) + n, b);
    return s;
}

/* 512 octets with the CRLF is the longest command line (RFC 5321
 * 4.5.3.1.4); a longer one gets 500 and the session goes on. */
static void long_command_line(void **state)
{
    char *in = build("NOOP ", 505, 'x',
                     "\r\nNOOP ");   /* 510 + CRLF: fine */
    char *in2 = build(in, 506, 'y', "\r\nNOOP\r\n");   /* 511: too long */
    transcript(*state, in2,
               GREETING "250 OK\r\n500 Line too long\r\n250 OK\r\n", 0,
               NULL);
    free(in), free(in2);
}

/* A text line over 1000 octets refuses the message with 500, after the
 * final "."; nothing is stored and the session goes on. */
static void long_text_line(void **state)
{
    fixture *fx = *state;
    fx->cfg.max_size = 100000;
    char *in = build("HELO client.test\r\nMAIL FROM:<a@x.test>\r\n"
                     "RCPT TO:<b@y.test>\r\nDATA\r\nshort\r\n",
                     999, 'z', "\r\nmore\r\n.\r\nNOOP\r\n");
    transcript(*state, in,
               GREETING "250 mx.test Hello client.test\r\n"
               "250 OK\r\n250 OK\r\n"
               "354 End data with <CR><LF>.<CR><LF>\r\n"
               "500 Line too long (over 1000 octets); message refused\r\n"
               "250 OK\r\n",
               0, NULL);
    free(in);
}

/* Over max_size (1000 here): the rest of the text is read and dropped,
 * 552, and the connection is still usable. */
static void message_too_big(void **state)
{
    char *lines = build("", 1200, 'w', "");
    for (size_t i = 78; i < 1200; i += 80)
        memcpy(lines + i, "\r\n", 2);
    char *head = build("EHLO client.test\r\nMAIL FROM:<a@x.test>\r\n"
                       "RCPT TO:<b@y.test>\r\nDATA\r\n", 0, 0, lines);
    char *in = build(head, 0, 0, ".\r\nRCPT TO:<b@y.test>\r\nNOOP\r\n");
    transcript(*state, in,
               GREETING EHLO_REPLY "250 OK\r\n250 OK\r\n"
               "354 End data with <CR><LF>.<CR><LF>\r\n"
               "552 Message size exceeds fixed maximum message size\r\n"
               "503 Error: need MAIL command\r\n"
               "250 OK\r\n",
               0, NULL);
    free(lines), free(head), free(in);
}

/* ---- connection loss and timeouts ------------------------------------------ */

static void lost_mid_data(void **state)
{
    fixture *fx = *state;
    static const char in[] =
        "EHLO client.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n"
        "DATA\r\nSubject: x\r\n\r\nbody\r\n.";
    char names[16][256];
    /* Lost at every point after DATA was accepted: EOF or abrupt loss. */
    for (size_t cut = strlen(in) - 22; cut <= strlen(in); cut++) {
        for (int how = 0; how < 2; how++) {
            weft_conn *c = weft_memconn_new(fx->f);
            weft_memconn_receive(c, in, cut);
            if (how == 0)
                weft_memconn_eof(c);
            weft_memconn_free(c);
            assert_int_equal(list_dir(fx, "new", names), 0);
            assert_int_equal(list_dir(fx, "tmp", names), 0);
        }
    }
}

static void command_timeout(void **state)
{
    fixture *fx = *state;
    weft_conn *c = weft_memconn_new(fx->f);
    weft_memconn_receive(c, "EHLO client.test\r\n", 18);
    weft_reactor_advance(fx->r, 299);
    assert_false(weft_memconn_closed(c));
    weft_memconn_receive(c, "NOOP\r\n", 6);     /* a command restarts it */
    weft_reactor_advance(fx->r, 299);
    assert_false(weft_memconn_closed(c));
    weft_reactor_advance(fx->r, 2);
    assert_true(weft_memconn_closed(c));
    char *out = normalize(weft_memconn_written(c, NULL));
    assert_string_equal(out, GREETING EHLO_REPLY "250 OK\r\n"
                        "421 mx.test Timeout waiting for client input, "
                        "closing connection\r\n");
    free(out);
    weft_memconn_free(c);
}

static void data_timeout(void **state)
{
    fixture *fx = *state;
    char names[16][256];
    weft_conn *c = weft_memconn_new(fx->f);
    static const char in[] = "EHLO client.test\r\nMAIL FROM:<a@x.test>\r\n"
                             "RCPT TO:<b@y.test>\r\nDATA\r\npart";
    weft_memconn_receive(c, in, strlen(in));
    weft_reactor_advance(fx->r, 59);
    weft_memconn_receive(c, "ial\r\n", 5);      /* text restarts it */
    weft_reactor_advance(fx->r, 59);
    assert_false(weft_memconn_closed(c));
    assert_int_equal(list_dir(fx, "tmp", names), 1);
    weft_reactor_advance(fx->r, 2);
    assert_true(weft_memconn_closed(c));
    const char *out = weft_memconn_written(c, NULL);
    assert_non_null(strstr(out, "354 End data"));
    assert_non_null(strstr(out, "\r\n421 mx.test Timeout"));
    weft_memconn_free(c);
    assert_int_equal(list_dir(fx, "new", names), 0);
    assert_int_equal(list_dir(fx, "tmp", names), 0);
}

/* A timeout of 0 waits forever. */
static void timeout_disabled(void **state)
{
    fixture *fx = *state;
    fx->cfg.command_timeout = 0;
    weft_conn *c = weft_memconn_new(fx->f);
    weft_reactor_advance(fx->r, 100000);
    assert_false(weft_memconn_closed(c));
    weft_memconn_free(c);
}

/* A client that pipelines without reading: once 64 KiB of replies wait,
 * the server stops reading commands until the output drains. */
static void output_backpressure(void **state)
{
    fixture *fx = *state;
    enum { N = 12000 };               /* 12000 * "250 OK\r\n" = 96000 */
    weft_conn *c = weft_memconn_new(fx->f);
    weft_memconn_set_slow_reader(c, true);
    char *in = malloc(N * 6);
    for (int i = 0; i < N; i++)
        memcpy(in + i * 6, "NOOP\r\n", 6);
    weft_memconn_receive(c, in, N * 6);
    size_t pending = weft_conn_pending(c);
    assert_true(pending > 64 * 1024);
    assert_true(pending < 64 * 1024 + 100);  /* stopped right at the mark */
    weft_memconn_drain(c);                   /* the client reads ... */
    size_t len;
    weft_memconn_written(c, &len);
    /* ... and the rest of the commands is answered, in order. */
    weft_memconn_drain(c);
    weft_memconn_written(c, &len);
    assert_int_equal(len, strlen(GREETING) + (size_t)N * 8);
    assert_int_equal(weft_conn_pending(c), 0);
    /* Closing is not held up by the flow control. */
    weft_memconn_receive(c, "QUIT\r\n", 6);
    weft_memconn_drain(c);
    assert_true(weft_memconn_closed(c));
    free(in);
    weft_memconn_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(simple_message),
        T(empty_message),
        T(dot_stuffing),
        T(pipelined_transactions),
        T(eight_bit_and_bare_cr),
        T(out_of_sequence),
        T(unknown_and_syntax),
        T(params_need_ehlo),
        T(declared_size_too_big),
        T(too_many_recipients),
        T(long_command_line),
        T(long_text_line),
        T(message_too_big),
        T(lost_mid_data),
        T(command_timeout),
        T(data_timeout),
        T(timeout_disabled),
        T(output_backpressure),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
