# Tusk — top-level Makefile.
#
#   make            build every binary into build/bin/ and the web UI into build/web/
#   make test       install missing dependencies, build, run every test suite
#   make run        build, start the broker and a demo PostgreSQL, connect
#   make bench      benchmarks against psql and a bare libpq client
#   make install    install under PREFIX (/usr/local) into DESTDIR; uninstall too
#   make deb        build the Debian package into build/deb/ (and lintian it)
#   make clean      remove build/
#
# SAN=1 builds with AddressSanitizer + UndefinedBehaviorSanitizer into
# build/asan (make test does this itself).

VERSION := $(shell cat VERSION)
# the application id: desktop entry, AppStream metadata, icon (packaging/desktop)
APP_ID = io.github.tusk.Tusk
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
CPPFLAGS += -Icommon -DTUSK_VERSION='"$(VERSION)"' -DTUSK_APP_ID='"$(APP_ID)"' -DTUSK_LIBPQ_VERSION='"$(LIBPQ_VERSION)"' -D_GNU_SOURCE
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
BENCH_BINS = $(BUILD)/bench/bare_client $(BUILD)/bench/schema_client

.SECONDARY:

.PHONY: all test run bench clean setup unit asan fuzz fuzz-smoke check-deps tools web web-test web-check

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
	$(CC) $(CPPFLAGS) -Ibroker -Iworker -Iui/cli -Iui/gateway $(call pkg_cflags,$(PKGS_BROKER) libpq libseccomp cmocka) $(CFLAGS_ALL) -c $< -o $@

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
          ui/web/tsconfig.json ui/web/svelte.config.js $(wildcard ui/web/public/*)

$(WEB_DEPS): ui/web/package-lock.json ui/web/package.json
	@echo "  NPM     ci (ui/web)"
	@cd ui/web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The page's protocol types (methods, params, results, notifications, named
# shapes, flags) are generated from the broker's own table: `tuskd
# --describe` read by ui/web/scripts/gen-protocol.mjs. The file is rewritten
# only when its text changes, so a rebuilt tuskd with the same protocol does
# not rebuild the bundle.
# (The stamp says when it was last checked.)
WEB_GEN = ui/web/src/lib/protocol.gen.ts
WEB_GEN_STAMP = $(BUILD)/web-protocol.stamp

$(WEB_GEN_STAMP): $(BUILD)/bin/tuskd ui/web/scripts/gen-protocol.mjs $(WEB_DEPS)
	@echo "  GEN     $(WEB_GEN)"
	@node ui/web/scripts/gen-protocol.mjs $(BUILD)/bin/tuskd $(WEB_GEN)
	@touch $@

$(WEB_GEN): $(WEB_GEN_STAMP)
	@test -f $@ || node ui/web/scripts/gen-protocol.mjs $(BUILD)/bin/tuskd $@

build/web/index.html: $(WEB_DEPS) $(WEB_GEN) $(WEB_SRC)
	@echo "  VITE    build/web"
	@cd ui/web && node_modules/.bin/vite build --logLevel warn --outDir ../../build/web --emptyOutDir

ifeq ($(BUILD),build)
web: build/web/index.html
else
web: build/web/index.html
	@mkdir -p $(BUILD)
	@ln -sfn ../web $(BUILD)/web
endif

web-test: $(WEB_DEPS) $(WEB_GEN)
	cd ui/web && node_modules/.bin/vitest run

# Type checks of the page (tests/run.sh runs them as a suite): zero errors
# and zero warnings from svelte-check (components and modules) and tsc.
web-check: $(WEB_DEPS) $(WEB_GEN)
	cd ui/web && node_modules/.bin/svelte-check --tsconfig ./tsconfig.json --fail-on-warnings
	cd ui/web && node_modules/.bin/tsc --noEmit -p tsconfig.json

# Unit tests link the module they test from its folder (see tests/unit/*.mk-style
# comments at the top of each test file); all link libtuskcommon.
$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(call pkg_libs,$(PKGS_BROKER) cmocka)

# test_sandbox checks the worker's pure sandbox decisions (sandbox-policy.c).
$(BUILD)/tests/test_sandbox: $(BUILD)/obj/tests/unit/test_sandbox.o $(BUILD)/obj/worker/sandbox-policy.o $(COMMON_LIB)

# test_ack: the gateway's "ack N" parser; test_json_pack: tuskctl's JSON
# packing (the module before the library it uses).
$(BUILD)/tests/test_ack: $(BUILD)/obj/tests/unit/test_ack.o $(BUILD)/obj/ui/gateway/ack.o $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(call pkg_libs,$(PKGS_BROKER) cmocka)

$(BUILD)/tests/test_json_pack: $(BUILD)/obj/tests/unit/test_json_pack.o $(BUILD)/obj/ui/cli/json-pack.o $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(call pkg_libs,$(PKGS_BROKER) cmocka)

# test_store also links the broker's store module (SQLite: store*.c).
$(BUILD)/tests/test_store: $(BUILD)/obj/tests/unit/test_store.o $(call obj,$(wildcard broker/store*.c)) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(call pkg_libs,$(PKGS_BROKER) cmocka)

# test_tablesql links the broker's statement builder (tablesql.c).
$(BUILD)/tests/test_tablesql: $(BUILD)/obj/tests/unit/test_tablesql.o $(BUILD)/obj/broker/tablesql.o $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(call pkg_libs,$(PKGS_BROKER) cmocka)
$(BUILD)/bench/bare_client: tests/bench/bare_client.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) -std=c17 -D_GNU_SOURCE -O2 -g $(WARN) $(WERROR) $(call pkg_cflags,libpq) -pthread -o $@ $< $(call pkg_libs,libpq)

# schema_client times get_schema at the broker's socket with Tusk's scanner.
$(BUILD)/bench/schema_client: tests/bench/schema_client.c $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) -O2 -g $(call pkg_cflags,$(PKGS_COMMON)) -std=c17 $(WARN) $(WERROR) -o $@ $< $(COMMON_LIB) $(call pkg_libs,$(PKGS_COMMON))

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

# --- data, install, the Debian package (docs/packaging.md) ----------------
#
# `make data` renders what is installed beside the binaries into build/data:
# man pages and AppStream metadata with VERSION (and its date) filled in, the
# icon's PNG sizes from its SVG. Generated files never depend on PREFIX; the
# one file that names a path (the systemd service's ExecStart) is written at
# install time. The binaries find each other relative to their own location
# (tuskd: tusk-worker beside it or in ../libexec/tusk/), so the layout below
# is fixed under PREFIX.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
PKGLIBEXECDIR = $(PREFIX)/libexec/tusk
DATADIR = $(PREFIX)/share
MANDIR = $(DATADIR)/man
ICONDIR = $(DATADIR)/icons/hicolor
BASHCOMPDIR = $(DATADIR)/bash-completion/completions
SYSTEMDUSERUNITDIR ?= $(PREFIX)/lib/systemd/user

ICON_SIZES = 16 32 48 64 128 256
MANPAGES = tusk.1 tuskctl.1 tuskd.8
DATA = build/data
comma := ,

# The release date: dpkg-buildpackage's SOURCE_DATE_EPOCH (from the
# changelog), else the commit that last changed VERSION, else its mtime.
ifdef SOURCE_DATE_EPOCH
RELEASE_DATE := $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%F)
else
RELEASE_DATE := $(shell git log -1 --format=%cs -- VERSION 2>/dev/null)
endif
ifeq ($(RELEASE_DATE),)
RELEASE_DATE := $(shell date -u -r VERSION +%F)
endif
MAN_DATE := $(shell LC_ALL=C date -u -d $(RELEASE_DATE) '+%B %-d, %Y')

# What `make` built: the desktop programs (tusk, tusk-ui, the web UI) are
# installed when the tree has them.
INSTALL_BIN = $(filter $(BUILD)/bin/tusk $(BUILD)/bin/tuskctl $(BUILD)/bin/tuskd,$(BINS))
INSTALL_LIBEXEC = $(filter $(BUILD)/bin/tusk-worker $(BUILD)/bin/tusk-ui,$(BINS))
WEB_OUT = $(if $(wildcard ui/web/package.json),build/web)

DATA_FILES = $(addprefix $(DATA)/man/,$(MANPAGES)) $(DATA)/$(APP_ID).metainfo.xml \
	$(foreach n,$(ICON_SIZES),$(DATA)/icons/$(n)x$(n)/$(APP_ID).png)

.PHONY: data install install-core install-desktop uninstall deb

data: $(DATA_FILES)

$(DATA)/man/%: packaging/man/%.in VERSION
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	@sed -e 's/@VERSION@/$(VERSION)/g' -e 's/^\.Dd .*/.Dd $(MAN_DATE)/' $< > $@.tmp && mv $@.tmp $@

$(DATA)/$(APP_ID).metainfo.xml: packaging/desktop/$(APP_ID).metainfo.xml.in VERSION
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	@sed -e 's/@VERSION@/$(VERSION)/g' -e 's/@DATE@/$(RELEASE_DATE)/g' $< > $@.tmp && mv $@.tmp $@

$(DATA)/icons/%/$(APP_ID).png: packaging/desktop/$(APP_ID).svg
	@mkdir -p $(dir $@)
	@echo "  RSVG    $@"
	@n=$*; rsvg-convert -w $${n%x*} -h $${n#*x} -o $@ $<

# The desktop pieces (window, gateway, web UI, desktop entry, icon, AppStream
# metadata, tusk(1)) are installed when the tree builds the window.
DESKTOP = $(filter $(BUILD)/bin/tusk,$(BINS))

install: all data install-core $(if $(DESKTOP),install-desktop)

install-core: all data
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGLIBEXECDIR)
	install -m 0755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/
	install -m 0755 $(INSTALL_LIBEXEC) $(DESTDIR)$(PKGLIBEXECDIR)/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(DATA)/man/tuskctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(DATA)/man/tuskd.8 $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 packaging/completion/tuskctl.bash $(DESTDIR)$(BASHCOMPDIR)/tuskctl
	install -d $(DESTDIR)$(SYSTEMDUSERUNITDIR)
	install -m 0644 packaging/systemd/tuskd.socket $(DESTDIR)$(SYSTEMDUSERUNITDIR)/
	sed 's|@BINDIR@|$(BINDIR)|g' packaging/systemd/tuskd.service.in > $(DESTDIR)$(SYSTEMDUSERUNITDIR)/tuskd.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUSERUNITDIR)/tuskd.service

