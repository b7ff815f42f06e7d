# Unit tests of libweft's runtime (one file per module; cmocka).
RT_UNIT_TESTS := test_error test_reactor test_memconn test_endpoint test_conn test_factory test_retry \
                 test_conn_alloc
CTESTS += $(RT_UNIT_TESTS)
$(foreach t,$(RT_UNIT_TESTS),$(eval $(t)_SRCS := tests/unit/$(t).c))
test_reactor_LIBS := -lpthread
test_conn_LIBS := -lpthread
