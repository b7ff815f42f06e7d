# The line/raw driver itself, with input-chosen mode tables and actions.
FUZZERS += fuzz_lines
fuzz_lines_SRCS := tests/fuzz/fuzz_lines.c
