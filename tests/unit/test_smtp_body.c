/* test_smtp_body.c — the SMTP message text machinery of weft-smtpd
 * (examples/smtpd/msgbody.c) and its maildir writer (maildir.c).
 *
 * Every msgbody case is fed whole, cut at every split point and one byte
 * at a time; the converted text and the status must not depend on the
 * cuts.  The end scanner is checked at every split of the stream that
 * follows "DATA\r\n", including the empty message (".\r\n" at once).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../examples/smtpd/maildir.h"
#include "../../examples/smtpd/msgbody.h"

/* ---- a growing sink ------------------------------------------------------ */

typedef struct sink {
    char *buf;
    size_t len, cap;
    size_t calls;
    int fail_after;    /* >0: the Nth call fails */
} sink;

static int sink_write(void *arg, const char *data, size_t len)
{
    sink *s = arg;
    s->calls++;
    if (s->fail_after && (int)s->calls >= s->fail_after)
        return -1;
    if (s->len + len + 1 > s->cap) {
        s->cap = (s->len + len + 1) * 2;
        s->buf = realloc(s->buf, s->cap);
        assert_non_null(s->buf);
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    s->buf[s->len] = '\0';
    return 0;
}

static void sink_reset(sink *s)
{
    free(s->buf);
    memset(s, 0, sizeof *s);
}

/* Feeds `in` into a fresh msgbody cut at the given points (a sorted list
 * of offsets, count n) and returns the status; the text lands in *s. */
static enum msgbody_status run_body(const char *in, size_t len,
                                    uint64_t max, const size_t *cuts,
                                    size_t ncuts, sink *s)
{
    msgbody b;
    size_t at = 0;
    sink_reset(s);
    msgbody_init(&b, max, sink_write, s);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        msgbody_write(&b, in + at, end - at);
        at = end;
    }
    return msgbody_finish(&b);
}

/* Checks one case whole, at every single split and byte by byte. */
static void check_body(const char *in, uint64_t max, const char *want,
                       enum msgbody_status want_st)
{
    size_t len = strlen(in);
    sink s = {0};
    assert_int_equal(run_body(in, len, max, NULL, 0, &s), want_st);
    if (want)
        assert_string_equal(s.buf ? s.buf : "", want);
    for (size_t cut = 0; cut <= len; cut++) {
        assert_int_equal(run_body(in, len, max, &cut, 1, &s), want_st);
        if (want)
            assert_string_equal(s.buf ? s.buf : "", want);
    }
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    assert_int_equal(run_body(in, len, max, cuts, len ? len - 1 : 0, &s),
                     want_st);
    if (want)
        assert_string_equal(s.buf ? s.buf : "", want);
    free(cuts);
    sink_reset(&s);
}

static void body_plain(void **state)
{
    check_body("Subject: hi\r\n\r\nhello\r\n", 0,
               "Subject: hi\n\nhello\n", MSGBODY_OK);
    check_body("", 0, "", MSGBODY_OK);
    check_body("\r\n", 0, "\n", MSGBODY_OK);
}

static void body_dot_stuffing(void **state)
{
    /* ".." at a line start is one dot; a dot elsewhere stays. */
    check_body("..\r\n...x\r\na.b\r\n.\r\n", 0, ".\n..x\na.b\n\n",
               MSGBODY_OK);
    check_body(".leading\r\n", 0, "leading\n", MSGBODY_OK);
}

static void body_bare_cr_lf(void **state)
{
    /* A bare CR or LF is data, not a line end: no unstuffing after it. */
    check_body("a\rb\r\n", 0, "a\rb\n", MSGBODY_OK);
    check_body("a\n.b\r\n", 0, "a\n.b\n", MSGBODY_OK);
    check_body("a\r\r\n", 0, "a\r\n", MSGBODY_OK);
    check_body("\xff\xfe 8-bit \xc3\xa9\r\n", 0, "\xff\xfe 8-bit \xc3\xa9\n",
               MSGBODY_OK);
}

static char *repeat(char c, size_t n, const char *suffix)
{
    char *s = malloc(n + strlen(suffix) + 1);
    memset(s, c, n);
    strcpy(s + n, suffix);
    return s;
}

