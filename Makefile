# weft — top-level Makefile.
#
#   make          install missing Debian packages (or print the command),
#                 build build/libweft.a, build/bin/weftc and every program
#   make run      build and start the main example server on 127.0.0.1
#   make test     build, then run every test (generator, C unit tests plain
#                 and under ASan+UBSan, integration tests, bounded fuzzing)
#   make fuzz     build the libFuzzer targets (clang)
#   make bench    see bench/run --help
#
# Sub-directories declare their programs, tests and fuzz targets in *.mk
# fragments (examples/*/module.mk, tests/*/module.mk, bench/module.mk) with
# the variables documented below, so adding a program never means editing
# this file:
#
#   PROGRAMS += weft-foo            built into build/bin/weft-foo
#   weft-foo_SRCS  := examples/foo/foo.c ...
#   weft-foo_SPECS := foo           spec/foo.weft, generated and linked in
#   weft-foo_LIBS  := -lm           extra link flags (optional)
#   CTESTS   += test_foo            C test, built plain and with sanitizers
#   test_foo_SRCS / test_foo_SPECS / test_foo_LIBS   as above
#   PYTESTS  += tests/integration/test_foo.py   run with unittest
#   FUZZERS  += fuzz_foo            fuzz_foo_SRCS / fuzz_foo_SPECS

.DEFAULT_GOAL := all
SHELL := /bin/bash

B        := build
OBJ      := $(B)/obj
AOBJ     := $(B)/asan/obj
GEN      := $(B)/gen
BIN      := $(B)/bin
ABIN     := $(B)/asan/bin

CC       ?= cc
FUZZ_CC  ?= clang
OPT      ?= -O2
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter
EVENT_CFLAGS := $(shell pkg-config --cflags libevent 2>/dev/null)
EVENT_LIBS   := $(shell pkg-config --libs libevent 2>/dev/null || echo -levent)
CMOCKA_LIBS  := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)
CPPFLAGS += -Iruntime -I$(GEN) -D_GNU_SOURCE
# Intel cores of the Skylake family with the JCC-erratum microcode (2019)
# run a jump that crosses or ends on a 32-byte boundary from the legacy
# decoders, which makes branchy code (the generated parsers) swing by 10%
# or more with where the linker happens to put it; the assembler can pad
# such jumps.  Empty where the toolchain lacks the option (clang, non-x86).
JCC_FLAGS := $(shell $(CC) -Wa,-mbranches-within-32B-boundaries -x c -c \
                -o /dev/null /dev/null 2>/dev/null \
                && echo -Wa,-mbranches-within-32B-boundaries)
CFLAGS   += -std=gnu11 $(OPT) $(JCC_FLAGS) -g $(WARN) $(EVENT_CFLAGS)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
# Generated parsers are compiled with -pedantic too (a promise of weftc).
GEN_CFLAGS := $(CFLAGS) -pedantic -Wno-unused-const-variable
LDLIBS   += $(EVENT_LIBS)

FUZZ_SECONDS ?= 20
PYTHON = $(shell scripts/find-python.sh)

# ---- dependencies ------------------------------------------------------
# A stamp keeps `make` from asking dpkg on every run; deps.sh is quick and
# idempotent anyway.
$(B)/.deps-build: scripts/deps.sh
	@mkdir -p $(B) && scripts/deps.sh build && touch $@
$(B)/.deps-test: scripts/deps.sh
	@mkdir -p $(B) && scripts/deps.sh test && touch $@
.PHONY: deps deps-test
deps: $(B)/.deps-build
deps-test: $(B)/.deps-test

