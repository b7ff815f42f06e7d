PROGRAMS += weft-echo
weft-echo_SRCS := examples/echo/echo.c $(CLI_SRCS) $(FLOW_SRCS)
