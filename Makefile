# Thin wrapper around CMake. Every target that builds first makes sure the Debian packages are there.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
BUILD_TSAN ?= build-tsan
JOBS       ?= $(shell nproc)
CONFIG     ?= tools/dev/meridian.toml
FUZZ_CXX   ?= clang++-16
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := query ecs answer zone_file mmdb_csv state_file forecast_state latency_matrix demand_state prometheus_reply member_document transfer_request etcd_reply key_file

.PHONY: all deps build build-asan build-tsan geoip run fleet lint test tsan fuzz bench sim package schema-doc clean

all: build

deps:
	./tools/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DMERIDIAN_SANITIZE=ON -DBUILD_TESTING=ON >/dev/null
	cmake --build $(BUILD_ASAN) -j $(JOBS)

# The country database from the npm registry (pinned), or the project's own when that fails.
geoip: build
	./geoip/fetch-country-db.sh $(BUILD)/bin/mmdb-build

run: build geoip
	$(BUILD)/bin/meridiand -c $(CONFIG)

# A local etcd and three nodes in fleet mode on 127.0.0.1:5301-5303, admin :8021-8023 (docs/FLEET.md).
fleet: build geoip
	python3 tools/dev/fleet.py --build $(BUILD)

# The Debian package, from the optimised build: $(BUILD)/meridian_<version>_<arch>.deb
# (packaging/README.md).
package: build
	cd $(BUILD) && cpack -G DEB

# clang-format (.clang-format) and clang-tidy (.clang-tidy) over src/ and tools/: prints every finding
# and fails on any (tools/lint.sh; clang-tidy skips files unchanged since they last passed).
lint: build
	./tools/lint.sh $(BUILD)

# Lint first (a finding fails the run), then the whole suite twice: the optimised build, then the
# ASan+UBSan build. tests/system/test_package.py installs the package built from the optimised build
# (in that pass only).
test: build build-asan geoip package
	./tools/lint.sh $(BUILD)
	cd $(BUILD) && ctest --output-on-failure
	cd $(BUILD_ASAN) && ctest --output-on-failure

build-tsan: deps
	cmake -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMERIDIAN_TSAN=ON -DBUILD_TESTING=ON >/dev/null
	cmake --build $(BUILD_TSAN) -j $(JOBS) --target meridiand meridianctl unit_tests test-geo-db

# ThreadSanitizer over what runs on several threads: health, probes, counters, the snapshot
# hand-over and the admin bridge (unit), and reloads, database swaps, health, the admin API and the
# control loop that learns (capacity, shed load, adaptive weights, forecasts, the sampled answers
# drained for recommendations)
# (system), under load. A race makes meridiand exit non-zero, which the system tests catch.
tsan: build-tsan
	$(BUILD_TSAN)/bin/unit_tests "[health],[probes],[server],[stats]"
	MERIDIAND=$(CURDIR)/$(BUILD_TSAN)/bin/meridiand MERIDIANCTL=$(CURDIR)/$(BUILD_TSAN)/bin/meridianctl \
	MERIDIAN_TEST_MMDB=$(CURDIR)/$(BUILD_TSAN)/geoip/test-geo.mmdb \
	  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/system/test_reload.py tests/system/test_geoip_reload.py \
	  tests/system/test_health.py tests/system/test_health_file.py tests/system/test_admin_api.py tests/system/test_adaptive.py \
	  tests/system/test_recommendations.py

# libFuzzer (clang, ASan+UBSan): every target for FUZZ_SECONDS from its corpus in tests/fuzz/corpus/.
fuzz: deps
	CXX=$(FUZZ_CXX) cmake -S . -B $(BUILD_FUZZ) -DCMAKE_CXX_COMPILER=$(FUZZ_CXX) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMERIDIAN_FUZZ=ON -DBUILD_TESTING=ON >/dev/null
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS)) test-geo-db
	./tests/fuzz/run-fuzzers.sh $(BUILD_FUZZ) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Meridian against gdnsd, Knot+geoip, NSD and a do-nothing reflector, one core each, then the
# scale measurements (10 → 10,000 names, 1 and 2 workers, load, memory, reload under load), then the
# closed-loop simulator's full mode (about 13 minutes; tools/sim/README.md)
# (docs/PERFORMANCE.md). BENCH_SECONDS=3 BENCH_REPEATS=1 SCALE_SECONDS=2 make bench for a quick look.
bench: build
	BUILD=$(BUILD) ./tools/bench/run-bench.sh
	BUILD=$(BUILD) ./tools/scale/scale-bench.sh
	BUILD=$(BUILD) ./tools/sim/simulate.py

# The closed-loop simulator of steering that learns, quick mode (about 4 minutes): static against
# adaptive steering of the real meridiand, per scenario (tools/sim/README.md). make bench runs the
# full mode, whose goals fail the run when missed.
sim: build geoip
	BUILD=$(BUILD) ./tools/sim/simulate.py --quick

# docs/CONFIG.md's settings tables, from the schema (src/config/schema.hpp) via meridiand --schema.
schema-doc: build
	./tools/dev/update-config-doc.py $(BUILD)/bin/meridiand

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) $(BUILD_TSAN)
