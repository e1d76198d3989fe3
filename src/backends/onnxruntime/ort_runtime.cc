// SPDX-License-Identifier: Apache-2.0
#include "backends/onnxruntime/ort_runtime.h"

#include <dlfcn.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "fmt/format.h"

namespace inferd::ort {
namespace {

constexpr std::string_view kInstallHint =
    "run scripts/fetch_onnxruntime.sh (part of `make build`, through scripts/deps.sh) and build "
    "again: it fetches ONNX Runtime 1.20.1 from the npm registry, checks its checksum and "
    "installs the library next to the backend plugins";

absl::Mutex g_mu;
const Runtime* g_runtime ABSL_GUARDED_BY(g_mu) = nullptr;

}  // namespace

std::string Runtime::DefaultLibraryPath() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&Runtime::DefaultLibraryPath), &info) == 0 ||
      info.dli_fname == nullptr) {
    return kOrtLibraryFilename;
  }
  return (std::filesystem::path(info.dli_fname).parent_path() / kOrtLibraryFilename).string();
}

absl::StatusOr<const Runtime*> Runtime::Get(const std::string& library_path) {
  absl::MutexLock lock(&g_mu);
  if (g_runtime != nullptr) return g_runtime;
  const std::string path = library_path.empty() ? DefaultLibraryPath() : library_path;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::FailedPreconditionError(
        fmt::format("the ONNX Runtime library '{}' is missing: {}", path, kInstallHint));
  }
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = dlerror();
    return absl::FailedPreconditionError(
        fmt::format("cannot load the ONNX Runtime library '{}' ({}): {}", path,
                    why != nullptr ? why : "unknown error", kInstallHint));
  }
  auto get_api_base = reinterpret_cast<OrtGetApiBaseFn>(dlsym(library, kOrtGetApiBaseSymbol));
  const OrtApiBase* base = get_api_base != nullptr ? get_api_base() : nullptr;
  if (base == nullptr) {
    dlclose(library);
    return absl::FailedPreconditionError(fmt::format(
        "'{}' is not an ONNX Runtime library (no {}): {}", path, kOrtGetApiBaseSymbol,
        kInstallHint));
  }
  const char* version = base->GetVersionString();
  if (version == nullptr || std::string_view(version) != kOrtLibraryVersion) {
    const std::string found = version != nullptr ? version : "(none)";
    dlclose(library);
    return absl::FailedPreconditionError(fmt::format(
        "'{}' is ONNX Runtime {}, but the onnxruntime backend was written for {} exactly (its "
        "C API declarations): {}",
        path, found, kOrtLibraryVersion, kInstallHint));
  }
  const OrtApi* api = base->GetApi(kOrtApiVersion);
  if (api == nullptr) {
    dlclose(library);
    return absl::FailedPreconditionError(fmt::format(
        "ONNX Runtime '{}' does not offer C API version {}", path, kOrtApiVersion));
  }
  auto runtime = std::unique_ptr<Runtime>(new Runtime());
  runtime->api_ = api;
  runtime->path_ = path;
  if (absl::Status s =
          runtime->Check(api->CreateEnv(ORT_LOGGING_LEVEL_WARNING, "inferd", &runtime->env_),
                         "CreateEnv");
      !s.ok()) {
    return s;  // the library stays mapped; nothing else was created
  }
  if (absl::Status s = runtime->Check(
          api->CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, &runtime->cpu_memory_),
          "CreateCpuMemoryInfo");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = runtime->Check(api->GetAllocatorWithDefaultOptions(&runtime->allocator_),
                                      "GetAllocatorWithDefaultOptions");
      !s.ok()) {
    return s;
  }
  // Kept for the life of the process: sessions of models being unloaded may still refer to the
  // environment, and ONNX Runtime's own static state does not support unloading.
  g_runtime = runtime.release();
  return g_runtime;
}

absl::Status Runtime::Check(OrtStatus* status, std::string_view what) const {
  if (status == nullptr) return absl::OkStatus();
  const OrtErrorCode code = api_->GetErrorCode(status);
  const char* message = api_->GetErrorMessage(status);
  std::string text = fmt::format("{}: {}", what, message != nullptr ? message : "(no message)");
  api_->ReleaseStatus(status);
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  switch (code) {
    case ORT_INVALID_ARGUMENT:
    case ORT_NO_SUCHFILE:
    case ORT_INVALID_PROTOBUF:
    case ORT_INVALID_GRAPH:
    case ORT_NOT_IMPLEMENTED:
    case ORT_NO_MODEL:
      return absl::InvalidArgumentError(text);
    default:
      return absl::InternalError(text);
  }
}

}  // namespace inferd::ort
