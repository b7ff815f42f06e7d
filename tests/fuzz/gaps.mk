# Split invariance of the two shipped specs that had no fuzz target:
# spec/lineecho.weft, and spec/http_response.weft with a client's framing
# (Content-Length, chunked, until close; no body for 1xx/204/304) as hooks.
FUZZERS += fuzz_lineecho fuzz_http_response
fuzz_lineecho_SRCS := tests/fuzz/fuzz_lineecho.c
fuzz_lineecho_SPECS := lineecho
fuzz_http_response_SRCS := tests/fuzz/fuzz_http_response.c
fuzz_http_response_SPECS := http_response
