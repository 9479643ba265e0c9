# Thin wrapper around CMake. Every target that builds first makes sure the Debian packages are there.
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
CONFIG     ?= tools/dev/meridian.toml

.PHONY: all deps build build-asan geoip run test clean

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

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
