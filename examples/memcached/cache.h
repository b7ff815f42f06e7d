/* cache.h — weft-memcached's item store: a hash table, one LRU list and
 * memory accounting, with memcached 1.6's semantics for expiry, flush_all,
 * cas ids, storage commands and incr/decr.
 *
 * Recency is kept the way memcached's segmented LRU keeps it, cheaply: a
 * read only marks the item active (no list surgery, so no cache misses on
 * its neighbours); eviction moves an active item found at the tail back to
 * the head, clearing the mark, and evicts the first inactive one.
 *
 * Single-threaded: the server runs one reactor.  Items are malloc'ed whole
 * (header, key, value with its "\r\n"); the bytes they take count toward
 * the memory limit, and storing past the limit evicts from the LRU tail.
 * Expired and flushed items are removed lazily, when a lookup finds them or
 * eviction reaches them.
 *
 * Times are memcached's "relative" seconds since the cache started (rel
 * time 0 means "never expires").
 */
#ifndef MC_CACHE_H
#define MC_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lru.h"

typedef uint32_t mc_time;

/* memcached: a relative exptime above 30 days is an absolute unix time. */
#define MC_REALTIME_MAXDELTA (60 * 60 * 24 * 30)
#define MC_KEY_MAX 250
/* memcached's accounting of an item: header, key + NUL, client flags (when
 * not zero), cas, value with "\r\n".  --max-item-size limits this total, as
 * memcached's -I does. */
#define MC_ITEM_HEADER 48
#define MC_ITEM_CAS 8

typedef struct mc_item {
    struct mc_item *hnext;        /* hash chain */
    mc_lru_node lru;              /* position in the cache's LRU */
    uint64_t hv;                  /* full hash of the key */
    uint64_t cas;                 /* 0 until linked */
    mc_time exptime;              /* 0: never */
    mc_time time;                 /* last store or bump */
    uint32_t flags;               /* client flags */
    uint32_t nbytes;              /* value length including "\r\n" */
    uint8_t nkey;
    uint8_t linked;               /* in the table and the LRU */
    uint8_t fetched;              /* read at least once (stats) */
    uint8_t active;               /* read since it last reached the LRU
                                     tail: gets a second chance there */
    char key[];                   /* nkey bytes, then the value */
} mc_item;

#define MC_ITEM_VALUE(it) ((it)->key + (it)->nkey)

/* Storage commands (memcached's NREAD_*). */
enum mc_store_cmd {
    MC_SET, MC_ADD, MC_REPLACE, MC_APPEND, MC_PREPEND, MC_CAS,
};

enum mc_store_result {
    MC_STORED, MC_NOT_STORED, MC_EXISTS, MC_NOT_FOUND,
};

enum mc_alloc_result {
    MC_ALLOC_OK, MC_ALLOC_TOO_LARGE, MC_ALLOC_NO_MEMORY,
};

enum mc_delta_result {
    MC_DELTA_OK, MC_DELTA_NON_NUMERIC, MC_DELTA_NOT_FOUND, MC_DELTA_EOM,
};

/* Counters reported by "stats"; the names follow memcached's. */
typedef struct mc_cache_stats {
    uint64_t get_cmds, get_hits, get_misses, get_expired, get_flushed;
    uint64_t set_cmds, touch_cmds, touch_hits, touch_misses;
    uint64_t delete_hits, delete_misses;
    uint64_t incr_hits, incr_misses, decr_hits, decr_misses;
    uint64_t cas_hits, cas_misses, cas_badval;
    uint64_t flush_cmds;
    uint64_t evictions, reclaimed, expired_unfetched, evicted_unfetched;
    uint64_t total_items;
    uint64_t store_too_large, store_no_memory;
} mc_cache_stats;

