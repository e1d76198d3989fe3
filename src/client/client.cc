// SPDX-License-Identifier: Apache-2.0
#include "inferd/client.h"

#include "client/client_transport.h"
#include "client/http_transport.h"
#include "client/ipc_transport.h"
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
  } else if (scheme == "http") {
    transport = CreateHttpTransport(rest);
  } else if (scheme == "grpc") {
    transport = CreateGrpcTransport(rest, options);
  } else if (scheme == "ipc") {
    transport = CreateIpcTransport(rest, options);
  } else {
    return absl::InvalidArgumentError(fmt::format(
        "client URL '{}' has an unsupported scheme '{}'; this build supports local://", url,
        scheme));
  }
  if (!transport.ok()) return transport.status();
  return std::unique_ptr<Client>(new Client(*std::move(transport)));
}

absl::StatusOr<InferResponse> Client::Infer(InferRequest request) {
  return transport_->Infer(std::move(request));
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
absl::StatusOr<std::string> Client::GetModelConfig(std::string_view model, int64_t version) {
  return transport_->GetModelConfig(model, version);
}
absl::StatusOr<Client::InputBuffer> Client::AllocateInput(std::string name, DataType datatype,
                                                          Shape shape, size_t byte_size) {
  absl::StatusOr<OutputBuffer> buffer = transport_->AllocateTensor(byte_size);
  if (!buffer.ok()) return buffer.status();
  InputBuffer result;
  result.input.name = std::move(name);
  result.input.datatype = datatype;
  result.input.shape = std::move(shape);
  result.input.data = buffer->data;
  result.input.byte_size = byte_size;
  result.input.owner = std::move(buffer->owner);
  result.data = {buffer->data, byte_size};
  return result;
}

absl::Status Client::RegisterSystemSharedMemory(std::string_view name, std::string_view key,
                                                uint64_t byte_size, uint64_t offset) {
  return transport_->RegisterSystemSharedMemory(name, key, byte_size, offset);
}
absl::Status Client::UnregisterSystemSharedMemory(std::string_view name) {
  return transport_->UnregisterSystemSharedMemory(name);
}
absl::StatusOr<std::vector<SharedMemoryRegionStatus>> Client::GetSystemSharedMemoryStatus(
    std::string_view name) {
  return transport_->GetSystemSharedMemoryStatus(name);
}

absl::StatusOr<std::unique_ptr<InferStream>> Client::StartStream(StreamCallback callback) {
  return transport_->StartStream(std::move(callback));
}

}  // namespace inferd
