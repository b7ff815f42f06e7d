# weft-redis unit tests: hash table, inline splitter, request streams through
# the generated resp parser and the handlers (whole / every split / bytewise).
CTESTS += test_redis
test_redis_SRCS = tests/unit/test_redis.c $(REDIS_SRCS)
test_redis_SPECS := resp
# Parser cases (tests/unit/cases/resp.cases) through the trace harness.
CTESTS += test_resp_cases
test_resp_cases_SRCS := tests/unit/test_resp_cases.c tests/unit/spec_cases.c
test_resp_cases_SPECS := resp
# Side by side with redis-server, redis-cli and redis-benchmark.
PYTESTS += tests/integration/test_redis.py
