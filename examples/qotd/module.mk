PROGRAMS += weft-qotd
weft-qotd_SRCS := examples/qotd/qotd.c $(CLI_SRCS)