# ---- the generator -----------------------------------------------------
WEFTC_SRCS := $(wildcard gen/*.py gen/*.lark templates/*)
$(BIN)/weftc: gen/weftc.in $(WEFTC_SRCS) | $(B)/.deps-build
	@mkdir -p $(BIN)
	sed -e "s|@PYTHON@|$(PYTHON)|" -e "s|@GENDIR@|$(CURDIR)/gen|" $< > $@
	chmod +x $@

# spec/NAME.weft -> build/gen/NAME.{h,c,rl}.  weftc writes only changed
# files, so the stamp is what make compares.
$(GEN)/%.stamp: spec/%.weft $(BIN)/weftc
	@mkdir -p $(GEN)
	$(BIN)/weftc $< -o $(GEN)
	@touch $@
$(GEN)/%.c $(GEN)/%.h: $(GEN)/%.stamp ;
.PRECIOUS: $(GEN)/%.stamp $(GEN)/%.c $(GEN)/%.h

# ---- libweft -----------------------------------------------------------
RT_SRCS := $(wildcard runtime/*.c)
RT_OBJS := $(RT_SRCS:%.c=$(OBJ)/%.o)
RT_AOBJS := $(RT_SRCS:%.c=$(AOBJ)/%.o)

$(OBJ)/%.o: %.c | $(B)/.deps-build
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@
$(AOBJ)/%.o: %.c | $(B)/.deps-build
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -MMD -MP -c $< -o $@
$(OBJ)/gen/%.o: $(GEN)/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(GEN_CFLAGS) -MMD -MP -c $< -o $@
$(AOBJ)/gen/%.o: $(GEN)/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(GEN_CFLAGS) $(SANFLAGS) -MMD -MP -c $< -o $@

$(B)/libweft.a: $(RT_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(B)/asan/libweft.a: $(RT_AOBJS)
	@mkdir -p $(@D) && rm -f $@
	ar rcs $@ $^

# ---- fragments -----------------------------------------------------------
PROGRAMS :=
CTESTS   :=
PYTESTS  :=
FUZZERS  :=
include $(sort $(shell find examples tests bench -name '*.mk' 2>/dev/null))

# Every object of a program or test may include any generated header, so
# all generated sources exist before any compiling starts.
ALL_SPECS := $(patsubst spec/%.weft,%,$(wildcard spec/*.weft))
GEN_STAMPS := $(ALL_SPECS:%=$(GEN)/%.stamp)

# $(call link_rules,NAME,OUTDIR,OBJDIR,LIB,EXTRA_FLAGS)
define link_rules
$(2)/$(1): $$($(1)_SRCS:%.c=$(3)/%.o) $$($(1)_SPECS:%=$(3)/gen/%.o) $(4)
	@mkdir -p $$(@D)
	$$(CC) $(5) $$^ -o $$@ $$($(1)_LIBS) $$(LDLIBS)
$$($(1)_SRCS:%.c=$(3)/%.o): | $$(GEN_STAMPS)
endef

$(foreach p,$(PROGRAMS),$(eval $(call link_rules,$(p),$(BIN),$(OBJ),$(B)/libweft.a,)))
$(foreach p,$(PROGRAMS),$(eval $(call link_rules,$(p),$(ABIN),$(AOBJ),$(B)/asan/libweft.a,$(SANFLAGS))))
$(foreach t,$(CTESTS),$(eval $(call link_rules,$(t),$(B)/tests,$(OBJ),$(B)/libweft.a,)))
$(foreach t,$(CTESTS),$(eval $(call link_rules,$(t),$(B)/asan/tests,$(AOBJ),$(B)/asan/libweft.a,$(SANFLAGS))))
$(foreach t,$(CTESTS),$(eval $(t)_LIBS += $(CMOCKA_LIBS)))

.PHONY: all programs asan
all: $(B)/.deps-build $(BIN)/weftc $(B)/libweft.a $(GEN_STAMPS) $(PROGRAMS:%=$(BIN)/%)
asan: $(B)/asan/libweft.a $(PROGRAMS:%=$(ABIN)/%)

# ---- fuzzing (clang libFuzzer) ------------------------------------------
FOBJ := $(B)/fuzz/obj
FUZZFLAGS := -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer -g -O1
$(FOBJ)/%.o: %.c | $(B)/.deps-test
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) -std=gnu11 $(EVENT_CFLAGS) $(FUZZFLAGS) -MMD -MP -c $< -o $@
$(FOBJ)/gen/%.o: $(GEN)/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) -std=gnu11 $(EVENT_CFLAGS) $(FUZZFLAGS) -MMD -MP -c $< -o $@
define fuzz_rules
$(B)/fuzz/$(1): $$($(1)_SRCS:%.c=$(FOBJ)/%.o) $$($(1)_SPECS:%=$(FOBJ)/gen/%.o) $$(RT_SRCS:%.c=$(FOBJ)/%.o)
	@mkdir -p $$(@D)
	$$(FUZZ_CC) $(FUZZFLAGS) $$^ -o $$@ $$(LDLIBS)
$$($(1)_SRCS:%.c=$(FOBJ)/%.o): | $$(GEN_STAMPS)
endef
$(foreach f,$(FUZZERS),$(eval $(call fuzz_rules,$(f))))
.PHONY: fuzz fuzz-run
fuzz: $(FUZZERS:%=$(B)/fuzz/%)
fuzz-run: fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) B=$(B) scripts/run-tests.sh "$(PYTHON)" "" "" "$(FUZZERS)"

# ---- tests ---------------------------------------------------------------
.PHONY: test test-build
test-build: $(B)/.deps-test all asan $(CTESTS:%=$(B)/tests/%) $(CTESTS:%=$(B)/asan/tests/%)

# Runs everything, keeps going after a failure, prints one summary line.
test: test-build fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) B=$(B) scripts/run-tests.sh \
	  "$(PYTHON)" "$(CTESTS)" "$(PYTESTS)" "$(FUZZERS)"

# ---- running ---------------------------------------------------------------
RUN_PROGRAM ?= weft-echo
RUN_ARGS    ?= --listen tcp:8080:interface=127.0.0.1
.PHONY: run
run: all
	@echo "starting $(RUN_PROGRAM) $(RUN_ARGS)  (Ctrl-C stops it)"
	$(BIN)/$(RUN_PROGRAM) $(RUN_ARGS)

.PHONY: bench
bench: all
	bench/run --help

.PHONY: clean
clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
