# The generated parsers of the generator's own specs (echo, chat,
# netstring): conformance cases at every split, the standalone API and the
# libweft glue over memconn.
CTESTS += test_gen_specs
test_gen_specs_SRCS := tests/unit/test_gen_specs.c tests/unit/spec_cases.c
test_gen_specs_SPECS := echo chat netstring
# The glue over loopback sockets: resume / mode switch from a timer, then a
# handler that ends the connection (regression for a use-after-free).
CTESTS += test_gen_glue
test_gen_glue_SRCS := tests/unit/test_gen_glue.c
test_gen_glue_SPECS := chat netstring