static void body_line_limit(void **state)
{
    /* 998 octets + CRLF is the longest legal line; the stuffing dot does
     * not count. */
    char *ok = repeat('x', MSGBODY_MAX_LINE, "\r\n");
    char *ok_want = repeat('x', MSGBODY_MAX_LINE, "\n");
    check_body(ok, 0, ok_want, MSGBODY_OK);
    char *stuffed = repeat('.', MSGBODY_MAX_LINE + 1, "\r\n");
    check_body(stuffed, 0, NULL, MSGBODY_OK);
    char *bad = repeat('x', MSGBODY_MAX_LINE + 1, "\r\n");
    check_body(bad, 0, NULL, MSGBODY_LINE_TOO_LONG);
    /* A long line after short ones, and a bare CR counting as data. */
    char *bad2 = repeat('y', MSGBODY_MAX_LINE, "\r\r\n");
    check_body(bad2, 0, NULL, MSGBODY_LINE_TOO_LONG);
    free(ok), free(ok_want), free(stuffed), free(bad), free(bad2);
}

static void body_line_limit_stops_sink(void **state)
{
    /* After the refusal nothing more reaches the sink. */
    char *bad = repeat('x', 5000, "\r\nmore\r\n");
    sink s = {0};
    assert_int_equal(run_body(bad, strlen(bad), 0, NULL, 0, &s),
                     MSGBODY_LINE_TOO_LONG);
    assert_int_equal(s.len, 0);
    sink_reset(&s);
    free(bad);
}

static void body_size_limit(void **state)
{
    /* "abc\r\n" is 5 bytes of content; CRLF counts two. */
    check_body("abc\r\n", 5, "abc\n", MSGBODY_OK);
    check_body("abc\r\nd", 5, NULL, MSGBODY_TOO_BIG);
    check_body("..\r\n", 3, ".\n", MSGBODY_OK);   /* stuffing dot free */
    check_body("abcdef\r\n", 4, NULL, MSGBODY_TOO_BIG);
}

/* Both limits broken: the answer does not depend on the cuts. */
static void body_both_limits(void **state)
{
    char *in = repeat('x', 2000, "\r\n");
    check_body(in, 1500, NULL, MSGBODY_TOO_BIG);
    check_body(in, 999, NULL, MSGBODY_TOO_BIG);
    check_body(in, 3000, NULL, MSGBODY_LINE_TOO_LONG);
    free(in);
}

static void body_sink_failure(void **state)
{
    sink s = {.fail_after = 1};
    msgbody b;
    msgbody_init(&b, 0, sink_write, &s);
    assert_int_equal(msgbody_write(&b, "abc\r\n", 5), MSGBODY_SINK_FAILED);
    assert_int_equal(msgbody_write(&b, "more\r\n", 6), MSGBODY_SINK_FAILED);
    assert_int_equal(msgbody_finish(&b), MSGBODY_SINK_FAILED);
    sink_reset(&s);
}

/* ---- the end scanner --------------------------------------------------------- */

/* Scans `in` (what follows "DATA\r\n") cut at `cut`, returns how many
 * bytes the scan consumed (SIZE_MAX if the end never came) and the text. */
static size_t run_scan(const char *in, size_t len, size_t cut, sink *s)
{
    msgbody b;
    msgbody_endscan e;
    bool done = false;
    size_t at = 0;
    sink_reset(s);
    msgbody_init(&b, 0, sink_write, s);
    msgbody_endscan_init(&e);
    while (at < len && !done) {
        size_t piece = at < cut ? cut - at : len - at;
        at += msgbody_endscan_feed(&e, &b, in + at, piece, &done);
    }
    msgbody_finish(&b);
    return done ? at : SIZE_MAX;
}

static void check_scan(const char *in, size_t want_used, const char *want)
{
    size_t len = strlen(in);
    for (size_t cut = 0; cut <= len; cut++) {
        sink s = {0};
        assert_int_equal(run_scan(in, len, cut, &s), want_used);
        assert_string_equal(s.buf ? s.buf : "", want);
        sink_reset(&s);
    }
}

static void scan_empty_message(void **state)
{
    check_scan(".\r\nQUIT\r\n", 3, "");
}

