# Unit tests of libweft's runtime (one file per module; cmocka).
RT_UNIT_TESTS := test_memconn
CTESTS += $(RT_UNIT_TESTS)
$(foreach t,$(RT_UNIT_TESTS),$(eval $(t)_SRCS := tests/unit/$(t).c))
