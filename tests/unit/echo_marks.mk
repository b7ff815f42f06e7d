# The echo fast path under flow control and close: a generated line echo
# (spec/lineecho.weft) over memconn pauses right after the echo that crosses
# the high-water mark, at every split; close/abort from a callback stop the
# bound parser at once.
CTESTS += test_echo_marks
test_echo_marks_SRCS := tests/unit/test_echo_marks.c
test_echo_marks_SPECS := lineecho
