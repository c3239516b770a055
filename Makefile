# Tusk — top-level Makefile.
#
#   make            build every binary into build/bin/ and the web UI into build/web/
#   make test       install missing dependencies, build, run every test suite
#   make run        build, start the broker and a demo PostgreSQL, connect
#   make bench      benchmarks against psql and a bare libpq client
#   make clean      remove build/
#
# SAN=1 builds with AddressSanitizer + UndefinedBehaviorSanitizer into
# build/asan (make test does this itself).

VERSION := $(shell cat VERSION)
SAN ?=
ifeq ($(SAN),1)
BUILD ?= build/asan
else
BUILD ?= build
endif

CC ?= cc
PKG_CONFIG ?= pkg-config

WARN = -Wall -Wextra -Wformat=2 -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
       -Wpointer-arith -Wvla -Wwrite-strings -Wcast-qual -Wno-unused-parameter
WERROR ?= -Werror
OPT ?= -O2 -g
HARDEN = -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
ifeq ($(SAN),1)
OPT = -O1 -g -fno-omit-frame-pointer
HARDEN = -fsanitize=address,undefined -fno-sanitize-recover=undefined -DTUSK_SANITIZE=1
SANLD = -fsanitize=address,undefined
endif

PKGS_COMMON = libevent msgpack
PKGS_BROKER = $(PKGS_COMMON) sqlite3 libsecret-1
PKGS_WORKER = $(PKGS_COMMON) libpq libseccomp openssl libssh
PKGS_CLI    = $(PKGS_COMMON) libpq sqlite3
PKGS_GATEWAY = $(PKGS_COMMON) libsoup-3.0
PKGS_SHELL  = $(PKGS_COMMON) gtk+-3.0 webkit2gtk-4.1

pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(1))
pkg_libs   = $(shell $(PKG_CONFIG) --libs $(1))

LIBPQ_VERSION := $(shell $(PKG_CONFIG) --modversion libpq 2>/dev/null)
CPPFLAGS += -Icommon -DTUSK_VERSION='"$(VERSION)"' -DTUSK_LIBPQ_VERSION='"$(LIBPQ_VERSION)"' -D_GNU_SOURCE
CFLAGS_ALL = -std=c17 $(OPT) $(WARN) $(WERROR) $(HARDEN) -MMD -MP $(CFLAGS)
LDFLAGS_ALL = -pthread -pie -Wl,-z,relro,-z,now $(SANLD) $(LDFLAGS)

