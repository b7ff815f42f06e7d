/* hash.c — see hash.h. */
#include "hash.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define MC_HASH_M 0xc6a4a7935bd1e995ULL
#define MC_HASH_R 47

uint64_t mc_hash(const void *key, size_t len, uint64_t seed)
{
    const unsigned char *p = key;
    uint64_t h = seed ^ (len * MC_HASH_M);
    while (len >= 8) {
        uint64_t k;
        memcpy(&k, p, 8);            /* unaligned keys are the rule */
        k *= MC_HASH_M;
        k ^= k >> MC_HASH_R;
        k *= MC_HASH_M;
        h ^= k;
        h *= MC_HASH_M;
        p += 8;
        len -= 8;
    }
    if (len > 0) {
        uint64_t k = 0;
        memcpy(&k, p, len);
        h ^= k;
        h *= MC_HASH_M;
    }
    h ^= h >> MC_HASH_R;
    h *= MC_HASH_M;
    h ^= h >> MC_HASH_R;
    return h;
}

uint64_t mc_hash_random_seed(void)
{
    uint64_t seed;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == (ssize_t)sizeof seed)
        return seed;
    return (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
}
