// SPDX-License-Identifier: Apache-2.0
#include "transport/grpc/grpc_handlers.h"

#include <string>

#include "core/client_text.h"
#include "fmt/format.h"
#include "server/inference_server.h"
#include "transport/grpc/infer_codec.h"
#include "transport/shm/shm_region_registry.h"

namespace inferd::grpc_transport {
namespace {

void SetDuration(const DurationStat& from, inference::StatisticDuration* to) {
  to->set_count(from.count);
  to->set_ns(from.ns);
}

// inferd serves one repository, so a repository name must be empty.
grpc::Status CheckRepositoryName(const std::string& name) {
  if (name.empty()) return grpc::Status::OK;
  return ToGrpcStatus(absl::InvalidArgumentError(
      fmt::format("repository_name {} is not supported: inferd serves one repository, leave "
                  "repository_name empty",
                  QuoteClientText(name))));
}

grpc::Status CheckModelName(const std::string& name, std::string_view field) {
  if (!name.empty()) return grpc::Status::OK;
  return ToGrpcStatus(absl::InvalidArgumentError(fmt::format("{} is empty: name a model", field)));
}

}  // namespace

grpc::Status HandleServerLive(CallContext& c, const inference::ServerLiveRequest&,
                              inference::ServerLiveResponse& response) {
  response.set_live(c.inference().IsLive());
  return grpc::Status::OK;
}

grpc::Status HandleServerReady(CallContext& c, const inference::ServerReadyRequest&,
                               inference::ServerReadyResponse& response) {
  response.set_ready(c.inference().IsReady());
  return grpc::Status::OK;
}

grpc::Status HandleModelReady(CallContext& c, const inference::ModelReadyRequest& request,
                              inference::ModelReadyResponse& response) {
  if (auto s = CheckModelName(request.name(), "name"); !s.ok()) return s;
  auto version = ParseModelVersion(request.version(), "version");
  if (!version.ok()) return ToGrpcStatus(version.status());
  auto ready = c.inference().IsModelReady(request.name(), *version);
  // An unknown model or version is not ready: OK with ready false, as Triton answers (clients'
  // is_model_ready returns False rather than raising).
  if (!ready.ok() && ready.status().code() != absl::StatusCode::kNotFound) {
    return ToGrpcStatus(ready.status());
  }
  response.set_ready(ready.value_or(false));
  return grpc::Status::OK;
}

grpc::Status HandleServerMetadata(CallContext& c, const inference::ServerMetadataRequest&,
                                  inference::ServerMetadataResponse& response) {
  ServerMetadata meta = c.inference().Metadata();
  AddSharedMemoryExtension(c.shm_registry(), meta);
  response.set_name(std::move(meta.name));
  response.set_version(std::move(meta.version));
  for (std::string& e : meta.extensions) response.add_extensions(std::move(e));
  return grpc::Status::OK;
}

grpc::Status HandleModelMetadata(CallContext& c, const inference::ModelMetadataRequest& request,
                                 inference::ModelMetadataResponse& response) {
  if (auto s = CheckModelName(request.name(), "name"); !s.ok()) return s;
  auto version = ParseModelVersion(request.version(), "version");
  if (!version.ok()) return ToGrpcStatus(version.status());
  auto meta = c.inference().GetModelMetadata(request.name(), *version);
  if (!meta.ok()) return ToGrpcStatus(meta.status());
  response.set_name(meta->name);
  for (const std::string& v : meta->versions) response.add_versions(v);
  response.set_platform(meta->platform);
  auto add = [](const TensorMetadata& from, inference::ModelMetadataResponse::TensorMetadata* to) {
    to->set_name(from.name);
    to->set_datatype(std::string(DataTypeName(from.datatype)));
    for (int64_t d : from.shape) to->add_shape(d);
  };
  for (const TensorMetadata& t : meta->inputs) add(t, response.add_inputs());
  for (const TensorMetadata& t : meta->outputs) add(t, response.add_outputs());
  return grpc::Status::OK;
}

grpc::Status HandleModelConfig(CallContext& c, const inference::ModelConfigRequest& request,
                               inference::ModelConfigResponse& response) {
  if (auto s = CheckModelName(request.name(), "name"); !s.ok()) return s;
  auto version = ParseModelVersion(request.version(), "version");
  if (!version.ok()) return ToGrpcStatus(version.status());
  auto config = c.inference().GetModelConfig(request.name(), *version);
  if (!config.ok()) return ToGrpcStatus(config.status());
  *response.mutable_config() = **config;
  return grpc::Status::OK;
}

grpc::Status HandleModelStatistics(CallContext& c, const inference::ModelStatisticsRequest& request,
                                   inference::ModelStatisticsResponse& response) {
  auto version = ParseModelVersion(request.version(), "version");
  if (!version.ok()) return ToGrpcStatus(version.status());
  if (request.name().empty() && *version != 0) {
    return ToGrpcStatus(
        absl::InvalidArgumentError("version is set but name is empty: name the model"));
  }
  auto stats = c.inference().Statistics(request.name(), *version);
  if (!stats.ok()) return ToGrpcStatus(stats.status());
  for (const ModelStatistics& s : *stats) {
    inference::ModelStatistics* m = response.add_model_stats();
    m->set_name(s.name);
    m->set_version(s.version);
    m->set_last_inference(s.last_inference_ms);
    m->set_inference_count(s.inference_count);
    m->set_execution_count(s.execution_count);
    inference::InferStatistics* i = m->mutable_inference_stats();
    SetDuration(s.inference_stats.success, i->mutable_success());
    SetDuration(s.inference_stats.fail, i->mutable_fail());
    SetDuration(s.inference_stats.queue, i->mutable_queue());
    SetDuration(s.inference_stats.compute_input, i->mutable_compute_input());
    SetDuration(s.inference_stats.compute_infer, i->mutable_compute_infer());
    SetDuration(s.inference_stats.compute_output, i->mutable_compute_output());
    i->mutable_cache_hit();
    i->mutable_cache_miss();
    for (const BatchStats& b : s.batch_stats) {
      inference::InferBatchStatistics* out = m->add_batch_stats();
      out->set_batch_size(static_cast<uint64_t>(b.batch_size));
      SetDuration(b.compute_input, out->mutable_compute_input());
      SetDuration(b.compute_infer, out->mutable_compute_infer());
      SetDuration(b.compute_output, out->mutable_compute_output());
    }
    inference::MemoryUsage* memory = m->add_memory_usage();
    memory->set_type("CPU");
    memory->set_id(0);
    memory->set_byte_size(static_cast<uint64_t>(std::max<int64_t>(s.memory_bytes, 0)));
  }
  return grpc::Status::OK;
}

grpc::Status HandleRepositoryIndex(CallContext& c, const inference::RepositoryIndexRequest& request,
                                   inference::RepositoryIndexResponse& response) {
  if (auto s = CheckRepositoryName(request.repository_name()); !s.ok()) return s;
  for (const ModelIndexEntry& e : c.inference().RepositoryIndex(request.ready())) {
    auto* m = response.add_models();
    m->set_name(e.name);
    m->set_version(e.version);
    m->set_state(e.state);
    m->set_reason(e.reason);
  }
  return grpc::Status::OK;
}

grpc::Status HandleRepositoryModelLoad(CallContext& c,
                                       const inference::RepositoryModelLoadRequest& request,
                                       inference::RepositoryModelLoadResponse&) {
  if (auto s = CheckRepositoryName(request.repository_name()); !s.ok()) return s;
  if (auto s = CheckModelName(request.model_name(), "model_name"); !s.ok()) return s;
  for (const auto& [key, value] : request.parameters()) {
    // UNIMPLEMENTED, as HTTP's 501 for the same request.
    return ToGrpcStatus(absl::UnimplementedError(
        fmt::format("load parameter {} for model {} is not supported: inferd loads models "
                    "only from the repository's files",
                    QuoteClientText(key), QuoteClientText(request.model_name()))));
  }
  return ToGrpcStatus(c.inference().LoadModel(request.model_name()));
}

grpc::Status HandleRepositoryModelUnload(CallContext& c,
                                         const inference::RepositoryModelUnloadRequest& request,
                                         inference::RepositoryModelUnloadResponse&) {
  if (auto s = CheckRepositoryName(request.repository_name()); !s.ok()) return s;
  if (auto s = CheckModelName(request.model_name(), "model_name"); !s.ok()) return s;
  for (const auto& [key, value] : request.parameters()) {
    // No ensembles, hence no dependents: unload_dependents changes nothing.
    if (key == "unload_dependents") continue;
    return ToGrpcStatus(absl::UnimplementedError(
        fmt::format("unload parameter {} for model {} is not supported", QuoteClientText(key),
                    QuoteClientText(request.model_name()))));
  }
  return ToGrpcStatus(c.inference().UnloadModel(request.model_name()));
}

}  // namespace inferd::grpc_transport
