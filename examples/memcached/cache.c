/* cache.c — see cache.h.  The rules follow memcached 1.6's items.c and
 * memcached.c (do_item_get, do_store_item, do_add_delta, realtime,
 * process_flush_all_command); comments name the memcached behaviour kept. */
#include "cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define MC_INITIAL_BUCKETS (1u << 16)
#define MC_MIGRATE_STEP 16        /* old buckets moved per insert */

/* memcached starts its clock 62 s after "process_started", so rel time 1
 * (the value for "already expired") is always in the past. */
#define MC_CLOCK_OFFSET 62

size_t mc_item_total(const mc_item *it)
{
    return sizeof(mc_item) + it->nkey + it->nbytes;
}

/* ---- the hash table, with incremental growth ---------------------------- */

static mc_item **bucket_of(mc_item **table, size_t n, uint64_t hv)
{
    return &table[hv & (n - 1)];
}

/* Moves up to `steps` old buckets into the current table. */
static void migrate(mc_cache *c, size_t steps)
{
    while (c->old && steps-- > 0) {
        mc_item *it = c->old[c->migrated];
        while (it) {
            mc_item *next = it->hnext;
            mc_item **b = bucket_of(c->table, c->nbuckets, it->hv);
            it->hnext = *b;
            *b = it;
            it = next;
        }
        c->old[c->migrated] = NULL;
        if (++c->migrated == c->nold) {
            free(c->old);
            c->old = NULL;
            c->nold = c->migrated = 0;
        }
    }
}

/* Starts doubling the table once there are more items than buckets (a
 * chain walk is a cache miss per item, so chains are kept short).
 * Growth is spread over later inserts, so no single command pays for
 * rehashing millions of items. */
static void maybe_grow(mc_cache *c)
{
    if (c->old || c->count <= c->nbuckets)
        return;
    mc_item **t = calloc(c->nbuckets * 2, sizeof *t);
    if (!t)
        return;                   /* longer chains, still correct */
    c->old = c->table;
    c->nold = c->nbuckets;
    c->migrated = 0;
    c->table = t;
    c->nbuckets *= 2;
}

/* The slot pointing at key's item (in whichever table holds it), or NULL. */
static mc_item **find_slot(mc_cache *c, const char *key, size_t nkey,
                           uint64_t hv)
{
    mc_item **tables[2] = { NULL, NULL };
    if (c->old && (hv & (c->nold - 1)) >= c->migrated)
        tables[0] = bucket_of(c->old, c->nold, hv);
    tables[1] = bucket_of(c->table, c->nbuckets, hv);
    for (int i = 0; i < 2; i++) {
        for (mc_item **pp = tables[i]; pp && *pp; pp = &(*pp)->hnext) {
            mc_item *it = *pp;
            if (it->hv == hv && it->nkey == nkey &&
                memcmp(it->key, key, nkey) == 0)
                return pp;
        }
    }
    return NULL;
}

/* ---- linking -------------------------------------------------------------- */

static mc_item *item_of(mc_lru_node *n)
{
    return (mc_item *)((char *)n - offsetof(mc_item, lru));
}

static bool is_flushed(const mc_cache *c, const mc_item *it)
{
    if (c->oldest_live == 0 || c->oldest_live > c->now)
        return false;
    return it->time <= c->oldest_live ||
           (c->oldest_cas != 0 && it->cas != 0 && it->cas < c->oldest_cas);
}

static bool is_expired(const mc_cache *c, const mc_item *it)
{
    return it->exptime != 0 && it->exptime <= c->now;
}

/* slot: where the table points at it, if the caller knows (else NULL). */
static void unlink_at(mc_cache *c, mc_item *it, mc_item **slot)
{
    mc_item **pp = slot ? slot : find_slot(c, it->key, it->nkey, it->hv);
    if (pp)
        *pp = it->hnext;
    mc_lru_remove(&c->lru, &it->lru);
    c->mem_used -= mc_item_total(it);
    c->count--;
    it->linked = 0;
    it->hnext = NULL;
}

static void unlink_and_free(mc_cache *c, mc_item *it)
{
    unlink_at(c, it, NULL);
    free(it);
}

