// SPDX-License-Identifier: Apache-2.0
#include "inferd/client.h"

#include "client/client_transport.h"
#include "fmt/format.h"

namespace inferd {

Client::Client(std::unique_ptr<ClientTransport> transport) : transport_(std::move(transport)) {}
Client::~Client() = default;

absl::StatusOr<std::unique_ptr<Client>> Client::Create(std::string_view url,
                                                       const ClientOptions& options) {
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return absl::InvalidArgumentError(
        fmt::format("client URL '{}' has no scheme; expected local://<repository path>", url));
  }
  const std::string_view scheme = url.substr(0, sep);
  const std::string_view rest = url.substr(sep + 3);
  absl::StatusOr<std::unique_ptr<ClientTransport>> transport;
  if (scheme == "local") {
    transport = CreateLocalTransport(rest, options);
  } else {
    return absl::InvalidArgumentError(fmt::format(
        "client URL '{}' has an unsupported scheme '{}'; this build supports local://", url,
        scheme));
  }
  if (!transport.ok()) return transport.status();
  return std::unique_ptr<Client>(new Client(*std::move(transport)));
}

absl::StatusOr<InferResponse> Client::Infer(InferRequest request) {
  return InferAsync(std::move(request)).get();
}

std::future<absl::StatusOr<InferResponse>> Client::InferAsync(InferRequest request) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<InferResponse>>>();
  auto future = promise->get_future();
  transport_->InferAsync(std::move(request), [promise](absl::StatusOr<InferResponse> result) {
    promise->set_value(std::move(result));
  });
  return future;
}

void Client::InferAsync(InferRequest request, InferCallback callback) {
  transport_->InferAsync(std::move(request), std::move(callback));
}

absl::StatusOr<bool> Client::IsServerLive() { return transport_->IsServerLive(); }
absl::StatusOr<bool> Client::IsServerReady() { return transport_->IsServerReady(); }
absl::StatusOr<bool> Client::IsModelReady(std::string_view model, int64_t version) {
  return transport_->IsModelReady(model, version);
}
absl::StatusOr<ServerMetadata> Client::GetServerMetadata() {
  return transport_->GetServerMetadata();
}
absl::StatusOr<ModelMetadata> Client::GetModelMetadata(std::string_view model, int64_t version) {
  return transport_->GetModelMetadata(model, version);
}
absl::Status Client::LoadModel(std::string_view model) { return transport_->LoadModel(model); }
absl::Status Client::UnloadModel(std::string_view model) { return transport_->UnloadModel(model); }
absl::StatusOr<std::vector<ModelIndexEntry>> Client::GetRepositoryIndex(bool ready_only) {
  return transport_->GetRepositoryIndex(ready_only);
}
absl::StatusOr<std::vector<ModelStatistics>> Client::GetModelStatistics(std::string_view model,
                                                                        int64_t version) {
  return transport_->GetModelStatistics(model, version);
}

}  // namespace inferd
