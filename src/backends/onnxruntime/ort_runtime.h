// SPDX-License-Identifier: Apache-2.0
// The ONNX Runtime library as the onnxruntime plugin uses it: opened with dlopen the first time a
// model loads (so a server without ONNX models never maps it), checked to be exactly the version
// ort_api.h was written for, and kept open for the life of the process. One OrtEnv for all
// models. Also the RAII handles and the OrtStatus -> absl::Status conversion.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/onnxruntime/ort_api.h"

namespace inferd::ort {

class Runtime {
 public:
  // The runtime, loading it on first use from `library_path` (empty: kOrtLibraryFilename in the
  // folder of this plugin). Thread-safe. Errors: FAILED_PRECONDITION naming the path and the
  // command that installs the library when it is missing or unloadable, or naming both versions
  // when the library is another version. A failure is not remembered: the next load tries again.
  static absl::StatusOr<const Runtime*> Get(const std::string& library_path = "");

  // Where the plugin looks for the library by default.
  static std::string DefaultLibraryPath();

  const OrtApi& api() const { return *api_; }
  OrtEnv* env() const { return env_; }
  const OrtMemoryInfo* cpu_memory() const { return cpu_memory_; }
  OrtAllocator* allocator() const { return allocator_; }
  const std::string& path() const { return path_; }

  // OK for nullptr; otherwise the status's message as INVALID_ARGUMENT (ORT_INVALID_ARGUMENT,
  // ORT_NO_SUCHFILE, ORT_INVALID_PROTOBUF, ORT_INVALID_GRAPH, ORT_NOT_IMPLEMENTED) or INTERNAL,
  // prefixed with `what`. Releases the status.
  absl::Status Check(OrtStatus* status, std::string_view what) const;

 private:
  Runtime() = default;
  const OrtApi* api_ = nullptr;
  OrtEnv* env_ = nullptr;
  OrtMemoryInfo* cpu_memory_ = nullptr;
  OrtAllocator* allocator_ = nullptr;
  std::string path_;
};

// Releases an ORT object with the API's Release function.
template <typename T>
struct Releaser {
  void (*release)(T*) noexcept = nullptr;
  void operator()(T* object) const {
    if (object != nullptr && release != nullptr) release(object);
  }
};
template <typename T>
using Handle = std::unique_ptr<T, Releaser<T>>;

inline Handle<OrtValue> MakeValueHandle(const OrtApi& api, OrtValue* value = nullptr) {
  return Handle<OrtValue>(value, Releaser<OrtValue>{api.ReleaseValue});
}

}  // namespace inferd::ort
