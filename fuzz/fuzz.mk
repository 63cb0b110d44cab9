# SPDX-License-Identifier: GPL-2.0-or-later
# fuzz.mk: libFuzzer targets (included by the top-level Makefile).
#
#   make fuzz          build every target into build-fuzz/ and run each for
#                      FUZZ_SECONDS (default 60) over its seed corpus
#   make fuzz-build    only build them
#
# The library is compiled by clang with -fsanitize=fuzzer-no-link plus
# ASan and UBSan; each fuzz/fuzz-NAME.c links with -fsanitize=fuzzer into
# build-fuzz/fuzz/fuzz-NAME.  See fuzz/README.

FUZZ_B := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz-*.c))
FUZZ_BINS := $(FUZZ_SRCS:fuzz/%.c=$(FUZZ_B)/fuzz/%)

fuzz-build:
	$(Q)$(MAKE) --no-print-directory B=$(FUZZ_B) CC=clang \
		EXTRA_CFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_SAN) -O1 -g" \
		$(FUZZ_B)/libksmvirt.a fuzz-bins

fuzz-bins: $(FUZZ_BINS)

$(FUZZ_B)/fuzz/%: fuzz/%.c fuzz/init.c fuzz/fuzz.h $(FUZZ_B)/libksmvirt.a
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)clang $(filter-out -fsanitize=fuzzer-no-link,$(ALL_CFLAGS)) -fsanitize=fuzzer -Ifuzz \
		-o $@ $< fuzz/init.c $(FUZZ_B)/libksmvirt.a -fsanitize=fuzzer $(FUZZ_SAN) $(DEPS_LIBS)

fuzz: config.mk fuzz-build
	$(Q)scripts/fuzz --seconds $(FUZZ_SECONDS)

.PHONY: fuzz fuzz-build fuzz-bins
