/* hash.h — the key hash of weft-memcached's cache.
 *
 * A seeded 64-bit hash in the style of MurmurHash64A: eight bytes per step,
 * so the 10-50 byte keys memcached clients use cost a handful of
 * multiplications.  The seed is chosen at start-up so a client cannot
 * precompute colliding keys.
 */
#ifndef MC_HASH_H
#define MC_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Hash of len bytes at key under seed; any byte values are allowed. */
uint64_t mc_hash(const void *key, size_t len, uint64_t seed);

/* A seed from the system's random source (falls back to time and pid). */
uint64_t mc_hash_random_seed(void);

#endif