/* Evicts from the LRU tail until `need` more bytes fit under the limit.
 * Dead items found there count as reclaimed, live ones as evictions; an
 * active item goes back to the head once (second chance). */
static void make_room(mc_cache *c, size_t need)
{
    size_t chances = 0;
    while (c->mem_used + need > c->mem_limit) {
        mc_lru_node *n = mc_lru_tail(&c->lru);
        if (!n)
            break;
        mc_item *it = item_of(n);
        bool dead = is_expired(c, it) || is_flushed(c, it);
        if (!dead && it->active && chances++ < c->lru.count) {
            it->active = 0;
            mc_lru_bump(&c->lru, n);
            continue;
        }
        if (dead) {
            c->stats.reclaimed++;
            if (!it->fetched)
                c->stats.expired_unfetched++;
        } else {
            c->stats.evictions++;
            if (!it->fetched)
                c->stats.evicted_unfetched++;
        }
        unlink_and_free(c, it);
    }
}

/* Links an unlinked item: a fresh cas id, the current time, the LRU head. */
static void link_item(mc_cache *c, mc_item *it)
{
    size_t total = mc_item_total(it);
    make_room(c, total);
    migrate(c, MC_MIGRATE_STEP);
    maybe_grow(c);
    mc_item **b = bucket_of(c->table, c->nbuckets, it->hv);
    it->hnext = *b;
    *b = it;
    mc_lru_push_head(&c->lru, &it->lru);
    it->cas = ++c->cas_last;
    it->time = c->now;
    it->linked = 1;
    c->mem_used += total;
    c->count++;
    c->stats.total_items++;
}

static void replace_item(mc_cache *c, mc_item *old, mc_item *it)
{
    unlink_and_free(c, old);
    link_item(c, it);
}

/* A read or an add of an existing key: recently used. */
static void bump(mc_cache *c, mc_item *it)
{
    it->time = c->now;
    it->active = 1;
}

/* ---- public ------------------------------------------------------------- */

int mc_cache_init(mc_cache *c, size_t mem_limit, size_t item_size_max,
                  time_t now)
{
    memset(c, 0, sizeof *c);
    c->nbuckets = MC_INITIAL_BUCKETS;
    c->table = calloc(c->nbuckets, sizeof *c->table);
    if (!c->table)
        return -1;
    mc_lru_init(&c->lru);
    c->mem_limit = mem_limit;
    c->item_size_max = item_size_max;
    c->seed = mc_hash_random_seed();
    c->started = now - MC_CLOCK_OFFSET;
    c->now = MC_CLOCK_OFFSET;
    return 0;
}

void mc_cache_free(mc_cache *c)
{
    mc_lru_node *n = c->lru.head;
    while (n) {
        mc_lru_node *next = n->next;
        free(item_of(n));
        n = next;
    }
    free(c->table);
    free(c->old);
    memset(c, 0, sizeof *c);
}

void mc_cache_set_time(mc_cache *c, time_t now)
{
    if (now > c->started && (mc_time)(now - c->started) > c->now)
        c->now = (mc_time)(now - c->started);
}

mc_time mc_cache_realtime(const mc_cache *c, int32_t exptime)
{
    /* Negative times are turned into a long-past absolute time, so the
     * item is expired at once (EXPTIME_TO_POSITIVE_TIME). */
    int64_t e = exptime < 0 ? MC_REALTIME_MAXDELTA + 1 : exptime;
    if (e == 0)
        return 0;
    if (e > MC_REALTIME_MAXDELTA) {
        if (e <= (int64_t)c->started)
            return 1;
        return (mc_time)(e - c->started);
    }
    return (mc_time)(e + c->now);
}

void mc_cache_set_limit(mc_cache *c, size_t mem_limit)
{
    c->mem_limit = mem_limit;
}

bool mc_item_size_ok(const mc_cache *c, size_t nkey, uint32_t flags,
                     uint64_t nbytes)
{
    if (nbytes < 2)
        return false;
    uint64_t total = MC_ITEM_HEADER + nkey + 1 + (flags ? 4 : 0) + nbytes +
                     MC_ITEM_CAS;
    return total <= c->item_size_max;
}

