// SPDX-License-Identifier: Apache-2.0
// Finds and opens backend plugins (libinferd_backend_<name>.so) on first use.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "inferd/backend.h"

namespace inferd {

struct BackendLoaderOptions {
  // Folder with the plugin libraries. Empty: <directory of the running executable>/../backends,
  // which is where the build puts them.
  std::string backend_directory;
};

// Thread-safe. A plugin, once opened, stays open (and its Backend alive) until the loader is
// destroyed; the loader must outlive every model a backend created.
class BackendLoader {
 public:
  explicit BackendLoader(BackendLoaderOptions options);
  ~BackendLoader();

  // The backend with this name ("builtin", "torchscript", "onnxruntime", "opencv_dnn"), opening its library the first
  // time. Errors: NOT_FOUND naming the backend and the path searched; FAILED_PRECONDITION when the
  // library is not a valid plugin or its API version differs from kBackendApiVersion.
  absl::StatusOr<Backend*> Get(std::string_view name);

  // Whether the plugin library of this backend is mapped already.
  bool IsOpen(std::string_view name) const;

  const std::string& backend_directory() const { return directory_; }

 private:
  struct Plugin;
  std::string directory_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Plugin>, std::less<>> plugins_ ABSL_GUARDED_BY(mu_);
};

// Maps a config's platform/backend pair to the inferd backend that serves it: "builtin" for
// backend "builtin" (and Triton's "identity"); "torchscript" for platform pytorch_libtorch or
// backend pytorch/torchscript; "onnxruntime" (ONNX Runtime) for platform
// onnxruntime_onnx/onnx_onnxv1 or backend onnxruntime/onnx; "opencv_dnn" (OpenCV DNN) only for
// backend opencv_dnn (with an ONNX platform or none). INVALID_ARGUMENT naming both fields when
// neither is known.
absl::StatusOr<std::string> ResolveBackendName(std::string_view platform, std::string_view backend);

}  // namespace inferd
