/* dict.c — chained hash table with incremental rehash; see dict.h. */
#include "dict.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INITIAL_SIZE 4

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "weft-redis: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

static void *xrealloc(void *old, size_t n)
{
    void *p = realloc(old, n);
    if (!p) {
        fprintf(stderr, "weft-redis: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

/* ---- hashing ------------------------------------------------------------ */

/* A wyhash-style hash: 64x64->128 multiply-fold of 8-byte words, seeded.
 * Fast on the short keys Redis workloads use and, with a secret seed, not
 * open to chosen-collision floods the way an unseeded FNV would be. */
static inline uint64_t fold(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t rd32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

#define K0 0xa0761d6478bd642full
#define K1 0xe7037ed1a0b428dbull
#define K2 0x8ebc6af09c88c6e3ull

uint64_t dict_hash(uint64_t seed, const char *key, size_t len)
{
    const unsigned char *p = (const unsigned char *)key;
    uint64_t s = seed ^ K0, a, b;
    if (len <= 16) {
        if (len >= 4) {
            a = (rd32(p) << 32) | rd32(p + ((len >> 3) << 2));
            b = (rd32(p + len - 4) << 32) | rd32(p + len - 4 - ((len >> 3) << 2));
        } else if (len > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t i = len;
        while (i > 16) {
            s = fold(rd64(p) ^ K1, rd64(p + 8) ^ s);
            p += 16;
            i -= 16;
        }
        a = rd64(p + i - 16);
        b = rd64(p + i - 8);
    }
    return fold(K1 ^ len, fold(a ^ K1, b ^ s));
}

/* ---- tables ------------------------------------------------------------- */

static size_t entry_mem(const dict_entry *e)
{
    return malloc_usable_size((void *)e);
}

void dict_init(dict *d, uint64_t seed)
{
    memset(d, 0, sizeof *d);
    d->rehashidx = -1;
    d->seed = seed;
}

static void table_free(dict *d, dict_table *t)
{
    for (size_t i = 0; i < t->size; i++) {
        dict_entry *e = t->b[i];
        while (e) {
            dict_entry *next = e->next;
            d->mem -= entry_mem(e);
            free(e);
            e = next;
        }
    }
    if (t->b)
        d->mem -= malloc_usable_size(t->b);
    free(t->b);
    memset(t, 0, sizeof *t);
}

void dict_free(dict *d)
{
    table_free(d, &d->t[0]);
    table_free(d, &d->t[1]);
    d->rehashidx = -1;
    d->volatile_keys = 0;
}

void dict_clear(dict *d)
{
    dict_free(d);
}

static bool rehashing(const dict *d)
{
    return d->rehashidx >= 0;
}

/* Starts moving everything to a table of `size` buckets (a power of two). */
static void start_resize(dict *d, size_t size)
{
    dict_table *t = &d->t[1];
    t->b = calloc(size, sizeof *t->b);
    if (!t->b) {
        fprintf(stderr, "weft-redis: out of memory growing the table\n");
        abort();
    }
    d->mem += malloc_usable_size(t->b);
    t->size = size;
    t->used = 0;
    if (d->t[0].size == 0) {          /* first table: nothing to move */
        d->t[0] = *t;
        memset(t, 0, sizeof *t);
        return;
    }
    d->rehashidx = 0;
}

static size_t pow2_at_least(size_t n)
{
    size_t s = INITIAL_SIZE;
    while (s < n)
        s <<= 1;
    return s;
}

bool dict_rehash(dict *d, int n)
{
    int empty_visits = n * 10;
    if (!rehashing(d))
        return false;
    dict_table *from = &d->t[0], *to = &d->t[1];
    while (n-- > 0 && from->used > 0) {
        while (from->b[d->rehashidx] == NULL) {
            d->rehashidx++;
            if (--empty_visits == 0)
                return true;
        }
        dict_entry *e = from->b[d->rehashidx];
        while (e) {
            dict_entry *next = e->next;
            size_t i = e->hash & (to->size - 1);
            e->next = to->b[i];
            to->b[i] = e;
            from->used--;
            to->used++;
            e = next;
        }
        from->b[d->rehashidx++] = NULL;
    }
    if (from->used == 0) {
        d->mem -= malloc_usable_size(from->b);
        free(from->b);
        *from = *to;
        memset(to, 0, sizeof *to);
        d->rehashidx = -1;
        return false;
    }
    return true;
}

static void maybe_grow(dict *d)
{
    if (rehashing(d))
        return;
    if (d->t[0].size == 0)
        start_resize(d, INITIAL_SIZE);
    else if (d->t[0].used >= d->t[0].size)
        start_resize(d, pow2_at_least(d->t[0].used * 2));
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

bool dict_rehash_ms(dict *d, int ms)
{
    if (!rehashing(d) && d->t[0].size > INITIAL_SIZE &&
        d->t[0].used * 10 < d->t[0].size)
        start_resize(d, pow2_at_least(d->t[0].used));
    double end = now_ms() + ms;
    while (dict_rehash(d, 100))
        if (now_ms() > end)
            return true;
    return false;
}

/* ---- lookups ------------------------------------------------------------ */

/* The link (bucket slot or previous entry's next) pointing at key's entry,
 * or NULL if the key is absent. */
static dict_entry **find_link(dict *d, const char *key, size_t klen,
                              uint32_t h, int *table)
{
    for (int t = 0; t < 2; t++) {
        dict_table *tb = &d->t[t];
        if (tb->size == 0)
            continue;
        dict_entry **l = &tb->b[h & (tb->size - 1)];
        for (; *l; l = &(*l)->next) {
            dict_entry *e = *l;
            if (e->hash == h && e->klen == klen &&
                memcmp(e->data, key, klen) == 0) {
                if (table)
                    *table = t;
                return l;
            }
        }
        if (!rehashing(d))
            break;
    }
    return NULL;
}

static dict_entry **link_of(dict *d, dict_entry *e, int *table)
{
    dict_entry **l = find_link(d, e->data, e->klen, e->hash, table);
    if (!l || *l != e)
        abort();                      /* not ours: a caller bug */
    return l;
}

dict_entry *dict_find(dict *d, const char *key, size_t klen)
{
    if (dict_size(d) == 0)
        return NULL;
    if (rehashing(d))
        dict_rehash(d, 1);
    dict_entry **l = find_link(d, key, klen,
                               (uint32_t)dict_hash(d->seed, key, klen), NULL);
    return l ? *l : NULL;
}

dict_entry *dict_set(dict *d, const char *key, size_t klen,
                     const char *val, size_t vlen, bool *created)
{
    if (rehashing(d))
        dict_rehash(d, 1);
    uint32_t h = (uint32_t)dict_hash(d->seed, key, klen);
    dict_entry **l = find_link(d, key, klen, h, NULL);
    if (l) {
        dict_entry *e = *l;
        if (vlen > e->vcap || (e->vcap > 64 && vlen < e->vcap / 2)) {
            d->mem -= entry_mem(e);
            e = xrealloc(e, sizeof *e + klen + vlen);
            e->vcap = (uint32_t)vlen;
            d->mem += entry_mem(e);
            *l = e;
        }
        memcpy(dict_val(e), val, vlen);
        e->vlen = (uint32_t)vlen;
        if (created)
            *created = false;
        return e;
    }
    maybe_grow(d);
    size_t cap = vlen;            /* exact; APPEND grows geometrically */
    dict_entry *e = xmalloc(sizeof *e + klen + cap);
    e->expire = 0;
    e->hash = h;
    e->klen = (uint32_t)klen;
    e->vlen = (uint32_t)vlen;
    e->vcap = (uint32_t)cap;
    memcpy(e->data, key, klen);
    memcpy(e->data + klen, val, vlen);
    dict_table *t = &d->t[rehashing(d) ? 1 : 0];
    size_t i = h & (t->size - 1);
    e->next = t->b[i];
    t->b[i] = e;
    t->used++;
    d->mem += entry_mem(e);
    if (created)
        *created = true;
    return e;
}

dict_entry *dict_resize_value(dict *d, dict_entry *e, size_t vlen)
{
    if (vlen > e->vcap) {
        size_t cap = vlen < 1024 * 1024 ? vlen * 2 : vlen + 1024 * 1024;
        if (cap > DICT_MAX_LEN)
            cap = vlen;
        dict_entry **l = link_of(d, e, NULL);
        d->mem -= entry_mem(e);
        e = xrealloc(e, sizeof *e + e->klen + cap);
        e->vcap = (uint32_t)cap;
        d->mem += entry_mem(e);
        *l = e;
    }
    e->vlen = (uint32_t)vlen;
    return e;
}

void dict_set_expire(dict *d, dict_entry *e, int64_t expire)
{
    if (e->expire && !expire)
        d->volatile_keys--;
    else if (!e->expire && expire)
        d->volatile_keys++;
    e->expire = expire;
}

void dict_delete_entry(dict *d, dict_entry *e)
{
    int t = 0;
    dict_entry **l = link_of(d, e, &t);
    *l = e->next;
    d->t[t].used--;
    if (e->expire)
        d->volatile_keys--;
    d->mem -= entry_mem(e);
    free(e);
}

bool dict_delete(dict *d, const char *key, size_t klen)
{
    if (dict_size(d) == 0)
        return false;
    if (rehashing(d))
        dict_rehash(d, 1);
    dict_entry *e = dict_find(d, key, klen);
    if (!e)
        return false;
    dict_delete_entry(d, e);
    return true;
}

size_t dict_sweep(dict *d, size_t *cursor, size_t buckets,
                  void (*fn)(dict *d, dict_entry *e, void *arg), void *arg)
{
    size_t visited = 0;
    while (buckets-- > 0 && dict_size(d) > 0) {
        size_t span = d->t[0].size > d->t[1].size ? d->t[0].size : d->t[1].size;
        size_t c = *cursor % span;
        for (int t = 0; t < 2; t++) {
            dict_table *tb = &d->t[t];
            if (tb->size == 0)
                continue;
            if (c >= tb->size)
                continue;             /* the smaller table's round is done */
            dict_entry *e = tb->b[c];
            while (e) {
                dict_entry *next = e->next;
                fn(d, e, arg);
                visited++;
                e = next;
            }
        }
        *cursor = c + 1;
    }
    return visited;
}
