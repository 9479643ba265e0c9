# Thin wrapper around CMake. Every target that builds first makes sure the Debian packages are there.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
JOBS       ?= $(shell nproc)
CONFIG     ?= tools/dev/meridian.toml
FUZZ_CXX   ?= clang++-16
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := query ecs answer zone_file mmdb_csv

.PHONY: all deps build build-asan geoip run test fuzz clean

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

# The whole suite twice: the optimised build, then the ASan+UBSan build.
test: build build-asan geoip
	cd $(BUILD) && ctest --output-on-failure
	cd $(BUILD_ASAN) && ctest --output-on-failure

# libFuzzer (clang, ASan+UBSan): every target for FUZZ_SECONDS from its corpus in tests/fuzz/corpus/.
fuzz: deps
	CXX=$(FUZZ_CXX) cmake -S . -B $(BUILD_FUZZ) -DCMAKE_CXX_COMPILER=$(FUZZ_CXX) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMERIDIAN_FUZZ=ON -DBUILD_TESTING=ON >/dev/null
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS)) test-geo-db
	./tests/fuzz/run-fuzzers.sh $(BUILD_FUZZ) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
