// SPDX-License-Identifier: Apache-2.0
// The builtin backend plugin (libinferd_backend_builtin.so): models that need no model file.
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/builtin/builtin_models.h"
#include "fmt/format.h"
#include "inferd/backend.h"

namespace inferd::builtin {
namespace {

// Picks the model by the config parameter `builtin_model`, else by the model's name.
class BuiltinBackend final : public Backend {
 public:
  absl::StatusOr<std::unique_ptr<BackendModel>> LoadModel(const ModelSpec& spec) override {
    std::string_view kind = spec.name;
    if (auto it = spec.parameters.find("builtin_model"); it != spec.parameters.end()) {
      kind = it->second;
    }
    if (kind == "identity") return LoadIdentityModel(spec);
    if (kind == "add_sub") return LoadAddSubModel(spec);
    if (kind == "busy") return LoadBusyModel(spec);
    return absl::InvalidArgumentError(
        fmt::format("model '{}': the builtin backend has no model '{}' (expected identity, add_sub "
                    "or busy; set parameter builtin_model)",
                    spec.name, kind));
  }
};

}  // namespace
}  // namespace inferd::builtin

INFERD_BACKEND_DEFINE(inferd::builtin::BuiltinBackend)