mc_item *mc_item_alloc(mc_cache *c, const char *key, size_t nkey,
                       uint32_t flags, mc_time exptime, uint32_t nbytes,
                       enum mc_alloc_result *why)
{
    if (nkey > MC_KEY_MAX || !mc_item_size_ok(c, nkey, flags, nbytes)) {
        *why = MC_ALLOC_TOO_LARGE;
        return NULL;
    }
    size_t total = sizeof(mc_item) + nkey + nbytes;
    if (total > c->mem_limit) {
        *why = MC_ALLOC_NO_MEMORY;
        return NULL;
    }
    mc_item *it = malloc(total);
    if (!it) {
        *why = MC_ALLOC_NO_MEMORY;
        return NULL;
    }
    memset(it, 0, sizeof *it);
    it->hv = mc_hash(key, nkey, c->seed);
    it->flags = flags;
    it->exptime = exptime;
    it->nbytes = nbytes;
    it->nkey = (uint8_t)nkey;
    memcpy(it->key, key, nkey);
    *why = MC_ALLOC_OK;
    return it;
}

void mc_item_free(mc_cache *c, mc_item *it)
{
    (void)c;
    free(it);
}

mc_item *mc_cache_get(mc_cache *c, const char *key, size_t nkey, bool do_bump)
{
    if (nkey > MC_KEY_MAX)
        return NULL;
    uint64_t hv = mc_hash(key, nkey, c->seed);
    mc_item **pp = find_slot(c, key, nkey, hv);
    if (!pp)
        return NULL;
    mc_item *it = *pp;
    if (is_flushed(c, it)) {
        c->stats.get_flushed++;
        unlink_at(c, it, pp);
        free(it);
        return NULL;
    }
    if (is_expired(c, it)) {
        c->stats.get_expired++;
        unlink_at(c, it, pp);
        free(it);
        return NULL;
    }
    if (do_bump)
        bump(c, it);
    return it;
}

mc_item *mc_cache_fetch(mc_cache *c, const char *key, size_t nkey)
{
    mc_item *it = mc_cache_get(c, key, nkey, true);
    c->stats.get_cmds++;
    if (it) {
        c->stats.get_hits++;
        it->fetched = 1;
    } else {
        c->stats.get_misses++;
    }
    return it;
}

mc_item *mc_cache_touch(mc_cache *c, const char *key, size_t nkey,
                        mc_time exptime)
{
    mc_item *it = mc_cache_get(c, key, nkey, true);
    c->stats.touch_cmds++;
    if (!it) {
        c->stats.touch_misses++;
        return NULL;
    }
    c->stats.touch_hits++;
    it->fetched = 1;
    it->exptime = exptime;
    return it;
}

/* append/prepend: a new item holding both values, with the old item's
 * flags and exptime (the new command's are ignored, as in memcached). */
static mc_item *concat(mc_cache *c, mc_item *old, mc_item *it, bool append)
{
    enum mc_alloc_result why;
    uint64_t n = (uint64_t)old->nbytes + it->nbytes - 2;
    if (n > UINT32_MAX)
        return NULL;
    mc_item *ni = mc_item_alloc(c, old->key, old->nkey, old->flags,
                                old->exptime, (uint32_t)n, &why);
    if (!ni)
        return NULL;
    mc_item *first = append ? old : it, *second = append ? it : old;
    memcpy(MC_ITEM_VALUE(ni), MC_ITEM_VALUE(first), first->nbytes - 2);
    memcpy(MC_ITEM_VALUE(ni) + first->nbytes - 2, MC_ITEM_VALUE(second),
           second->nbytes);
    return ni;
}

enum mc_store_result mc_cache_store(mc_cache *c, mc_item *it,
                                    enum mc_store_cmd cmd)
{
    mc_item *old = mc_cache_get(c, it->key, it->nkey, false);
    enum mc_store_result r = MC_NOT_STORED;
    mc_item *store = NULL;

