# The generated parsers of the generator's own specs (echo, chat,
# netstring): conformance cases at every split, the standalone API and the
# libweft glue over memconn.
CTESTS += test_gen_specs
test_gen_specs_SRCS := tests/unit/test_gen_specs.c
test_gen_specs_SPECS := echo chat netstring
