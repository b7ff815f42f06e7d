# weft-lineecho: the line echo server of bench/echo, from spec/lineecho.weft.
PROGRAMS += weft-lineecho
weft-lineecho_SRCS = examples/lineecho/main.c $(CLI_SRCS)
weft-lineecho_SPECS := lineecho
