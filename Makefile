# SPDX-License-Identifier: Apache-2.0
# Thin wrapper over CMake. `make serve` and `make test` are the two set-up commands in the README.
JOBS ?= 2
BUILD ?= build
ASAN_BUILD ?= build-asan
REPO ?= examples/model_repository
HTTP_PORT ?= 8000

.PHONY: deps build build-asan models serve test test-asan bench measure-http-limits clean

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

# ResNet50 (TorchScript and ONNX, random weights) into the example repository; skips what exists.
models:
	/usr/bin/python3 examples/generate_models.py --repository=$(REPO)

serve: build models
	$(BUILD)/bin/inferd --model-repository=$(REPO)

test: build build-asan
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

bench: build
	$(BUILD)/bin/inferd-bench memory --model-repository=$(REPO)

# HTTP limits and memory (docs/reliability.md): RSS after a 64 MiB request, clients that never
# read, 2,000 slow-header connections, /metrics with idle connections. About a minute.
measure-http-limits: build
	/usr/bin/python3 scripts/measure_http_limits.py --binary=$(BUILD)/bin/inferd

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
