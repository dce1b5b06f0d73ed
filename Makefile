# Thin wrapper around CMake. `make test` and `make run` install what is missing
# (Debian packages, as root), build, then test or serve.
BUILD ?= build
JOBS ?= 2
DEPS = build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev \
       libopenblas-dev libsqlite3-dev libpq-dev zlib1g-dev
# What the tests need on top: curl and Python's standard library for the black-box
# HTTP tests, Fashion-MNIST for the real-data loader test, node + npm for the OpenAPI
# validator (test_svc_openapi installs @apidevtools/swagger-parser from npm into the build),
# chromium for the dashboard's browser test (test_svc_browser; it skips without it).
# postgresql for the tests against a throw-away cluster (tests/tools/pg_cluster.sh).
TEST_DEPS = curl python3 postgresql dataset-fashion-mnist chromium
PORT ?= 8080
# `make fuzz`: the libFuzzer targets of fuzz/ (see fuzz/README.md), FUZZ_S seconds each,
# one after the other; FUZZ_TARGETS picks some (default all). Fails on a crash.
FUZZ_S ?= 60
FUZZ_TARGETS ?=
FUZZ_DEPS = clang libclang-rt-14-dev

.PHONY: deps test-deps install-pkgs build run test test-pg test-asan fuzz clean

deps:
	@$(MAKE) --no-print-directory install-pkgs PKGS="$(DEPS)"

test-deps:
	@$(MAKE) --no-print-directory install-pkgs PKGS="$(DEPS) $(TEST_DEPS)"
	@command -v npm >/dev/null || $(MAKE) --no-print-directory install-pkgs PKGS="nodejs npm"

install-pkgs:
	@missing=$$(for p in $(PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

run: build
	./$(BUILD)/deepclust serve --port $(PORT)

test: test-deps build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# The HTTP tests (ctest label http), test_db, test_queue and test_store_pg again on
# PostgreSQL: a throw-away cluster (tests/tools/pg_cluster.sh) in a temporary folder,
# stopped at the end whatever happens.
test-pg: test-deps build
	@pg=$$(mktemp -d "$${TMPDIR:-/tmp}/dc_pg.XXXXXX"); \
	trap 'bash "$(CURDIR)/tests/tools/pg_cluster.sh" stop "$$pg/c"; rm -rf "$$pg"' EXIT; \
	U=$$(bash tests/tools/pg_cluster.sh start "$$pg/c") || exit 1; \
	echo "PostgreSQL for the tests: $$U"; \
	cd $(BUILD) && DC_TEST_PG_URL=$$U ctest -L http -j$(JOBS) --output-on-failure && \
	DC_TEST_PG_URL=$$U ctest -R '^(test_db|test_queue|test_store_pg)$$' --output-on-failure

test-asan: test-deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDC_SANITIZE=ON >/dev/null
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j$(JOBS)

fuzz:
	@$(MAKE) --no-print-directory install-pkgs PKGS="$(DEPS) $(FUZZ_DEPS)"
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	      -DDC_FUZZ=ON >/dev/null
	cmake --build build-fuzz -j$(JOBS)
	fuzz/run.sh build-fuzz $(FUZZ_S) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