    c->stats.set_cmds++;
    if (old) {
        switch (cmd) {
        case MC_ADD:
            bump(c, old);         /* add fails but promotes the item */
            break;
        case MC_CAS:
            if (it->cas != 0 && it->cas == old->cas) {
                c->stats.cas_hits++;
                store = it;
            } else {
                c->stats.cas_badval++;
                r = MC_EXISTS;
            }
            break;
        case MC_APPEND:
        case MC_PREPEND:
            store = concat(c, old, it, cmd == MC_APPEND);
            break;
        case MC_SET:
        case MC_REPLACE:
            store = it;
            break;
        }
        if (store) {
            replace_item(c, old, store);
            r = MC_STORED;
        }
    } else {
        switch (cmd) {
        case MC_ADD:
        case MC_SET:
            link_item(c, it);
            store = it;
            r = MC_STORED;
            break;
        case MC_CAS:
            c->stats.cas_misses++;
            r = MC_NOT_FOUND;
            break;
        default:
            break;                /* replace/append/prepend need an item */
        }
    }
    if (store != it)
        free(it);
    return r;
}

bool mc_cache_delete(mc_cache *c, const char *key, size_t nkey)
{
    mc_item *it = mc_cache_get(c, key, nkey, false);
    if (!it) {
        c->stats.delete_misses++;
        return false;
    }
    c->stats.delete_hits++;
    unlink_and_free(c, it);
    return true;
}

void mc_cache_remove(mc_cache *c, const char *key, size_t nkey)
{
    mc_item *it = mc_cache_get(c, key, nkey, false);
    if (it)
        unlink_and_free(c, it);
}

/* memcached's safe_strtoull() over the value (which ends in "\r\n"). */
static bool value_number(const mc_item *it, uint64_t *out)
{
    char tmp[64];
    char *s = tmp, *heap = NULL;
    size_t n = it->nbytes;
    if (n + 1 > sizeof tmp) {
        heap = malloc(n + 1);
        if (!heap)
            return false;
        s = heap;
    }
    memcpy(s, MC_ITEM_VALUE(it), n);
    s[n] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    bool ok = errno != ERANGE && end != s &&
              (end[0] == ' ' || (end[0] >= '\t' && end[0] <= '\r') ||
               end[0] == '\0');
    if (ok && (long long)v < 0 && strchr(s, '-'))
        ok = false;
    free(heap);
    *out = v;
    return ok;
}

enum mc_delta_result mc_cache_delta(mc_cache *c, const char *key, size_t nkey,
                                    bool incr, uint64_t delta, char *buf)
{
    mc_item *it = mc_cache_get(c, key, nkey, false);
    if (!it) {
        if (incr)
            c->stats.incr_misses++;
        else
            c->stats.decr_misses++;
        return MC_DELTA_NOT_FOUND;
    }
    uint64_t value;
    if (it->nbytes <= 2 || !value_number(it, &value))
        return MC_DELTA_NON_NUMERIC;
    if (incr) {
        value += delta;           /* wraps at 2^64, as memcached's does */
        c->stats.incr_hits++;
    } else {
        value = delta > value ? 0 : value - delta;
        c->stats.decr_hits++;
    }
    int res = snprintf(buf, 21, "%llu", (unsigned long long)value);
    if ((uint32_t)res + 2 <= it->nbytes) {
        /* Fits: rewrite in place, padding with spaces to the old length,
         * with a new cas id. */
        memcpy(MC_ITEM_VALUE(it), buf, (size_t)res);
        memset(MC_ITEM_VALUE(it) + res, ' ', it->nbytes - (size_t)res - 2);
        it->cas = ++c->cas_last;
        bump(c, it);
        return MC_DELTA_OK;
    }
    enum mc_alloc_result why;
    mc_item *ni = mc_item_alloc(c, it->key, it->nkey, it->flags, it->exptime,
                                (uint32_t)res + 2, &why);
    if (!ni)
        return MC_DELTA_EOM;
    memcpy(MC_ITEM_VALUE(ni), buf, (size_t)res);
    memcpy(MC_ITEM_VALUE(ni) + res, "\r\n", 2);
    replace_item(c, it, ni);
    return MC_DELTA_OK;
}

void mc_cache_flush(mc_cache *c, int32_t delay)
{
    mc_time new_oldest = delay > 0 ? mc_cache_realtime(c, delay) : c->now;
    c->stats.flush_cmds++;
    c->oldest_live = new_oldest - 1;
    if (c->oldest_live <= c->now)
        c->oldest_cas = ++c->cas_last;
}