install-desktop: all data
	$(if $(WEB_OUT),install -d $(DESTDIR)$(DATADIR)/tusk/web && cp -R $(WEB_OUT)/. $(DESTDIR)$(DATADIR)/tusk/web/ && chmod -R u+rwX$(comma)go+rX$(comma)go-w $(DESTDIR)$(DATADIR)/tusk)
	install -d $(DESTDIR)$(MANDIR)/man1
	install -m 0644 $(DATA)/man/tusk.1 $(DESTDIR)$(MANDIR)/man1/
	install -d $(DESTDIR)$(DATADIR)/applications $(DESTDIR)$(DATADIR)/metainfo
	install -m 0644 packaging/desktop/$(APP_ID).desktop $(DESTDIR)$(DATADIR)/applications/
	install -m 0644 $(DATA)/$(APP_ID).metainfo.xml $(DESTDIR)$(DATADIR)/metainfo/
	install -d $(DESTDIR)$(ICONDIR)/scalable/apps
	install -m 0644 packaging/desktop/$(APP_ID).svg $(DESTDIR)$(ICONDIR)/scalable/apps/
	for n in $(ICON_SIZES); do \
		install -d $(DESTDIR)$(ICONDIR)/$${n}x$${n}/apps && \
		install -m 0644 $(DATA)/icons/$${n}x$${n}/$(APP_ID).png $(DESTDIR)$(ICONDIR)/$${n}x$${n}/apps/ || exit 1; \
	done

