/* fuzz_smtp.c — libFuzzer target for SMTP (spec/smtp.weft and
 * examples/smtpd), two checks per input:
 *
 * 1. The generated parser's canonical trace (tests/fuzz/README.md) does not
 *    depend on how the input is cut.  The hooks play weft-smtpd's part: a
 *    DATA command enters `data_start`, whose end picks `data`, `command` or
 *    another round with the same end-of-data scanner the server uses
 *    (msgbody_endscan), so the empty-message path is fuzzed too.
 * 2. A whole weft-smtpd session over the in-memory transport answers the
 *    same replies, byte for byte, whether the input comes whole, in the
 *    fuzzer's chunks or one byte at a time, and leaves no file in tmp/
 *    once the connection is gone.
 *
 * Input: data[0] % 8 = k chunk-size bytes follow (each + 1), then the
 * stream, as for every trace target.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../examples/smtpd/smtpd.h"
#include "smtp.h"
#include "weft.h"

/* ---- 1. the parser's trace: hooks and harness ---------------------------- */

#include "../unit/smtp_trace_hooks.h"

/* ---- 2. whole sessions ------------------------------------------------------ */

static struct {
    bool ready;
    char dir[64];
    maildir md;
    smtpd_config cfg;
    weft_protocol proto;
    weft_reactor *r;
    weft_factory *f;
} fx;

/* Count (and with `remove`, unlink) the files in DIR/sub. */
static int count_files(const char *sub, bool remove);

static void cleanup(void)
{
    static const char *const subs[] = {"tmp", "new", "cur"};
    char path[256];
    for (int i = 0; i < 3; i++) {
        count_files(subs[i], true);
        snprintf(path, sizeof path, "%s/%s", fx.dir, subs[i]);
        rmdir(path);
    }
    rmdir(fx.dir);
}

static void setup_once(void)
{
    if (fx.ready)
        return;
    strcpy(fx.dir, "/tmp/weft-fuzz-smtp-XXXXXX");
    if (!mkdtemp(fx.dir) || maildir_open(&fx.md, fx.dir, "fuzz.test") != 0)
        abort();
    maildir_set_fsync(&fx.md, false);
    smtpd_config_defaults(&fx.cfg);
    fx.cfg.md = &fx.md;
    fx.cfg.hostname = "fuzz.test";
    fx.cfg.max_size = 3000;
    fx.cfg.max_rcpts = 3;
    smtpd_protocol_init(&fx.proto);
    fx.r = weft_reactor_new_manual();
    fx.f = weft_factory_new(fx.r, &fx.proto, NULL, &fx.cfg);
    if (!fx.r || !fx.f)
        abort();
    fx.ready = true;
    atexit(cleanup);
}

static int count_files(const char *sub, bool remove)
{
    char path[256];
    int n = 0;
    snprintf(path, sizeof path, "%s/%s", fx.dir, sub);
    DIR *d = opendir(path);
    if (!d)
        abort();
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        n++;
        if (remove) {
            char file[600];
            snprintf(file, sizeof file, "%s/%s", path, de->d_name);
            unlink(file);
        }
    }
    closedir(d);
    return n;
}

/* The replies with "queued as NAME" reduced to "queued as X". */
static char *normalized(weft_conn *c)
{
    size_t len;
    const char *w = weft_memconn_written(c, &len);
    char *s = malloc(len + 1), *q = s;
    memcpy(s, w, len + 1);
    while ((q = strstr(q, "queued as ")) != NULL) {
        q += 10;
        char *end = strstr(q, "\r\n");
        if (!end)
            break;
        memmove(q + 1, end, strlen(end) + 1);
        *q = 'X';
    }
    return s;
}

/* One session: the stream cut into the given sizes (cycled; none: whole),
 * then EOF.  Returns the normalized replies and the messages stored. */
static char *session(const char *data, size_t len, const size_t *sizes,
                     size_t nsizes, int *stored)
{
    weft_conn *c = weft_memconn_new(fx.f);
    size_t at = 0, i = 0;
    while (at < len && !weft_memconn_closed(c)) {
        size_t n = nsizes ? sizes[i++ % nsizes] : len - at;
        if (n > len - at)
            n = len - at;
        /* An exact-size heap copy, so ASan sees reads past the chunk. */
        char *chunk = malloc(n);
        memcpy(chunk, data + at, n);
        weft_memconn_receive(c, chunk, n);
        free(chunk);
        at += n;
    }
    if (!weft_memconn_closed(c))
        weft_memconn_eof(c);
    char *out = normalized(c);
    weft_memconn_free(c);
    if (count_files("tmp", false) != 0) {
        fprintf(stderr, "fuzz_smtp: a file was left in tmp/\n");
        abort();
    }
    *stored = count_files("new", true);
    return out;
}

static void check_sessions(const uint8_t *data, size_t size)
{
    size_t k = size ? data[0] % 8 : 0, sizes[8], one = 1;
    if (size < 1 + k)
        return;
    for (size_t i = 0; i < k; i++)
        sizes[i] = (size_t)data[1 + i] + 1;
    const char *s = (const char *)data + 1 + k;
    size_t len = size - 1 - k;
    int n_whole, n_cut, n_bytes;
    char *whole = session(s, len, NULL, 0, &n_whole);
    char *cut = session(s, len, sizes, k, &n_cut);
    char *bytes = session(s, len, &one, 1, &n_bytes);
    if (strcmp(whole, cut) != 0 || strcmp(whole, bytes) != 0 ||
        n_whole != n_cut || n_whole != n_bytes) {
        fprintf(stderr, "fuzz_smtp: replies depend on the cuts\n"
                        "--- whole (%d stored)\n%s\n--- chunked (%d)\n%s\n"
                        "--- byte by byte (%d)\n%s\n",
                n_whole, whole, n_cut, cut, n_bytes, bytes);
        abort();
    }
    free(whole), free(cut), free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    smtp_trace_fuzz(data, size);
    check_sessions(data, size);
    return 0;
}