typedef struct mc_cache {
    mc_item **table;              /* current buckets (power of two) */
    size_t nbuckets;
    mc_item **old;                /* buckets still being migrated, or NULL */
    size_t nold;
    size_t migrated;              /* old buckets already moved */
    size_t count;                 /* linked items */
    mc_lru lru;
    size_t mem_used;              /* bytes of linked items */
    size_t mem_limit;             /* bytes; eviction keeps mem_used below */
    size_t item_size_max;         /* memcached -I */
    uint64_t seed;
    uint64_t cas_last;            /* last cas id handed out */
    mc_time oldest_live;          /* flush_all: items not newer are dead */
    uint64_t oldest_cas;          /* flush_all: items with lower cas are dead */
    time_t started;               /* unix time of rel time 0 */
    mc_time now;                  /* current rel time */
    mc_cache_stats stats;
} mc_cache;

/* ---- public API ------------------------------------------------------- */

/* Prepares an empty cache; returns 0 or -1 on out of memory.  mem_limit and
 * item_size_max are in bytes.  now is the current unix time. */
int mc_cache_init(mc_cache *c, size_t mem_limit, size_t item_size_max,
                  time_t now);
/* Frees every item and the table. */
void mc_cache_free(mc_cache *c);
/* Moves the cache's clock to unix time `now` (never backwards). */
void mc_cache_set_time(mc_cache *c, time_t now);
/* memcached's realtime(): exptime as given in a command (relative seconds,
 * absolute unix time above 30 days, negative = already expired) to rel
 * time, 0 meaning never. */
mc_time mc_cache_realtime(const mc_cache *c, int32_t exptime);
/* Changes the memory limit; eviction catches up on the next store. */
void mc_cache_set_limit(mc_cache *c, size_t mem_limit);

/* Allocates an unlinked item for key with room for nbytes of value
 * (including the "\r\n" the caller copies in).  On failure returns NULL and
 * sets *why (too large for --max-item-size / bigger than the whole memory
 * limit). */
mc_item *mc_item_alloc(mc_cache *c, const char *key, size_t nkey,
                       uint32_t flags, mc_time exptime, uint32_t nbytes,
                       enum mc_alloc_result *why);
/* Frees an item that is not linked. */
void mc_item_free(mc_cache *c, mc_item *it);
/* memcached's item_size_ok(). */
bool mc_item_size_ok(const mc_cache *c, size_t nkey, uint32_t flags,
                     uint64_t nbytes);

/* Live item for key or NULL; expired and flushed items are removed on the
 * way.  bump moves it to the LRU head.  Updates no counters. */
mc_item *mc_cache_get(mc_cache *c, const char *key, size_t nkey, bool bump);
/* get/gets bookkeeping: a lookup that counts hits, misses, expiries. */
mc_item *mc_cache_fetch(mc_cache *c, const char *key, size_t nkey);
/* touch/gat: sets the exptime of a live item and returns it, or NULL. */
mc_item *mc_cache_touch(mc_cache *c, const char *key, size_t nkey,
                        mc_time exptime);
/* Stores `it` (from mc_item_alloc, value filled in) by cmd's rules; for
 * MC_CAS it->cas holds the client's cas id.  Takes ownership of it: linked
 * when stored, freed otherwise. */
enum mc_store_result mc_cache_store(mc_cache *c, mc_item *it,
                                    enum mc_store_cmd cmd);
/* Unlinks and frees key's item; false if there was none. */
bool mc_cache_delete(mc_cache *c, const char *key, size_t nkey);
/* Unlinks and frees key's item without counting it as a delete. */
void mc_cache_remove(mc_cache *c, const char *key, size_t nkey);
/* incr/decr: on MC_DELTA_OK the new value is written to buf (NUL-ended,
 * at least 21 bytes). */
enum mc_delta_result mc_cache_delta(mc_cache *c, const char *key, size_t nkey,
                                    bool incr, uint64_t delta, char *buf);
/* flush_all [delay]: items stored before the deadline become invisible. */
void mc_cache_flush(mc_cache *c, int32_t delay);

/* Bytes an item counts for in mem_used. */
size_t mc_item_total(const mc_item *it);

#endif