# Removes exactly what install puts there (whatever was built), and the
# directories that are Tusk's alone; never anything under a user's home.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,tusk tuskctl tuskd)
	rm -f $(addprefix $(DESTDIR)$(PKGLIBEXECDIR)/,tusk-worker tusk-ui)
	-rmdir $(DESTDIR)$(PKGLIBEXECDIR) 2>/dev/null
	rm -rf $(DESTDIR)$(DATADIR)/tusk
	rm -f $(DESTDIR)$(MANDIR)/man1/tusk.1 $(DESTDIR)$(MANDIR)/man1/tuskctl.1 $(DESTDIR)$(MANDIR)/man8/tuskd.8
	rm -f $(DESTDIR)$(DATADIR)/applications/$(APP_ID).desktop $(DESTDIR)$(DATADIR)/metainfo/$(APP_ID).metainfo.xml
	rm -f $(DESTDIR)$(ICONDIR)/scalable/apps/$(APP_ID).svg \
	    $(foreach n,$(ICON_SIZES),$(DESTDIR)$(ICONDIR)/$(n)x$(n)/apps/$(APP_ID).png)
	rm -f $(DESTDIR)$(BASHCOMPDIR)/tuskctl
	rm -f $(DESTDIR)$(SYSTEMDUSERUNITDIR)/tuskd.socket $(DESTDIR)$(SYSTEMDUSERUNITDIR)/tuskd.service

