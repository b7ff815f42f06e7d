# Fuzz targets of weft-memcached: the generated memcache parser's split
# invariance (trace harness), and the handlers' replies whole / chunked /
# bytewise / through the tolerant path alone.
FUZZERS += fuzz_memcache fuzz_memcached
fuzz_memcache_SRCS := tests/fuzz/fuzz_memcache.c
fuzz_memcache_SPECS := memcache
fuzz_memcached_SRCS = tests/fuzz/fuzz_memcached.c $(MC_SRCS)
fuzz_memcached_SPECS := memcache
