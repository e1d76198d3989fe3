// SPDX-License-Identifier: Apache-2.0
// A stand-in for libonnxruntime.so of another version (1.19.2), for the test that the onnxruntime
// plugin refuses it: it has OrtGetApiBase and a version string, and no API table.
#include <cstdint>

namespace {

struct FakeApiBase {
  const void* (*GetApi)(uint32_t version) noexcept;
  const char* (*GetVersionString)() noexcept;
};

const void* GetApi(uint32_t /*version*/) noexcept { return nullptr; }
const char* GetVersionString() noexcept { return "1.19.2"; }

const FakeApiBase kBase{&GetApi, &GetVersionString};

}  // namespace

extern "C" __attribute__((visibility("default"))) const FakeApiBase* OrtGetApiBase() noexcept {
  return &kBase;
}
