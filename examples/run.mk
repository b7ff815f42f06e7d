# What `make run` starts (the Makefile's RUN_PROGRAM/RUN_ARGS defaults are
# overridden here; the HTTP example replaces them later).
RUN_PROGRAM := weft-echo
RUN_ARGS    := --listen tcp:8080:interface=127.0.0.1
