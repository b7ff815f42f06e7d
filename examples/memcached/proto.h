/* proto.h — weft-memcached's command handlers for the parser generated
 * from spec/memcache.weft.
 *
 * One mc_server holds the cache and the counters shared by every
 * connection; one mc_session per connection holds the replies of the
 * current read (sent in one write when the read has been parsed), the item
 * whose data block is arriving, and the state of a long get line.
 *
 * The same handlers run under libweft (mc_protocol_init) and standalone,
 * without sockets (mc_session_init with conn == NULL: replies accumulate in
 * the session for mc_session_output), which is how the unit tests and the
 * fuzzer drive them.
 */
#ifndef MC_PROTO_H
#define MC_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cache.h"
#include "factory.h"
#include "memcache.h"

/* What "version" answers: the memcached release whose text protocol this
 * follows, marked as weft's. */
#define MC_VERSION "1.6.18-weft"

typedef struct mc_server {
    mc_cache cache;
    time_t (*clock)(void);        /* unix time; tests substitute their own */
    time_t started;               /* unix time at start, for uptime */
    unsigned verbosity;
    uint64_t curr_conns, total_conns;
    uint64_t bytes_read, bytes_written;
    uint64_t cmd_errors;          /* lines answered ERROR / CLIENT_ERROR */
    bool force_slow_path;         /* tests: ignore the grammar's captures */
} mc_server;

typedef struct mc_session {
    mc_server *srv;
    memcache_parser *p;
    weft_conn *conn;              /* NULL when standalone */
    char *out;                    /* replies not yet handed to conn */
    size_t out_len, out_cap;
    mc_item *item;                /* data block being read into */
    uint32_t fill;                /* bytes of the block received */
    uint32_t need;                /* block size: <bytes> + 2 */
    uint8_t comm;                 /* enum mc_store_cmd of the block */
    bool noreply;                 /* current command asked for no reply */
    bool swallow;                 /* block is read and dropped */
    bool closed;                  /* quit / fatal: nothing more is parsed */
    bool out_paused;              /* parsing paused until output drains */
    char *long_line;              /* a get line longer than max_line */
    size_t long_len, long_cap;
} mc_session;

/* ---- public API ------------------------------------------------------- */

/* Prepares the shared state; mem_limit and item_size_max in bytes.
 * Returns 0 or -1 (out of memory). */
int mc_server_init(mc_server *srv, size_t mem_limit, size_t item_size_max);
void mc_server_free(mc_server *srv);
/* Replaces the clock (tests): the cache's time starts over from clock(). */
void mc_server_set_clock(mc_server *srv, time_t (*clock)(void));

/* The parser callbacks (standalone use: memcache_parser_init(p,
 * &mc_callbacks, session)). */
extern const memcache_callbacks mc_callbacks;

/* Fills *proto for libweft: per-connection sessions, replies flushed once
 * per read.  The factory's user pointer must be the mc_server. */
void mc_protocol_init(weft_protocol *proto);

/* Standalone: binds s to srv and parser p (conn NULL). */
void mc_session_init(mc_session *s, mc_server *srv, memcache_parser *p,
                     weft_conn *conn);
/* Frees what the session holds (a half-read item, buffers). */
void mc_session_free(mc_session *s);
/* Standalone: the replies so far (not NUL-terminated); clear empties them. */
const char *mc_session_output(const mc_session *s, size_t *len);
void mc_session_clear_output(mc_session *s);

#endif
