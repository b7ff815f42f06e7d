# CONFORMANCE.md item 17: send_line writes the line plus the current mode's
# delimiter in one write (spec/netstring.weft: ":" in mode length, the
# default "\r\n" in the raw mode payload), over memconn.
CTESTS += test_send_line
test_send_line_SRCS := tests/unit/test_send_line.c
test_send_line_SPECS := netstring
