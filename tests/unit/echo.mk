# The echo fast path of conn.c (output as a slice of the input): order of
# echoed and other writes over memconn and loopback TCP.
CTESTS += test_echo_slice
test_echo_slice_SRCS := tests/unit/test_echo_slice.c
