# weft-memcached against memcached 1.6 side by side, and libmemcached's
# command-line clients against weft-memcached.
PYTESTS += tests/integration/test_memcache.py
PYTESTS += tests/integration/test_memcache_clients.py
