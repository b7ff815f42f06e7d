# Integration tests of weft-echo, weft-qotd and weft-nc (real processes,
# real sockets on 127.0.0.1, ::1 and unix sockets).
PYTESTS += tests/integration/test_programs.py
