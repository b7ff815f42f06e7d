/* dict.h — the key space of weft-redis: a chained hash table of binary-safe
 * string keys and values, with incremental rehashing (as Redis' dict.c).
 *
 * Each entry is one allocation holding its key and its value, so a lookup
 * touches one cache line more than the bucket array, and a value changes
 * size by reallocating the entry (the table relinks it).  While the table
 * grows or shrinks, two bucket arrays coexist and every operation moves one
 * bucket from the old to the new (dict_rehash_ms() moves more from a
 * timer), so no single command pays for a whole resize.
 *
 * The hash is seeded per table (a random seed in production), so a client
 * cannot choose keys that collide.
 */
#ifndef WEFT_REDIS_DICT_H
#define WEFT_REDIS_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dict_entry {
    struct dict_entry *next;      /* chain in its bucket */
    int64_t expire;               /* unix time in ms, 0 when persistent */
    uint32_t hash;                /* low 32 bits of the key's hash */
    uint32_t klen;                /* key bytes at data[0] */
    uint32_t vlen;                /* value bytes at data[klen] */
    uint32_t vcap;                /* room for the value */
    char data[];
} dict_entry;

typedef struct dict_table {
    dict_entry **b;               /* buckets; NULL when size is 0 */
    size_t size;                  /* power of two, or 0 */
    size_t used;
} dict_table;

typedef struct dict {
    dict_table t[2];              /* t[1] is the target while rehashing */
    long rehashidx;               /* next t[0] bucket to move, -1: idle */
    uint64_t seed;
    size_t mem;                   /* bytes allocated for entries + tables */
    size_t volatile_keys;         /* entries with an expire time */
} dict;

/* Largest value or key, like Redis' proto-max-bulk-len. */
#define DICT_MAX_LEN (512u * 1024 * 1024)

static inline const char *dict_key(const dict_entry *e) { return e->data; }
static inline char *dict_val(dict_entry *e) { return e->data + e->klen; }

/* ---- API ---------------------------------------------------------------- */

/* Initialises an empty table with the given hash seed. */
void dict_init(dict *d, uint64_t seed);
/* Frees every entry and the bucket arrays; d may be initialised again. */
void dict_free(dict *d);
/* Removes every entry (FLUSHALL). */
void dict_clear(dict *d);
static inline size_t dict_size(const dict *d) { return d->t[0].used + d->t[1].used; }

/* The entry for key, or NULL.  Ignores expire times (the caller decides). */
dict_entry *dict_find(dict *d, const char *key, size_t klen);
/* Sets key to value, creating the entry or replacing its value (the expire
 * time is kept; the caller sets it).  Returns the entry, which may have
 * moved.  *created tells which happened (may be NULL).  Aborts on out of
 * memory, like Redis. */
dict_entry *dict_set(dict *d, const char *key, size_t klen,
                     const char *val, size_t vlen, bool *created);
/* Makes room for `vlen` value bytes in e (keeping the old bytes, growing
 * the room geometrically so that repeated APPENDs are amortised) and sets
 * e->vlen.  Returns the entry, which may have moved. */
dict_entry *dict_resize_value(dict *d, dict_entry *e, size_t vlen);
/* Sets or clears (0) the expire time, keeping volatile_keys right. */
void dict_set_expire(dict *d, dict_entry *e, int64_t expire);
/* Deletes the entry (which must be in d). */
void dict_delete_entry(dict *d, dict_entry *e);
/* Deletes key; returns true if it existed. */
bool dict_delete(dict *d, const char *key, size_t klen);

/* Visits up to `buckets` buckets from *cursor on, calling fn for every entry
 * there; fn may delete the entry it is given (and only that one).  The
 * cursor wraps; a full round visits every entry that stayed in the table
 * the whole time.  Returns the number of entries visited. */
size_t dict_sweep(dict *d, size_t *cursor, size_t buckets,
                  void (*fn)(dict *d, dict_entry *e, void *arg), void *arg);
/* Rehashes for about `ms` milliseconds (idle-time work); also shrinks a
 * table that became mostly empty.  Returns true if more work remains. */
bool dict_rehash_ms(dict *d, int ms);
/* Moves up to n buckets; returns true if the rehash is not finished. */
bool dict_rehash(dict *d, int n);

/* The seeded hash of a key (exposed for tests). */
uint64_t dict_hash(uint64_t seed, const char *key, size_t len);

#endif