static void scan_one_line(void **state)
{
    check_scan("a\r\n.\r\nQUIT\r\n", 6, "a\n");
    check_scan("\r\n.\r\n", 5, "\n");
    check_scan("\r\n\r\n.\r\nX", 7, "\n\n");
}

static void scan_stuffed_first_line(void **state)
{
    /* "..\r\n" is a line holding one dot, not the end. */
    check_scan("..\r\n.\r\n", 7, ".\n");
    check_scan(".\rx\r\n.\r\n", 8, "\rx\n");
    check_scan(".x\r\n.\r\n", 7, "x\n");
}

static void scan_partial_marks(void **state)
{
    check_scan("\r\n.\rx\r\n.\r\n", 10, "\n\rx\n");
    check_scan("\r\r\n.\r\n", 6, "\r\n");
    check_scan("ab\r\n.x\r\n.\r\n", 11, "ab\nx\n");
}

static void scan_need_and_clear(void **state)
{
    msgbody b;
    msgbody_endscan e;
    sink s = {0};
    bool done;
    msgbody_init(&b, 0, sink_write, &s);
    msgbody_endscan_init(&e);
    assert_int_equal(msgbody_endscan_need(&e), 3);
    assert_false(msgbody_endscan_clear(&e));
    assert_int_equal(msgbody_endscan_feed(&e, &b, ".", 1, &done), 1);
    assert_false(done);
    assert_int_equal(msgbody_endscan_need(&e), 2);
    assert_int_equal(msgbody_endscan_feed(&e, &b, "x", 1, &done), 1);
    assert_true(msgbody_endscan_clear(&e));
    assert_int_equal(msgbody_endscan_feed(&e, &b, "\r", 1, &done), 1);
    assert_int_equal(msgbody_endscan_need(&e), 4);
    /* The CR is held by the scanner (it may start the mark), not yet
     * passed on. */
    msgbody_finish(&b);
    assert_string_equal(s.buf, "x");
    sink_reset(&s);
}

/* ---- maildir ------------------------------------------------------------------ */

static char *make_tmpdir(void)
{
    char *t = strdup("/tmp/weft-test-maildir-XXXXXX");
    assert_non_null(mkdtemp(t));
    return t;
}

static void rm_rf(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    assert_int_equal(system(cmd), 0);
}

/* Number of entries in dir/sub, the name of the last one in *name. */
static int count_entries(const char *dir, const char *sub, char *name,
                         size_t size)
{
    char path[1024];
    int n = 0;
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        n++;
        if (name)
            snprintf(name, size, "%s", de->d_name);
    }
    closedir(d);
    return n;
}

