/* maildir.c — see maildir.h. */
#include "maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* mkdir that accepts an existing directory. */
static int ensure_dir(const char *path)
{
    struct stat st;
    if (mkdir(path, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    if (stat(path, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* path + "/" + sub into out; -ENAMETOOLONG if it does not fit. */
static int join(char *out, size_t size, const char *dir, const char *sub,
                const char *name)
{
    int n = snprintf(out, size, "%s/%s%s%s", dir, sub, name ? "/" : "",
                     name ? name : "");
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

char *maildir_escape_host(const char *host, char *out, size_t size)
{
    size_t o = 0;
    for (; *host; host++) {
        const char *esc = *host == '/' ? "\\057" : *host == ':' ? "\\072"
                                                                : NULL;
        size_t need = esc ? 4 : 1;
        if (o + need >= size)
            break;
        if (esc)
            memcpy(out + o, esc, 4);
        else
            out[o] = *host;
        o += need;
    }
    if (size > 0)
        out[o] = '\0';
    return out;
}

int maildir_open(maildir *md, const char *dir, const char *host)
{
    static const char *const subs[] = {"tmp", "new", "cur"};
    char path[4096], name[256];
    int rc;

    memset(md, 0, sizeof *md);
    if ((rc = ensure_dir(dir)) != 0)
        return rc;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if ((rc = join(path, sizeof path, dir, subs[i], NULL)) != 0 ||
            (rc = ensure_dir(path)) != 0)
            return rc;
    }
    if (!host) {
        if (gethostname(name, sizeof name) != 0)
            snprintf(name, sizeof name, "localhost");
        name[sizeof name - 1] = '\0';
        host = name;
    }
    if (!(md->path = strdup(dir)))
        return -ENOMEM;
    maildir_escape_host(host, md->host, sizeof md->host);
    md->fsync = true;
    return 0;
}

void maildir_close(maildir *md)
{
    free(md->path);
    md->path = NULL;
}

void maildir_set_fsync(maildir *md, bool on)
{
    md->fsync = on;
}

bool maildir_msg_open(const maildir_msg *m)
{
    return m->md != NULL;
}

int maildir_msg_begin(maildir *md, maildir_msg *m)
{
    char path[4096];
    int rc;

    memset(m, 0, sizeof *m);
    m->fd = -1;
    if (!(m->buf = malloc(MAILDIR_BUFSIZE)))
        return -ENOMEM;
    /* The counter makes names unique inside one process and second; the
     * exclusive create catches anything else (a reused pid after a clock
     * step), and we simply try the next counter value. */
    for (int tries = 0; tries < 100; tries++) {
        snprintf(m->name, sizeof m->name, "%lld.%ld_%lu.%s",
                 (long long)time(NULL), (long)getpid(), ++md->counter,
                 md->host);
        if ((rc = join(path, sizeof path, md->path, "tmp", m->name)) != 0)
            break;
        m->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (m->fd >= 0) {
            m->md = md;
            return 0;
        }
        rc = -errno;
        if (errno != EEXIST)
            break;
    }
    free(m->buf);
    m->buf = NULL;
    return rc;
}

/* Writes all of buf, retrying short writes and EINTR. */
static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int flush(maildir_msg *m)
{
    if (m->error == 0 && m->len > 0)
        m->error = write_all(m->fd, m->buf, m->len);
    m->len = 0;
    return m->error;
}

int maildir_msg_write(maildir_msg *m, const void *data, size_t len)
{
    if (m->error)
        return m->error;
    m->written += len;
    if (m->len + len > MAILDIR_BUFSIZE && flush(m) != 0)
        return m->error;
    if (len >= MAILDIR_BUFSIZE) {
        m->error = write_all(m->fd, data, len);
        return m->error;
    }
    memcpy(m->buf + m->len, data, len);
    m->len += len;
    return 0;
}

/* Closes and frees; a zeroed, never-begun message owns no descriptor. */
static void release(maildir_msg *m)
{
    if (m->md && m->fd >= 0)
        close(m->fd);
    m->fd = -1;
    free(m->buf);
    m->buf = NULL;
    m->md = NULL;
}

void maildir_msg_abort(maildir_msg *m)
{
    char path[4096];
    if (m->md && join(path, sizeof path, m->md->path, "tmp", m->name) == 0)
        unlink(path);
    release(m);
}

/* fsync a directory so a rename into it survives a crash. */
static void sync_dir(const char *dir, const char *sub)
{
    char path[4096];
    if (join(path, sizeof path, dir, sub, NULL) != 0)
        return;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int maildir_msg_commit(maildir_msg *m)
{
    char from[4096], to[4096];
    maildir *md = m->md;
    int rc;

    if (!md)
        return -EBADF;
    rc = flush(m);
    if (rc == 0 && md->fsync && fsync(m->fd) != 0)
        rc = -errno;
    if (close(m->fd) != 0 && rc == 0)
        rc = -errno;
    m->fd = -1;
    if (rc == 0)
        rc = join(from, sizeof from, md->path, "tmp", m->name);
    if (rc == 0)
        rc = join(to, sizeof to, md->path, "new", m->name);
    /* link refuses to replace an existing message; file systems without
     * hard links get a rename instead. */
    if (rc == 0 && link(from, to) != 0) {
        if (errno == EPERM || errno == ENOTSUP || errno == EXDEV)
            rc = rename(from, to) == 0 ? 0 : -errno;
        else
            rc = -errno;
    }
    if (rc != 0) {
        maildir_msg_abort(m);
        return rc;
    }
    unlink(from);   /* a no-op after rename */
    if (md->fsync)
        sync_dir(md->path, "new");
    release(m);
    return 0;
}
