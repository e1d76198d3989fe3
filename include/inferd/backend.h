// SPDX-License-Identifier: Apache-2.0
// The backend plugin interface. A backend is a shared library (libinferd_backend_<name>.so) that
// the server opens the first time a model needs it. It exports two C symbols:
//
//   int inferd_backend_api_version();        // must return kBackendApiVersion
//   inferd::Backend* inferd_backend_create(); // a new Backend; the server owns and deletes it
//
// INFERD_BACKEND_DEFINE(ClassName) writes both. The server and its plugins are built by the same
// compiler from the same headers; the version check refuses a plugin built against another
// revision of this interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "inferd/datatype.h"
#include "inferd/tensor.h"

namespace inferd {

inline constexpr int kBackendApiVersion = 2;

// An input or output as the model config declares it. `dims` excludes the batch dimension; -1 is
// a variable dimension. `reshape`, when set, is the shape the backend sees instead of `dims`.
struct TensorSpec {
  std::string name;
  DataType datatype = DataType::kInvalid;
  Shape dims;
  std::optional<Shape> reshape;
};

// Everything a backend needs to load one version of a model.
struct ModelSpec {
  std::string name;
  int64_t version = 0;
  std::string model_dir;       // <repo>/<model>
  std::string version_dir;     // <repo>/<model>/<version>
  std::string model_filename;  // default_model_filename, or empty for the backend's default
  std::string platform;
  std::string backend;
  int max_batch_size = 0;  // 0: the model does not batch; inputs have no batch dimension.
  int instance_count = 1;  // instances the server will create (for thread-count defaults)
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  std::map<std::string, std::string, std::less<>> parameters;
};

// One call of ModelInstance::Execute: a whole batch. When the model batches (max_batch_size > 0)
// every input's first dimension is the batch size. Views stay valid until Execute returns.
class ExecutionBatch {
 public:
  virtual ~ExecutionBatch() = default;

  // Requests in this batch (1 when the model does not batch).
  virtual int batch_size() const = 0;
  // Inputs in config order, with the shapes the backend sees (reshape applied).
  virtual std::span<const TensorView> inputs() const = 0;
  // Whether any request in the batch wants this output; a backend may skip the others.
  virtual bool OutputRequested(std::string_view name) const = 0;
  // Memory for an output of `byte_size` bytes and this shape, which the backend fills before
  // Execute returns. Fails for an unknown or unrequested output or a size that does not fit the
  // shape.
  virtual absl::StatusOr<std::byte*> AllocateOutput(std::string_view name, DataType datatype,
                                                     std::span<const int64_t> shape,
                                                     size_t byte_size) = 0;
};

// One execution context of a model. The scheduler calls Execute from one thread at a time per
// instance; different instances of one model run in parallel.
class ModelInstance {
 public:
  virtual ~ModelInstance() = default;
  // Runs the batch. An error fails every request of the batch; the instance stays usable.
  virtual absl::Status Execute(ExecutionBatch& batch) = 0;
};

// One loaded version of a model, shared by its instances.
class BackendModel {
 public:
  virtual ~BackendModel() = default;
  virtual absl::StatusOr<std::unique_ptr<ModelInstance>> CreateInstance(int index) = 0;
  // Bytes of memory the model holds (weights, runtime state), if the backend can tell; else 0.
  virtual int64_t MemoryBytes() const { return 0; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Loads a model. Errors name the model and what is wrong with it (a missing file, inputs that
  // do not match the model's arguments).
  virtual absl::StatusOr<std::unique_ptr<BackendModel>> LoadModel(const ModelSpec& spec) = 0;
};

}  // namespace inferd

#define INFERD_BACKEND_DEFINE(BackendClass)                                                     \
  extern "C" __attribute__((visibility("default"))) int inferd_backend_api_version() {          \
    return ::inferd::kBackendApiVersion;                                                        \
  }                                                                                             \
  extern "C" __attribute__((visibility("default"))) ::inferd::Backend* inferd_backend_create() { \
    return new BackendClass();                                                                  \
  }