static char *read_file(const char *dir, const char *sub, const char *name,
                       size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void maildir_creates_dirs(void **state)
{
    char *t = make_tmpdir();
    char dir[512], path[600];
    maildir md;
    struct stat st;
    snprintf(dir, sizeof dir, "%s/Maildir", t);
    assert_int_equal(maildir_open(&md, dir, "mx.example"), 0);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir,
                 (const char *[]){"tmp", "new", "cur"}[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
    }
    maildir_close(&md);
    /* Opening an existing maildir again is fine. */
    assert_int_equal(maildir_open(&md, dir, "mx.example"), 0);
    maildir_close(&md);
    /* A file where the directory should be is an error. */
    snprintf(path, sizeof path, "%s/file", t);
    close(open(path, O_CREAT | O_WRONLY, 0600));
    assert_int_equal(maildir_open(&md, path, "h"), -ENOTDIR);
    rm_rf(t);
    free(t);
}

static void maildir_delivers_via_tmp(void **state)
{
    char *t = make_tmpdir();
    maildir md;
    maildir_msg m;
    char name[256], big[40000];
    size_t len;
    assert_int_equal(maildir_open(&md, t, "mx.example"), 0);
    maildir_set_fsync(&md, false);
    assert_int_equal(maildir_msg_begin(&md, &m), 0);
    assert_true(maildir_msg_open(&m));
    assert_int_equal(maildir_msg_write(&m, "Subject: x\n\n", 12), 0);
    memset(big, 'b', sizeof big);
    assert_int_equal(maildir_msg_write(&m, big, sizeof big), 0);
    assert_int_equal(maildir_msg_write(&m, "end\n", 4), 0);
    /* Until the commit, the message is in tmp/ only. */
    assert_int_equal(count_entries(t, "tmp", NULL, 0), 1);
    assert_int_equal(count_entries(t, "new", NULL, 0), 0);
    assert_int_equal(maildir_msg_commit(&m), 0);
    assert_false(maildir_msg_open(&m));
    assert_int_equal(count_entries(t, "tmp", NULL, 0), 0);
    assert_int_equal(count_entries(t, "new", name, sizeof name), 1);
    char *data = read_file(t, "new", name, &len);
    assert_int_equal(len, 12 + sizeof big + 4);
    assert_memory_equal(data, "Subject: x\n\n", 12);
    assert_memory_equal(data + 12 + sizeof big, "end\n", 4);
    free(data);
    /* NAME is SECONDS.PID_COUNTER.HOST */
    char want[64];
    snprintf(want, sizeof want, ".%ld_1.mx.example", (long)getpid());
    assert_non_null(strstr(name, want));
    maildir_close(&md);
    rm_rf(t);
    free(t);
}

static void maildir_abort_cleans_tmp(void **state)
{
    char *t = make_tmpdir();
    maildir md;
    maildir_msg m, zero = {0};
    assert_int_equal(maildir_open(&md, t, "h"), 0);
    assert_int_equal(maildir_msg_begin(&md, &m), 0);
    assert_int_equal(maildir_msg_write(&m, "partial", 7), 0);
    maildir_msg_abort(&m);
    assert_false(maildir_msg_open(&m));
    assert_int_equal(count_entries(t, "tmp", NULL, 0), 0);
    assert_int_equal(count_entries(t, "new", NULL, 0), 0);
    maildir_msg_abort(&m);           /* twice is harmless */
    maildir_msg_abort(&zero);        /* so is a never-begun message */
    maildir_close(&md);
    rm_rf(t);
    free(t);
}

static void maildir_unique_names(void **state)
{
    char *t = make_tmpdir();
    maildir md;
    maildir_msg m;
    assert_int_equal(maildir_open(&md, t, "a/b:c"), 0);
    maildir_set_fsync(&md, false);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(maildir_msg_begin(&md, &m), 0);
        assert_int_equal(maildir_msg_write(&m, "x\n", 2), 0);
        assert_int_equal(maildir_msg_commit(&m), 0);
    }
    char name[256];
    assert_int_equal(count_entries(t, "new", name, sizeof name), 50);
    assert_non_null(strstr(name, ".a\\057b\\072c"));
    maildir_close(&md);
    rm_rf(t);
    free(t);
}

static void maildir_escape(void **state)
{
    char out[8];
    assert_string_equal(maildir_escape_host("a/b", out, sizeof out),
                        "a\\057b");
    /* Truncation never cuts an escape in half. */
    assert_string_equal(maildir_escape_host("abc:def", out, sizeof out),
                        "abc\\072");
    assert_string_equal(maildir_escape_host("abcd:ef", out, sizeof out),
                        "abcd");
}

static void maildir_missing_parent(void **state)
{
    maildir md;
    assert_int_equal(maildir_open(&md, "/nonexistent-weft/x/Maildir", "h"),
                     -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(body_plain),
        cmocka_unit_test(body_dot_stuffing),
        cmocka_unit_test(body_bare_cr_lf),
        cmocka_unit_test(body_line_limit),
        cmocka_unit_test(body_line_limit_stops_sink),
        cmocka_unit_test(body_size_limit),
        cmocka_unit_test(body_both_limits),
        cmocka_unit_test(body_sink_failure),
        cmocka_unit_test(scan_empty_message),
        cmocka_unit_test(scan_one_line),
        cmocka_unit_test(scan_stuffed_first_line),
        cmocka_unit_test(scan_partial_marks),
        cmocka_unit_test(scan_need_and_clear),
        cmocka_unit_test(maildir_creates_dirs),
        cmocka_unit_test(maildir_delivers_via_tmp),
        cmocka_unit_test(maildir_abort_cleans_tmp),
        cmocka_unit_test(maildir_unique_names),
        cmocka_unit_test(maildir_escape),
        cmocka_unit_test(maildir_missing_parent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
