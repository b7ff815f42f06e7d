# The line/raw driver's conformance runner (cases in tests/conformance/).
CTESTS += test_lines
test_lines_SRCS := tests/unit/test_lines.c
# The block scan of LINE modes against a byte-wise model; again with the
# portable (non-SSE2) scan compiled in place of libweft's.
CTESTS += test_lines_scan test_lines_scan_scalar
test_lines_scan_SRCS := tests/unit/test_lines_scan.c
test_lines_scan_scalar_SRCS := tests/unit/test_lines_scan.c tests/unit/lines_scalar.c
