// SPDX-License-Identifier: Apache-2.0
#include "backends/backend_loader.h"

#include <dlfcn.h>

#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace inferd {
namespace {

using ApiVersionFn = int (*)();
using CreateFn = Backend* (*)();

constexpr char kApiVersionSymbol[] = "inferd_backend_api_version";
constexpr char kCreateSymbol[] = "inferd_backend_create";

std::string DefaultBackendDirectory() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    spdlog::warn("cannot read /proc/self/exe ({}); looking for backends in ./backends",
                 ec.message());
    return "backends";
  }
  return (exe.parent_path() / ".." / "backends").lexically_normal().string();
}

bool IsValidBackendName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string DlError() {
  const char* error = dlerror();
  return error != nullptr ? std::string(error) : std::string("unknown dl error");
}

}  // namespace

struct BackendLoader::Plugin {
  void* handle = nullptr;
  std::unique_ptr<Backend> backend;
};

BackendLoader::BackendLoader(BackendLoaderOptions options)
    : directory_(options.backend_directory.empty() ? DefaultBackendDirectory()
                                                   : std::move(options.backend_directory)) {}

BackendLoader::~BackendLoader() {
  absl::MutexLock lock(&mu_);
  // Every Backend's code lives in its library: delete them all before unmapping any.
  for (auto& [name, plugin] : plugins_) plugin->backend.reset();
  for (auto& [name, plugin] : plugins_) {
    if (dlclose(plugin->handle) != 0) {
      spdlog::warn("closing backend '{}' failed: {}", name, DlError());
    }
  }
  plugins_.clear();
}

absl::StatusOr<Backend*> BackendLoader::Get(std::string_view name) {
  if (!IsValidBackendName(name)) {
    return absl::InvalidArgumentError(fmt::format(
        "invalid backend name '{}': a backend name has only lower-case letters, digits and '_'",
        name));
  }
  absl::MutexLock lock(&mu_);
  if (auto it = plugins_.find(name); it != plugins_.end()) return it->second->backend.get();

  const std::string path =
      (std::filesystem::path(directory_) / fmt::format("libinferd_backend_{}.so", name)).string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(fmt::format("backend '{}' not found: no library at {}", name, path));
  }

  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    return absl::FailedPreconditionError(
        fmt::format("backend '{}': cannot open {}: {}", name, path, DlError()));
  }
  // Closes the library on every failure below.
  auto fail = [&](std::string message) {
    dlclose(handle);
    return absl::FailedPreconditionError(
        fmt::format("backend '{}' ({}) is not a valid plugin: {}", name, path, message));
  };

  dlerror();
  auto api_version = reinterpret_cast<ApiVersionFn>(dlsym(handle, kApiVersionSymbol));
  if (api_version == nullptr) {
    return fail(fmt::format("missing symbol {} ({})", kApiVersionSymbol, DlError()));
  }
  auto create = reinterpret_cast<CreateFn>(dlsym(handle, kCreateSymbol));
  if (create == nullptr) {
    return fail(fmt::format("missing symbol {} ({})", kCreateSymbol, DlError()));
  }
  const int version = api_version();
  if (version != kBackendApiVersion) {
    return fail(fmt::format("it was built for backend API version {}, this server has version {}",
                            version, kBackendApiVersion));
  }
  std::unique_ptr<Backend> backend(create());
  if (backend == nullptr) return fail(fmt::format("{} returned null", kCreateSymbol));

  auto plugin = std::make_unique<Plugin>();
  plugin->handle = handle;
  plugin->backend = std::move(backend);
  Backend* result = plugin->backend.get();
  plugins_.emplace(std::string(name), std::move(plugin));
  spdlog::info("opened backend '{}' from {}", name, path);
  return result;
}

bool BackendLoader::IsOpen(std::string_view name) const {
  absl::MutexLock lock(&mu_);
  return plugins_.find(name) != plugins_.end();
}

absl::StatusOr<std::string> ResolveBackendName(std::string_view platform,
                                               std::string_view backend) {
  std::string from_backend;
  if (backend == "builtin" || backend == "identity") {
    from_backend = "builtin";
  } else if (backend == "pytorch" || backend == "torchscript") {
    from_backend = "torchscript";
  } else if (backend == "onnxruntime" || backend == "onnx") {
    from_backend = "onnxruntime";
  } else if (backend == "opencv_dnn") {
    from_backend = "opencv_dnn";
  }
  std::string from_platform;
  if (platform == "pytorch_libtorch") {
    from_platform = "torchscript";
  } else if (platform == "onnxruntime_onnx" || platform == "onnx_onnxv1") {
    // The platform names the model format; backend opencv_dnn picks OpenCV DNN to run it.
    from_platform = from_backend == "opencv_dnn" ? "opencv_dnn" : "onnxruntime";
  }

  const bool backend_known = backend.empty() || !from_backend.empty();
  const bool platform_known = platform.empty() || !from_platform.empty();
  const bool agree = from_backend.empty() || from_platform.empty() || from_backend == from_platform;
  if (backend_known && platform_known && agree && !(backend.empty() && platform.empty())) {
    return from_backend.empty() ? from_platform : from_backend;
  }
  std::string why =
      "no backend serves it (known: backend builtin, identity, pytorch, torchscript, "
      "onnxruntime, onnx, opencv_dnn; platform pytorch_libtorch, onnxruntime_onnx, onnx_onnxv1)";
  if (backend.empty() && platform.empty()) {
    why = "set one of them";
  } else if (!agree) {
    why = "they name different backends";
  }
  return absl::InvalidArgumentError(
      fmt::format("unsupported model platform '{}' and backend '{}': {}", platform, backend, why));
}

}  // namespace inferd
