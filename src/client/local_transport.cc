// SPDX-License-Identifier: Apache-2.0
// local://: the client talks to an InferenceServer in its own process.
#include <memory>

#include <google/protobuf/text_format.h>

#include "client/client_transport.h"
#include "server/inference_server.h"

namespace inferd {
namespace {

class LocalTransport final : public ClientTransport {
 public:
  explicit LocalTransport(std::unique_ptr<InferenceServer> server) : server_(std::move(server)) {}

  void InferAsync(InferRequest request, InferCallback callback) override {
    server_->Infer(std::move(request), std::move(callback));
  }
  absl::StatusOr<bool> IsServerLive() override { return server_->IsLive(); }
  absl::StatusOr<bool> IsServerReady() override { return server_->IsReady(); }
  absl::StatusOr<bool> IsModelReady(std::string_view model, int64_t version) override {
    return server_->IsModelReady(model, version);
  }
  absl::StatusOr<ServerMetadata> GetServerMetadata() override { return server_->Metadata(); }
  absl::StatusOr<ModelMetadata> GetModelMetadata(std::string_view model,
                                                 int64_t version) override {
    return server_->GetModelMetadata(model, version);
  }
  absl::Status LoadModel(std::string_view model) override { return server_->LoadModel(model); }
  absl::Status UnloadModel(std::string_view model) override {
    return server_->UnloadModel(model);
  }
  absl::StatusOr<std::vector<ModelIndexEntry>> GetRepositoryIndex(bool ready_only) override {
    return server_->RepositoryIndex(ready_only);
  }
  absl::StatusOr<std::vector<ModelStatistics>> GetModelStatistics(std::string_view model,
                                                                  int64_t version) override {
    return server_->Statistics(model, version);
  }
  absl::StatusOr<std::string> GetModelConfig(std::string_view model, int64_t version) override {
    auto config = server_->GetModelConfig(model, version);
    if (!config.ok()) return config.status();
    std::string text;
    google::protobuf::TextFormat::PrintToString(**config, &text);
    return text;
  }

 private:
  std::unique_ptr<InferenceServer> server_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ClientTransport>> CreateLocalTransport(
    std::string_view path, const ClientOptions& options) {
  ServerOptions server_options;
  server_options.model_repository = std::string(path);
  server_options.backend_directory = options.backend_directory;
  if (!options.load_models.empty()) {
    server_options.control_mode = ModelControlMode::kExplicit;
    server_options.startup_models = options.load_models;
  } else {
    server_options.control_mode = ModelControlMode::kExplicit;
    server_options.startup_models = {"*"};
  }
  auto server = InferenceServer::Create(std::move(server_options));
  if (!server.ok()) return server.status();
  return std::make_unique<LocalTransport>(*std::move(server));
}

}  // namespace inferd
