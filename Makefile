# Thin front over scripts/setup.sh and the CMake presets (CMakePresets.json).
#   make          build build/dcmon (release preset)
#   make run      build if needed, then `dcmon run` on embedded defaults (ARGS="..." adds flags)
#   make test     unit + integration tests under ASan+UBSan, then under the release build, then each fuzz
#                 target for a fixed number of executions
#   make fuzz     each fuzz target for FUZZ_SECONDS (default 60; FUZZ_SEED=N replays a run)
#   make bench    run the benchmarks in bench/
#   make tsan     the concurrent tests under ThreadSanitizer
SHELL := /bin/bash
.DEFAULT_GOAL := build
.PHONY: build run test test-asan test-release test-fuzz fuzz fuzz-build tsan bench setup format clean

FUZZ_SECONDS ?= 60

setup:
	@scripts/setup.sh

# configure PRESET: once; afterwards cmake --build re-runs it by itself when a CMakeLists.txt changes.
define configure
	@[ -f $(1)/build.ninja ] || cmake --preset $(2)
endef

build: setup
	$(call configure,build,release)
	@cmake --build --preset release

run: build
	./build/dcmon run $(ARGS)

test-asan: setup
	$(call configure,build-asan,asan)
	@cmake --build --preset asan
	@ctest --preset asan

test-release: build
	@ctest --preset release

# The fuzz preset builds only fuzz/ and the libraries it links (clang, libFuzzer + ASan + UBSan).
fuzz-build: setup
	$(call configure,build-fuzz,fuzz)
	@cmake --build --preset fuzz

test-fuzz: fuzz-build
	@ctest --preset fuzz

# Same targets and runner as test-fuzz (fuzz/run.sh), with a time budget instead of a run count.
fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --preset fuzz --timeout $$(($(FUZZ_SECONDS) * 2 + 120))

test: test-asan test-release test-fuzz

tsan: setup
	$(call configure,build-tsan,tsan)
	@cmake --build --preset tsan
	@ctest --preset tsan

bench: build
	@bench/run.sh
	@bench/simulate.sh
	@bench/kafka.sh
	@bench/load.sh
	@bench/rollups.sh
	@bench/alerts.sh
	@bench/store.sh
	@bench/api.sh
	@bench/ingest.sh
	@bench/airbyte.sh
	@bench/kpis.sh
	@bench/influx.sh
	@bench/dashboard.sh

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf build build-asan build-tsan build-fuzz
