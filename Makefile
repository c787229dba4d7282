# leasewrap: plain Makefile.  `make`, `make check`, `make demo`, `make asan`,
# `make lint`, `make bench`, `make install PREFIX=... DESTDIR=...`, `make deb`, `make rpm`.

VERSION	?= 0.1.0
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
PYTHON	?= /usr/bin/python3

CC	?= cc
PKGS	 = libcurl jansson libmicrohttpd
WARN	 = -Wall -Wextra -Wpedantic -Wshadow -Wmissing-prototypes -Wformat=2 \
	   -Wvla -Werror
HARDEN	 = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
CFLAGS	?= -O2 -g
ALL_CFLAGS = -std=c11 $(WARN) $(HARDEN) $(CFLAGS) -DLW_VERSION='"$(VERSION)"' \
	   $$(pkg-config --cflags $(PKGS))
LDFLAGS	?=
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now $(LDFLAGS)
# libcurl and libmicrohttpd are loaded with dlopen on first use (src/dl.c):
# only their headers are needed to build.
LIBS	 = $$(pkg-config --libs jansson) -lev -lm

SRCS	 = src/main.c src/config.c src/config_file.c src/spec.c src/log.c src/util.c \
	   src/secret.c src/env.c src/child.c src/vault.c src/vault_json.c \
	   src/supervisor.c src/signals.c src/token.c src/leases.c src/cred.c \
	   src/command.c src/output.c src/preflight.c src/lease.c src/envfile.c \
	   src/auth.c src/metrics.c src/dl.c src/engines.c
OBJS	 = $(SRCS:.c=.o)
# Modules the unit tests link against (everything but main.c).
LIBOBJS	 = $(filter-out src/main.o,$(OBJS))

UNIT_TESTS = tests/unit/test_spec tests/unit/test_config tests/unit/test_env \
	   tests/unit/test_vault_json tests/unit/test_util tests/unit/test_child \
	   tests/unit/test_lease tests/unit/test_envfile tests/unit/test_metrics \
	   tests/unit/test_engines

# Debian packages each target needs; installed on demand.
BUILD_DEBS = gcc libc6-dev make pkg-config libcurl4-openssl-dev libjansson-dev libev-dev \
	   libmicrohttpd-dev
TEST_DEBS  = $(BUILD_DEBS) libcmocka-dev python3-pytest python3-hvac \
	   python3-psycopg2 postgresql postgresql-client util-linux procps \
	   valgrind python3-yaml curl openssl $(PKG_DEBS)
LINT_DEBS  = cppcheck clang-tidy
BENCH_DEBS = $(TEST_DEBS) tini dumb-init time
# `make deb` and `make rpm` (packaging/README.md); also in TEST_DEBS for
# tests/test_packaging.py.
PKG_DEBS   = $(BUILD_DEBS) debhelper dpkg-dev fakeroot lintian rpm cpio

.PHONY: all deps test-deps promtool check unit blackbox asan lint demo bench install \
	clean distclean deb rpm

all: leasewrap

deps:
	@sh packaging/ensure-debs $(BUILD_DEBS)

test-deps:
	@sh packaging/ensure-debs $(TEST_DEBS)

leasewrap: $(OBJS)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(OBJS): | deps

src/%.o: src/%.c src/*.h Makefile
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

tests/unit/%: tests/unit/%.c $(LIBOBJS)
	$(CC) $(ALL_CFLAGS) -Isrc $(ALL_LDFLAGS) -o $@ $< $(LIBOBJS) $(LIBS) \
	    -lcmocka

unit: test-deps $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; ./$$t; done

# promtool checks the metrics and examples/prometheus/ (tests/test_metrics.py).
promtool:
	@sh packaging/ensure-promtool .deps >/dev/null

# The black-box suite runs every leasewrap at debug level and, after each test,
# scans what it printed for the secrets the Vault emulator handed out
# (tests/conftest.py): once with its logs in the text format, then in JSON.
# The JSON pass leaves out the files that run no leasewrap scenario:
# test_emulator.py (the emulator alone), test_packaging.py (builds the packages,
# runs their --version), test_docs.py and test_reference.py (--help against the
# documentation).
BLACKBOX_JSON = $(filter-out tests/test_emulator.py tests/test_packaging.py \
	   tests/test_docs.py tests/test_reference.py, $(wildcard tests/test_*.py))

blackbox: test-deps leasewrap promtool
	LW_TEST_LOG_FORMAT=text $(PYTHON) -m pytest -c tests/pytest.ini tests
	LW_TEST_LOG_FORMAT=json $(PYTHON) -m pytest -c tests/pytest.ini $(BLACKBOX_JSON)

check: test-deps leasewrap unit blackbox

asan:
	$(MAKE) clean
	LW_SANITIZED=1 $(MAKE) check CFLAGS='-O1 -g -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -fno-sanitize-recover=all' \
	    LDFLAGS='-fsanitize=address,undefined'
	$(MAKE) clean

lint:
	@sh packaging/ensure-debs $(BUILD_DEBS) $(LINT_DEBS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    --inline-suppr --std=c11 -DLW_VERSION='"lint"' \
	    --include=/usr/include/jansson.h --suppress=missingIncludeSystem src
	@if grep -nE '\b(atoi|sprintf|strcpy|strcat|gets|vsprintf|system|popen)\(' \
	    src/*.c | grep -v 'lint-ok'; then \
	    echo "lint: banned function above"; exit 1; fi
	@awk -f tests/sizes.awk src/*.c
	@echo "lint: ok"

demo: test-deps leasewrap
	sh examples/demo/run.sh

bench: test-deps leasewrap
	@sh packaging/ensure-debs $(BENCH_DEBS)
	$(PYTHON) tests/bench/bench.py

# Packages into dist/: the .deb (and lintian.log) and the .rpm.
deb:
	@sh packaging/ensure-debs $(PKG_DEBS)
	sh packaging/build-deb dist

rpm:
	@sh packaging/ensure-debs $(PKG_DEBS)
	sh packaging/build-rpm dist

install: leasewrap
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 leasewrap $(DESTDIR)$(BINDIR)/leasewrap
	install -m 0644 docs/leasewrap.1 $(DESTDIR)$(MANDIR)/man1/leasewrap.1

clean:
	rm -f leasewrap $(OBJS) $(UNIT_TESTS)
	rm -rf tests/__pycache__ tests/.pytest_cache .pytest_cache

distclean: clean
	rm -rf dist .deps
