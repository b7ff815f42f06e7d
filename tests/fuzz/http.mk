# HTTP: the generated request parser's split invariance (trace harness with
# framing hooks), and weft-httpd's request framing on top of it.
FUZZERS += fuzz_http fuzz_httpreq
fuzz_http_SRCS := tests/fuzz/fuzz_http.c
fuzz_http_SPECS := http
fuzz_httpreq_SRCS := tests/fuzz/fuzz_httpreq.c examples/httpd/request.c
fuzz_httpreq_SPECS := http
