# What `make run` starts (the Makefile's RUN_PROGRAM/RUN_ARGS defaults are
# overridden here): weft-httpd serving the demo site; it prints the URL.
RUN_PROGRAM := weft-httpd
RUN_ARGS    := --listen tcp:8080:interface=127.0.0.1 --root examples/httpd/site
