# The line/raw driver's conformance runner (cases in tests/conformance/).
CTESTS += test_lines
test_lines_SRCS := tests/unit/test_lines.c