COMMON_SRC = $(wildcard common/*.c)
BROKER_SRC = $(wildcard broker/*.c)
WORKER_SRC = $(wildcard worker/*.c)
CLI_SRC    = $(wildcard ui/cli/*.c)
GATEWAY_SRC = $(wildcard ui/gateway/*.c)
SHELL_SRC  = $(wildcard ui/shell/*.c)
UNIT_SRC   = $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

COMMON_LIB = $(BUILD)/lib/libtuskcommon.a
BINS = $(BUILD)/bin/tuskd $(BUILD)/bin/tusk-worker $(BUILD)/bin/tuskctl $(BUILD)/bin/tusk-ui \
       $(BUILD)/bin/tusk
UNIT_BINS = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCH_BINS = $(BUILD)/bench/bare_client

.SECONDARY:

.PHONY: all test run bench clean setup unit asan fuzz fuzz-smoke check-deps tools web web-test

all: $(BINS) web

tools: $(BENCH_BINS)

$(BUILD)/obj/common/%.o: common/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(call pkg_cflags,$(PKGS_COMMON)) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/obj/broker/%.o: broker/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(call pkg_cflags,$(PKGS_BROKER)) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/obj/worker/%.o: worker/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(call pkg_cflags,$(PKGS_WORKER)) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/obj/ui/cli/%.o: ui/cli/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(call pkg_cflags,$(PKGS_CLI)) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/obj/ui/gateway/%.o: ui/gateway/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(call pkg_cflags,$(PKGS_GATEWAY)) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/obj/ui/shell/%.o: ui/shell/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(call pkg_cflags,$(PKGS_SHELL)) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Ibroker -Iworker $(call pkg_cflags,$(PKGS_BROKER) libpq libseccomp cmocka) $(CFLAGS_ALL) -c $< -o $@

$(COMMON_LIB): $(call obj,$(COMMON_SRC))
	@mkdir -p $(dir $@)
	@rm -f $@
	@echo "  AR      $@"
	@ar rcs $@ $^

$(BUILD)/bin/tuskd: $(call obj,$(BROKER_SRC)) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(call pkg_libs,$(PKGS_BROKER))

$(BUILD)/bin/tusk-worker: $(call obj,$(WORKER_SRC)) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(call pkg_libs,$(PKGS_WORKER))

$(BUILD)/bin/tuskctl: $(call obj,$(CLI_SRC)) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(call pkg_libs,$(PKGS_CLI))

$(BUILD)/bin/tusk-ui: $(call obj,$(GATEWAY_SRC)) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(call pkg_libs,$(PKGS_GATEWAY))

$(BUILD)/bin/tusk: $(call obj,$(SHELL_SRC)) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(call pkg_libs,$(PKGS_SHELL))

# The web UI (ui/web: Svelte + TypeScript, built by Vite into build/web).
# npm ci runs when node_modules is missing or the lock file changed; the
# sanitizer build shares the one bundle through a symlink.
WEB_DEPS = ui/web/node_modules/.tusk-npm-ci
WEB_SRC = $(shell find ui/web/src -type f 2>/dev/null) ui/web/index.html ui/web/vite.config.ts \
          ui/web/tsconfig.json $(wildcard ui/web/public/*)

$(WEB_DEPS): ui/web/package-lock.json ui/web/package.json
	@echo "  NPM     ci (ui/web)"
	@cd ui/web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

build/web/index.html: $(WEB_DEPS) $(WEB_SRC)
	@echo "  VITE    build/web"
	@cd ui/web && node_modules/.bin/vite build --logLevel warn --outDir ../../build/web --emptyOutDir

ifeq ($(BUILD),build)
web: build/web/index.html
else
web: build/web/index.html
	@mkdir -p $(BUILD)
	@ln -sfn ../web $(BUILD)/web
endif

web-test: $(WEB_DEPS)
	cd ui/web && node_modules/.bin/vitest run

# Unit tests link the module they test from its folder (see tests/unit/*.mk-style
# comments at the top of each test file); all link libtuskcommon.
$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(call pkg_libs,$(PKGS_BROKER) cmocka)

# test_sandbox checks the worker's pure sandbox decisions (sandbox-policy.c).
$(BUILD)/tests/test_sandbox: $(BUILD)/obj/tests/unit/test_sandbox.o $(BUILD)/obj/worker/sandbox-policy.o $(COMMON_LIB)

# test_store also links the broker's store module (SQLite).
$(BUILD)/tests/test_store: $(BUILD)/obj/tests/unit/test_store.o $(BUILD)/obj/broker/store.o $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(call pkg_libs,$(PKGS_BROKER) cmocka)

$(BUILD)/bench/bare_client: tests/bench/bare_client.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) -std=c17 -D_GNU_SOURCE -O2 -g $(WARN) $(WERROR) $(call pkg_cflags,libpq) -o $@ $< $(call pkg_libs,libpq)

unit: $(UNIT_BINS)

# --- setup, tests, run, bench -------------------------------------------

check-deps:
	@scripts/check-deps.sh

setup:
	@scripts/check-deps.sh --quiet || scripts/with-root.sh scripts/install-deps.sh

test: setup
	$(MAKE) all unit tools
	$(MAKE) SAN=1 all unit
	$(MAKE) fuzz
	tests/run.sh

run: setup all
	scripts/run.sh

bench: setup all tools
	tests/bench/run.sh

# --- fuzzing (clang + libFuzzer) -----------------------------------------

FUZZ_BUILD = build/fuzz
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS = $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))

fuzz: $(FUZZ_BINS)

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(COMMON_SRC)
	@mkdir -p $(dir $@)
	clang -std=c17 -O1 -g -fsanitize=fuzzer,address,undefined $(CPPFLAGS) \
	    $(call pkg_cflags,$(PKGS_COMMON)) -o $@ $< $(COMMON_SRC) $(call pkg_libs,$(PKGS_COMMON))

fuzz-smoke: fuzz
	tests/fuzz/run.sh 20

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
