# SPDX-License-Identifier: Apache-2.0
# Thin wrapper over CMake. `make serve` and `make test` are the two set-up commands in the README.
JOBS ?= 2
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
# Seconds each fuzz target runs in `make test` (on top of its corpus), and in `make fuzz`.
FUZZ_TEST_SECONDS ?= 20
FUZZ_SECONDS ?= 600
FUZZ_TARGET ?=
SOAK_MINUTES ?= 30
REPO ?= examples/model_repository
HTTP_PORT ?= 8000

.PHONY: deps build build-asan build-fuzz build-tsan models serve test test-asan test-tsan test-fuzz fuzz \
	fuzz-merge soak bench bench-perf measure-http-limits deb deploy-test clean

deps:
	scripts/deps.sh

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DINFERD_SANITIZE=ON \
	  -DINFERD_WITH_ML_BACKENDS=OFF

build-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# The libFuzzer targets (fuzz/): clang, AddressSanitizer + UndefinedBehaviorSanitizer, -O1, only the
# libraries the targets need (no tests, no ML backends).
$(FUZZ_BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" -DINFERD_SANITIZE=ON -DINFERD_FUZZ=ON \
	  -DINFERD_BUILD_TESTS=OFF -DINFERD_WITH_ML_BACKENDS=OFF

build-fuzz: deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target inferd_fuzzers

# ThreadSanitizer (clang): the scheduler, server and transport unit tests (in make test). The
# transports' end-to-end tests against a TSan-built inferd are not in the set yet (not verified).
TSAN_TESTS = scheduler_test server_test transport_http_test transport_ipc_test transport_shm_test \
	transport_grpc_test
$(TSAN_BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" -DINFERD_TSAN=ON -DINFERD_WITH_ML_BACKENDS=OFF

build-tsan: deps $(TSAN_BUILD)/build.ninja
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target inferd_tsan_absl $(TSAN_TESTS)

# ResNet50 (TorchScript and ONNX, random weights) into the example repository; skips what exists.
models:
	/usr/bin/python3 examples/generate_models.py --repository=$(REPO)

serve: build models
	$(BUILD)/bin/inferd --model-repository=$(REPO)

test: build build-asan build-fuzz build-tsan
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-tsan
	$(MAKE) test-fuzz

test-tsan: build-tsan
	cd $(TSAN_BUILD) && LD_PRELOAD=$(CURDIR)/$(TSAN_BUILD)/lib/libinferd_tsan_absl.so \
	  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/scripts/tsan.supp" \
	  ctest --output-on-failure -j $(JOBS) -E '_NOT_BUILT$$|^grpc_python_client_test$$|^npy_http_test$$|^arrow_http_test$$'

# Each fuzz target for FUZZ_TEST_SECONDS on top of its corpus (fuzz/run.sh).
test-fuzz: build-fuzz
	fuzz/run.sh run $(FUZZ_BUILD) $(FUZZ_TEST_SECONDS)

# As long as asked: make fuzz FUZZ_SECONDS=3600 FUZZ_TARGET=http_request_fuzzer
fuzz: build-fuzz
	fuzz/run.sh run $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGET)

# Minimises fuzz/corpus/ with what the runs found (review the diff before committing it).
fuzz-merge: build-fuzz
	fuzz/run.sh merge $(FUZZ_BUILD) $(FUZZ_TARGET)

# Mixed HTTP/gRPC/ipc:// traffic with load/unload cycles against the release binary, sampling
# the server's RSS, fds and threads (not in make test): make soak SOAK_MINUTES=30
soak: build
	/usr/bin/python3 scripts/soak.py --build=$(BUILD) --minutes=$(SOAK_MINUTES)

bench: build
	$(BUILD)/bin/inferd-bench memory --model-repository=$(REPO)

# inferd-perf does not distort what it measures: against a plain-socket closed-loop HTTP
# generator, identity 16 B at concurrency 1 and 8, and its ipc:// ceiling (docs/benchmarks.md).
bench-perf: build
	$(BUILD)/bin/inferd-bench perf-check --model-repository=$(REPO)

# HTTP limits and memory (docs/reliability.md): RSS after a 64 MiB request, clients that never
# read, 2,000 slow-header connections, /metrics with idle connections. About a minute.
measure-http-limits: build
	/usr/bin/python3 scripts/measure_http_limits.py --binary=$(BUILD)/bin/inferd

# The Debian packages inferd_<version>_amd64.deb and inferd-backends-ml_<version>_amd64.deb
# (docs/deployment.md), from the release build, into $(BUILD)/deb.
deb: build
	scripts/make_deb.sh $(BUILD) $(BUILD)/deb

# The packages installed with apt in a fresh debootstrap'd Debian 12 root, serving (root, network
# to the Debian mirror; a few minutes; not in make test). DEPLOY_TEST_ML=1 adds the ML backends.
deploy-test: deb
	scripts/deploy_test.sh $(BUILD)/deb

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(TSAN_BUILD)
