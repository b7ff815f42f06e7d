# weft-memcached: the cache engine alone, and the handlers driven through
# the generated memcache parser with command streams recorded from
# memcached (tests/unit/cases/memcache_server.cases), whole, at every split
# and byte by byte, plus the libweft glue over memconn.
CTESTS += test_memcache
test_memcache_SRCS = tests/unit/test_memcache.c $(MC_SRCS)
test_memcache_SPECS := memcache
