# The HTTP/1.1 request parser (spec/http.weft) with weft-httpd's framing,
# fed whole, at every split and byte by byte.
CTESTS += test_http_parser
test_http_parser_SRCS := tests/unit/test_http_parser.c examples/httpd/request.c
test_http_parser_SPECS := http

# spec/http.weft's conformance cases (tests/unit/cases/http.cases) through
# the generated trace harness.
CTESTS += test_http_cases
test_http_cases_SRCS := tests/unit/test_http_cases.c tests/unit/spec_cases.c
test_http_cases_SPECS := http
