# weft-memcached: a memcached-compatible cache on spec/memcache.weft;
# docs/memcache.md.  The cache engine (hash, LRU, cache) is its own set of
# modules so the unit tests can link it alone.
PROGRAMS += weft-memcached
MC_ENGINE_SRCS := examples/memcached/hash.c examples/memcached/lru.c \
                  examples/memcached/cache.c
MC_SRCS = examples/memcached/proto.c $(MC_ENGINE_SRCS)
weft-memcached_SRCS = examples/memcached/main.c $(MC_SRCS) $(CLI_SRCS)
weft-memcached_SPECS := memcache
