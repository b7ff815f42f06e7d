PROGRAMS += weft-nc
weft-nc_SRCS := examples/nc/nc.c $(CLI_SRCS)
