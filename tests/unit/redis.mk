# weft-redis unit tests: hash table, inline splitter, request streams through
# the generated resp parser and the handlers (whole / every split / bytewise).
CTESTS += test_redis
test_redis_SRCS = tests/unit/test_redis.c $(REDIS_SRCS)
test_redis_SPECS := resp
# Side by side with redis-server, redis-cli and redis-benchmark.
PYTESTS += tests/integration/test_redis.py