# The Debian package, built by debhelper (packaging/debian) on a copy of the
# tree in build/deb/tusk-VERSION: the sources, plus the web UI bundle this
# tree built (the package build itself needs no network). debian/changelog
# is written here from VERSION, so the package's version is VERSION's.
DEB_STAGE = build/deb/tusk-$(VERSION)
DEB_MAINT = $(shell sed -n 's/^Maintainer: //p' packaging/debian/control)

deb: all data
	rm -rf build/deb
	mkdir -p $(DEB_STAGE)
	tar -c --exclude=./build --exclude=./.git --exclude=node_modules --exclude=__pycache__ . | \
	    tar -x -C $(DEB_STAGE)
	cp -R packaging/debian $(DEB_STAGE)/debian
	{ echo "tusk ($(VERSION)) unstable; urgency=medium"; echo; \
	  echo "  * Tusk $(VERSION), packaged from its source tree (make deb)."; echo; \
	  echo " -- $(DEB_MAINT)  $$(LC_ALL=C date -u -d '$(RELEASE_DATE) 12:00' -R)"; \
	} > $(DEB_STAGE)/debian/changelog
	$(if $(WEB_OUT),mkdir -p $(DEB_STAGE)/build && cp -a $(WEB_OUT) $(DEB_STAGE)/build/ && \
	    ln -s $(CURDIR)/ui/web/node_modules $(DEB_STAGE)/ui/web/node_modules)
	cd $(DEB_STAGE) && dpkg-buildpackage -us -uc -b -j2 >../build.log 2>&1 || \
	    { tail -40 ../build.log; exit 1; }
	lintian --fail-on error,warning --info build/deb/tusk_$(VERSION)_*.changes

clean:
	rm -rf build

# the compilers' dependency files: only under the object trees (build/ may
# also hold a whole Debian tree, tests/fresh-debian.sh's, with its own *.d)
-include $(shell find build/obj build/asan/obj -name '*.d' -type f -print 2>/dev/null)
