# leasewrap: plain Makefile.  `make`, `make check`, `make demo`, `make asan`,
# `make lint`, `make bench`, `make fuzz`, `make install PREFIX=... DESTDIR=...`,
# `make deb`, `make rpm`.  `make CC=clang` builds with clang.

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
# jansson too (loaded when there is JSON to read: a secret, a config file);
# the unit tests and fuzzers link it, for their own JSON.
BIN_LIBS = -lev -lm
LIBS	 = $$(pkg-config --libs jansson) $(BIN_LIBS)

SRCS	 = src/main.c src/config.c src/config_file.c src/spec.c src/log.c \
	   src/util.c \
	   src/secret.c src/env.c src/child.c src/vault.c src/vault_json.c \
	   src/supervisor.c src/signals.c src/token.c src/leases.c src/cred.c \
	   src/command.c src/output.c src/preflight.c src/lease.c src/envfile.c \
	   src/auth.c src/metrics.c src/dl.c src/engines.c src/runas.c \
	   src/capath.c src/addr.c src/tokenfile.c src/template.c \
	   src/usage.c src/config_tmpl.c src/outfile.c src/params.c \
	   src/config_pathdur.c src/refresh.c \
	   src/handover.c
OBJS	 = $(SRCS:.c=.o)
# Modules the unit tests link against (everything but main.c).
LIBOBJS	 = $(filter-out src/main.o,$(OBJS))

UNIT_TESTS = tests/unit/test_spec tests/unit/test_config tests/unit/test_env \
	   tests/unit/test_vault_json tests/unit/test_util tests/unit/test_child \
	   tests/unit/test_lease tests/unit/test_envfile tests/unit/test_metrics \
	   tests/unit/test_preflight tests/unit/test_log tests/unit/test_runas \
	   tests/unit/test_addr tests/unit/test_engines \
	   tests/unit/test_template tests/unit/test_params

# Debian packages each target needs; installed on demand.
BUILD_DEBS = gcc libc6-dev make pkg-config libcurl4-openssl-dev libjansson-dev libev-dev \
	   libmicrohttpd-dev
TEST_DEBS  = $(BUILD_DEBS) libcmocka-dev python3-pytest python3-hvac groff-base \
	   python3-cryptography \
	   python3-dotenv \
	   python3-psycopg2 postgresql postgresql-client util-linux procps \
	   valgrind python3-yaml curl openssl nghttp2-proxy iproute2 $(PKG_DEBS)
LINT_DEBS  = cppcheck clang-tidy
BENCH_DEBS = $(TEST_DEBS) tini dumb-init time strace libssl-dev
# `make deb` and `make rpm` (packaging/README.md); also in TEST_DEBS for
# tests/test_packaging.py.
PKG_DEBS   = $(BUILD_DEBS) debhelper dpkg-dev fakeroot lintian rpm cpio

.PHONY: all deps test-deps promtool check unit blackbox asan lint demo bench install \
	clean distclean deb rpm fuzz fuzz-build

all: leasewrap

deps:
	@sh packaging/ensure-debs $(BUILD_DEBS)

test-deps:
	@sh packaging/ensure-debs $(TEST_DEBS)

leasewrap: $(OBJS)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(OBJS) $(BIN_LIBS)

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
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)

# With clang where it is installed, and UBSan's float-cast-overflow (not in
# "undefined" for clang) so that a Vault number too big for its integer stops
# the run.
ASAN_CC	 = $$(command -v clang >/dev/null 2>&1 && echo clang || echo $(CC))
SAN	 = -fsanitize=address,undefined,float-cast-overflow

asan:
	$(MAKE) clean
	LW_SANITIZED=1 $(MAKE) check CC="$(ASAN_CC)" CFLAGS='-O1 -g $(SAN) \
	    -fno-omit-frame-pointer -fno-sanitize-recover=all' \
	    LDFLAGS='$(SAN)'
	$(MAKE) clean

# libFuzzer harnesses (tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/corpus/NAME/),
# each linked with the real modules built under ASan and UBSan.  `make fuzz`
# runs each for FUZZ_SECONDS; `make check` for CHECK_FUZZ_SECONDS.  New inputs
# go to tests/fuzz/build/, crashes to tests/fuzz/build/crash-*.
FUZZERS	 = fuzz_spec fuzz_duration fuzz_config fuzz_vault_json fuzz_log \
	   fuzz_metrics fuzz_envfile fuzz_template
FUZZ_SECONDS ?= 60
CHECK_FUZZ_SECONDS ?= 3
FUZZ_CC	 ?= clang
FUZZ_DEBS = clang libclang-rt-dev
FUZZ_DIR = tests/fuzz/build
FUZZ_SAN = -fsanitize=address,undefined,float-cast-overflow \
	   -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 $(WARN) -O1 -g $(FUZZ_SAN) -DLW_VERSION='"$(VERSION)"' \
	   $$(pkg-config --cflags $(PKGS))
FUZZ_OBJS = $(patsubst src/%.o,$(FUZZ_DIR)/%.o,$(LIBOBJS))

$(FUZZ_DIR)/%.o: src/%.c src/*.h Makefile
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Isrc -fsanitize=fuzzer -o $@ $< \
	    $(FUZZ_OBJS) $(LIBS)

.SECONDARY: $(FUZZ_OBJS)

fuzz-build: $(addprefix $(FUZZ_DIR)/,$(FUZZERS))

# Skips, saying why, where clang or its libFuzzer cannot be had.
fuzz:
	@sh packaging/ensure-debs $(FUZZ_DEBS) $(BUILD_DEBS) 2>/dev/null || true
	@if ! echo 'int LLVMFuzzerTestOneInput(void) { return 0; }' | \
	    $(FUZZ_CC) -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1; then \
	    echo "fuzz: SKIPPED: $(FUZZ_CC) cannot build a libFuzzer target" \
	        "(install the Debian packages: $(FUZZ_DEBS))"; exit 0; fi; \
	$(MAKE) --no-print-directory fuzz-build || exit 1; \
	for f in $(FUZZERS); do \
	    n=$${f#fuzz_}; mkdir -p $(FUZZ_DIR)/corpus/$$n tests/fuzz/corpus/$$n; \
	    echo "== $$f: $(FUZZ_SECONDS) s"; \
	    ./$(FUZZ_DIR)/$$f -max_total_time=$(FUZZ_SECONDS) \
	        -print_final_stats=1 -max_len=65536 \
	        -artifact_prefix=$(FUZZ_DIR)/crash-$$n- \
	        $(FUZZ_DIR)/corpus/$$n tests/fuzz/corpus/$$n 2>$(FUZZ_DIR)/$$f.log \
	        || { tail -40 $(FUZZ_DIR)/$$f.log; exit 1; }; \
	    grep -E '^stat::number_of_executed_units' $(FUZZ_DIR)/$$f.log; \
	done

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
	rm -rf $(FUZZ_DIR)
	rm -rf tests/__pycache__ tests/.pytest_cache .pytest_cache

distclean: clean
	rm -rf dist .deps
