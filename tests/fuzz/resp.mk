# weft-redis: the resp parser's trace and the whole server path, split
# invariance under ASan/UBSan (tests/fuzz/fuzz_resp.c).
FUZZERS += fuzz_resp
fuzz_resp_SRCS = tests/fuzz/fuzz_resp.c $(REDIS_SRCS)
fuzz_resp_SPECS := resp
