# weft-get: an HTTP/1.1 client (spec/http_response.weft).
PROGRAMS += weft-get
weft-get_SRCS = examples/httpget/main.c $(CLI_SRCS)
weft-get_SPECS := http_response
