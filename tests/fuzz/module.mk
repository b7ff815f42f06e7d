# Fuzz targets of the generator's own specs (tests/fuzz/README.md).
FUZZERS += fuzz_echo fuzz_chat fuzz_netstring
fuzz_echo_SRCS := tests/fuzz/fuzz_echo.c
fuzz_echo_SPECS := echo
fuzz_chat_SRCS := tests/fuzz/fuzz_chat.c
fuzz_chat_SPECS := chat
fuzz_netstring_SRCS := tests/fuzz/fuzz_netstring.c
fuzz_netstring_SPECS := netstring
