# Stele — top-level entry points. Everything installs its own Debian dependencies
# (scripts/bootstrap.sh) and builds with CMake in build/ (build-asan/ for sanitizers).
#   make demo        build, then run the demo on ./demo-store
#   make test        build and run the whole test suite (CTest)
#   make test-asan   the same suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench       side-by-side benchmarks against the peers (never in CI);
#                    one: make bench-one SECTION=0 (benchmark 10; '1'-'9' for 1-9)
#   make crash-long  the crash tests with many more rounds (local, slow)
#   make fuzz        libFuzzer targets for a while (local)
JOBS ?= 2
BUILD ?= build
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all bootstrap build demo test test-asan bench bench-one crash-long fuzz clean

all: build

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) 2>&1 | grep -v -E '^\[ *[0-9]+%\]|^gmake|^make\[' || true
	@test -x $(BUILD)/stele

demo: build
	@STELE_BIN=$(BUILD)/stele scripts/demo.sh

test: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900

test-asan: bootstrap
	@$(MAKE) --no-print-directory test BUILD=build-asan \
	    CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug -DSTELE_SANITIZE=ON"

bench: bootstrap
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build-bench -j$(JOBS) --target stele_bench stele >/dev/null
	@./build-bench/bench/stele_bench

bench-one: bootstrap
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build-bench -j$(JOBS) --target stele_bench stele >/dev/null
	@./build-bench/bench/stele_bench $(SECTION)

crash-long: build
	@STELE_CRASH_ROUNDS=2000 $(BUILD)/tests/crash_test
	@STELE_MULTIFILE_ROUNDS=600 $(BUILD)/tests/multifile_crash_test

fuzz: bootstrap
	@scripts/fuzz.sh

clean:
	rm -rf build build-asan build-bench build-fuzz demo-store
