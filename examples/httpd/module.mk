# weft-httpd: static files and /echo over HTTP/1.1 (spec/http.weft).
# Recursive assignment: examples/common/module.mk (CLI_SRCS) sorts later.
PROGRAMS += weft-httpd
weft-httpd_SRCS = examples/httpd/main.c examples/httpd/httpd.c \
                  examples/httpd/request.c $(CLI_SRCS) \
                  $(FLOW_SRCS)
weft-httpd_SPECS := http
