# SPDX-License-Identifier: GPL-2.0-or-later
# ksmvirt top-level Makefile.
#
#   make                 build the library, ksmvirt, ksmvirtd, the hook, test helpers
#   make check           everything CI runs (installs what it needs first)
#   make check-unit      fast: unit and CLI golden tests, plain and under ASan/UBSan
#   make syntax-check    static checks on sources and scripts
#   make install         install binaries, man pages, config
#   make install-hooks   install the libvirt hook
#   make fuzz            build the libFuzzer targets, run each FUZZ_SECONDS (fuzz/README)
#   make demo            start real guests under libvirt and report their sharing
#   make demo-stop       undo make demo
#   make clean / distclean
#
# Build directories: build/ (configured flags), build-san/ (ASan + UBSan),
# build-fuzz/ (clang, libFuzzer + ASan + UBSan).

-include config.mk

B ?= build
V ?= 0
Q = $(if $(filter 1,$(V)),,@)

CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(WARN_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS) $(SAN_FLAGS) \
	-D_GNU_SOURCE -Isrc -DG_LOG_DOMAIN=\"ksmvirt\" \
	-DSYSCONFDIR=\"$(SYSCONFDIR)\" -DLOCALSTATEDIR=\"$(LOCALSTATEDIR)\" \
	-DRUNSTATEDIR=\"$(RUNSTATEDIR)\" $(DEPS_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(EXTRA_CFLAGS) $(SAN_FLAGS)

LIB_SRCS := $(sort $(wildcard src/*.c))
LIB_OBJS := $(LIB_SRCS:src/%.c=$(B)/src/%.o)
LIB := $(B)/libksmvirt.a
TOOLS := $(patsubst tools/%.c,$(B)/%,$(wildcard tools/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
HELPER_SRCS := $(sort $(wildcard tests/helpers/*.c))
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(B)/tests/helpers/%)
HOOK_SRCS := $(sort $(wildcard libvirt-hooks/*.c))
HOOK_BINS := $(HOOK_SRCS:libvirt-hooks/%.c=$(B)/libvirt-hooks/%)
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(B)/bench/%)

all: $(LIB) $(TOOLS) $(HOOK_BINS) $(UNIT_BINS) $(HELPER_BINS) $(BENCH_BINS)

config.mk: configure
	@if [ ! -f config.mk ]; then scripts/install-deps build && ./configure --enable-werror; \
	else echo "config.mk is older than configure: re-run ./configure" >&2; exit 1; fi

$(B)/src/%.o: src/%.c $(wildcard src/*.h) config.mk
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/%: tools/%.c $(LIB) $(wildcard tools/*.h)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Itools -o $@ $< $(LIB) $(ALL_LDFLAGS) $(DEPS_LIBS)

# ksmvirtd is main (tools/ksmvirtd.c) and its own modules (tools/ksmvirtd/).
KSMVIRTD_SRCS := tools/ksmvirtd.c $(sort $(wildcard tools/ksmvirtd/*.c))
$(B)/ksmvirtd: $(KSMVIRTD_SRCS) $(LIB) $(wildcard tools/ksmvirtd/*.h)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Itools -o $@ $(KSMVIRTD_SRCS) $(LIB) $(ALL_LDFLAGS) $(DEPS_LIBS)

$(B)/tests/%: tests/unit/%.c $(LIB) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -DTEST_DATA_DIR=\"$(CURDIR)/tests/data\" -o $@ $< $(LIB) $(ALL_LDFLAGS) $(DEPS_LIBS)

# Test helpers and the hook are static-friendly plain C programs.
$(B)/tests/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS) $(DEPS_LIBS)

$(B)/libvirt-hooks/%: libvirt-hooks/%.c $(LIB) $(wildcard libvirt-hooks/*.h)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(ALL_LDFLAGS) $(DEPS_LIBS)

$(B)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(ALL_LDFLAGS) $(DEPS_LIBS)

# The sanitizer build used by check-unit and check.
san:
	$(Q)$(MAKE) --no-print-directory B=build-san \
		EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -O1" all

deps:
	$(Q)scripts/install-deps

check-unit: all san
	$(Q)tests/run-tests -s unit -s cli

check: deps config.mk
	$(Q)$(MAKE) --no-print-directory all san
	$(Q)tests/run-tests

syntax-check:
	$(Q)scripts/syntax-check

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(B)/ksmvirt $(DESTDIR)$(PREFIX)/bin/ksmvirt
	if [ -f $(B)/ksmvirtd ]; then install -m 755 $(B)/ksmvirtd $(DESTDIR)$(PREFIX)/sbin/ksmvirtd; fi
	for m in doc/*.1; do [ -f "$$m" ] && install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man1/; done; true
	for m in doc/*.5; do [ -f "$$m" ] && install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man5/; done; true
	for m in doc/*.8; do [ -f "$$m" ] && install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man8/; done; true
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(SYSCONFDIR)/ksmvirt
	sed 's|/usr/local/sbin/|$(PREFIX)/sbin/|' systemd/ksmvirtd.service >$(DESTDIR)$(PREFIX)/lib/systemd/system/ksmvirtd.service
	[ -f $(DESTDIR)$(SYSCONFDIR)/ksmvirt/ksmvirtd.conf ] || \
		install -m 644 doc/ksmvirtd.conf.example $(DESTDIR)$(SYSCONFDIR)/ksmvirt/ksmvirtd.conf

# libvirtd looks for hooks under its own sysconfdir, /etc on Debian, whatever
# prefix ksmvirt itself uses: override with LIBVIRT_HOOKS_DIR=...
LIBVIRT_HOOKS_DIR ?= /etc/libvirt/hooks/qemu.d
install-hooks: all
	install -d $(DESTDIR)$(LIBVIRT_HOOKS_DIR)
	install -m 755 $(B)/libvirt-hooks/ksmvirt-hook $(DESTDIR)$(LIBVIRT_HOOKS_DIR)/50-ksmvirt.new
	mv -f $(DESTDIR)$(LIBVIRT_HOOKS_DIR)/50-ksmvirt.new $(DESTDIR)$(LIBVIRT_HOOKS_DIR)/50-ksmvirt
	@# libvirtd notices new hooks only at start or on SIGHUP.
	$(Q)if [ -z "$(DESTDIR)" ] && pid=$$(pgrep -o -x libvirtd); then \
		echo "  HUP     libvirtd ($$pid) to load the hook"; kill -HUP $$pid; fi

include fuzz/fuzz.mk

demo: deps config.mk all
	$(Q)scripts/demo start

demo-stop:
	$(Q)scripts/demo stop

clean:
	rm -rf build build-san build-clang build-fuzz tests/logs

distclean: clean
	rm -f config.mk ci.log

.PHONY: all san deps check check-unit syntax-check install install-hooks demo demo-stop clean distclean
.DELETE_ON_ERROR:
