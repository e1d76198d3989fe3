// SPDX-License-Identifier: Apache-2.0
#include "server/inference_server.h"

#include <chrono>

#include "core/client_text.h"
#include "core/clock.h"
#include "fmt/format.h"
#include "server/classification.h"
#include "server/request_validation.h"
#include "spdlog/spdlog.h"

namespace inferd {
namespace {

constexpr std::string_view kServerName = "inferd";
constexpr std::string_view kServerVersion = "0.1.0";

std::vector<TensorMetadata> TensorsMetadata(const auto& tensors, bool batched) {
  std::vector<TensorMetadata> out;
  for (const auto& t : tensors) {
    TensorMetadata m;
    m.name = t.name();
    m.datatype = DataTypeFromConfigValue(t.data_type()).value_or(DataType::kInvalid);
    if (batched) m.shape.push_back(-1);
    m.shape.insert(m.shape.end(), t.dims().begin(), t.dims().end());
    out.push_back(std::move(m));
  }
  return out;
}

// When an output has `reshape`, the backend produced it in the reshaped form; the client sees the
// config's dims (with the batch dimension in front).
void RestoreOutputShapes(const inference::ModelConfig& config, InferPayload& payload) {
  for (InferOutput& out : payload.response.outputs) {
    for (const auto& spec : config.output()) {
      if (spec.name() != out.name || !spec.has_reshape()) continue;
      Shape dims(spec.dims().begin(), spec.dims().end());
      if (!ElementCount(dims)) break;  // Variable dims: keep what the backend produced.
      if (config.max_batch_size() > 0) dims.insert(dims.begin(), payload.batch_size);
      out.shape = std::move(dims);
      break;
    }
  }
}

// Triton's classification extension: replaces each output the request asked to classify with its
// top classes (classification.h).
absl::Status ApplyClassifications(const LoadedModel& model, InferPayload& payload) {
  const bool batched = model.config().max_batch_size() > 0;
  for (const auto& [name, count] : payload.classifications) {
    for (InferOutput& out : payload.response.outputs) {
      if (out.name != name) continue;
      auto classified = Classify(out, count, batched, model.Labels(name));
      if (!classified.ok()) {
        return absl::Status(classified.status().code(),
                            fmt::format("model {}: {}", QuoteClientText(model.config().name()),
                                        std::string(classified.status().message())));
      }
      out = *std::move(classified);
    }
  }
  return absl::OkStatus();
}

}  // namespace

InferenceServer::InferenceServer(ServerOptions options, ModelRepository repository)
    : options_(std::move(options)) {
  loader_ = std::make_unique<BackendLoader>(
      BackendLoaderOptions{.backend_directory = options_.backend_directory});
  factory_ = std::make_unique<ModelVersionFactory>(
      loader_.get(), static_cast<int64_t>(options_.inline_execution_max_us) * 1000,
      options_.max_queue_size_default);
  lifecycle_ = std::make_unique<ModelLifecycle>(std::move(repository), factory_.get());
}

absl::StatusOr<std::unique_ptr<InferenceServer>> InferenceServer::Create(ServerOptions options) {
  if (options.model_repository.empty()) {
    return absl::InvalidArgumentError("no model repository given (--model-repository)");
  }
  if (options.control_mode == ModelControlMode::kPoll && options.repository_poll_secs <= 0) {
    return absl::InvalidArgumentError(
        "model control mode 'poll' needs --repository-poll-secs greater than 0");
  }
  if (options.control_mode != ModelControlMode::kExplicit && !options.startup_models.empty()) {
    return absl::InvalidArgumentError(
        "--load-model is only allowed with --model-control-mode=explicit");
  }
  auto repository = ModelRepository::Open(options.model_repository);
  if (!repository.ok()) return repository.status();
  std::unique_ptr<InferenceServer> server(
      new InferenceServer(std::move(options), *std::move(repository)));
  absl::Status loaded = server->LoadStartupModels();
  if (!loaded.ok()) {
    if (server->options_.exit_on_error) return loaded;
    spdlog::error("{}", std::string(loaded.message()));
  }
  server->startup_ok_ = loaded.ok();
  if (server->options_.control_mode == ModelControlMode::kPoll) {
    server->poll_thread_ = std::thread([s = server.get()] { s->PollLoop(); });
  }
  return server;
}

InferenceServer::~InferenceServer() { Shutdown(); }

absl::Status InferenceServer::LoadStartupModels() {
  switch (options_.control_mode) {
    case ModelControlMode::kNone:
    case ModelControlMode::kPoll:
      return lifecycle_->LoadAll();
    case ModelControlMode::kExplicit: {
      absl::Status first = absl::OkStatus();
      for (const std::string& name : options_.startup_models) {
        absl::Status s = name == "*" ? lifecycle_->LoadAll() : lifecycle_->Load(name);
        if (!s.ok() && first.ok()) first = s;
      }
      return first;
    }
  }
  return absl::OkStatus();
}

void InferenceServer::PollLoop() {
  const absl::Duration interval = absl::Seconds(options_.repository_poll_secs);
  absl::MutexLock lock(&poll_mu_);
  while (!stop_polling_) {
    auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(poll_mu_) { return stop_polling_; };
    if (poll_mu_.AwaitWithTimeout(absl::Condition(&stop), interval)) break;
    poll_mu_.Unlock();
    lifecycle_->Poll();
    poll_mu_.Lock();
  }
}

void InferenceServer::Infer(InferRequest request, InferCallback callback,
                            std::shared_ptr<OutputAllocator> allocator, InferOptions options) {
  Dispatch(std::move(request), std::move(callback), std::move(allocator), options,
           Clock::Real()->NowNanos(), /*retries_left=*/2);
}

void InferenceServer::Dispatch(InferRequest request, InferCallback callback,
                               std::shared_ptr<OutputAllocator> allocator, InferOptions options,
                               int64_t received_ns, int retries_left) {
  if (shutting_down_.load(std::memory_order_acquire)) {
    callback(absl::UnavailableError("inferd is shutting down and accepts no new requests"));
    return;
  }
  auto handle = lifecycle_->Get(request.model_name, request.model_version);
  if (!handle.ok()) {
    callback(handle.status());
    return;
  }
  auto model = std::static_pointer_cast<LoadedModel>(handle->servable);
  auto payload = std::make_unique<InferPayload>();
  payload->received_ns = received_ns;
  payload->request = std::move(request);
  payload->allocator = allocator ? std::move(allocator) : HeapOutputAllocator();
  if (absl::Status valid = ValidateAndPrepare(model->config(), *payload); !valid.ok()) {
    model->stats().RecordFailure(Clock::Real()->NowNanos() - received_ns);
    callback(std::move(valid));
    return;
  }
  payload->allow_inline = options.allow_inline;
  if (options.inline_max_input_bytes > 0) {
    size_t input_bytes = 0;
    for (const TensorView& in : payload->inputs) input_bytes += in.byte_size;
    payload->allow_inline = payload->allow_inline && input_bytes <= options.inline_max_input_bytes;
  }
  payload->on_complete = [this, model, options, retries_left, callback = std::move(callback)](
                             std::unique_ptr<InferPayload> done, absl::Status status) mutable {
    const int64_t now = Clock::Real()->NowNanos();
    if (!status.ok()) {
      if (status.code() == absl::StatusCode::kUnavailable && done->compute_start_ns == 0 &&
          retries_left > 0 && !shutting_down_.load(std::memory_order_acquire)) {
        // Refused by a version that was being replaced or unloaded before it ran: look the
        // model up again, so a reload never fails a request.
        Dispatch(std::move(done->request), std::move(callback), std::move(done->allocator),
                 options, done->received_ns, retries_left - 1);
        return;
      }
      model->stats().RecordFailure(now - done->received_ns,
                                   ClassifyFailure(status, done->compute_start_ns != 0));
      callback(std::move(status));
      return;
    }
    RestoreOutputShapes(model->config(), *done);
    if (!done->classifications.empty()) {
      if (absl::Status classified = ApplyClassifications(*model, *done); !classified.ok()) {
        model->stats().RecordFailure(now - done->received_ns,
                                     ClassifyFailure(classified, /*reached_backend=*/true));
        callback(std::move(classified));
        return;
      }
    }
    model->stats().RecordSuccess(
        done->batch_size, now - done->received_ns, done->compute_start_ns - done->queue_start_ns,
        done->compute_input_ns, done->compute_infer_ns, done->compute_output_ns);
    InferResponse& response = done->response;
    response.model_name = done->request.model_name;
    response.model_version = model->version();
    response.id = std::move(done->request.id);
    callback(std::move(response));
  };
  model->scheduler().Enqueue(std::move(payload));
}

bool InferenceServer::IsLive() const { return true; }

bool InferenceServer::IsReady() const {
  return startup_ok_ && !draining_.load(std::memory_order_acquire) &&
         !shutting_down_.load(std::memory_order_acquire);
}

absl::StatusOr<bool> InferenceServer::IsModelReady(std::string_view name, int64_t version) const {
  auto handle = lifecycle_->Get(name, version);
  if (handle.ok()) return true;
  if (handle.status().code() == absl::StatusCode::kUnavailable) return false;
  return handle.status();
}

ServerMetadata InferenceServer::Metadata() const {
  // Triton's extension names, in Triton's order (core: src/server.cc), for what inferd serves on
  // both HTTP and gRPC. The transports add "system_shared_memory" when it is enabled
  // (AddSharedMemoryExtension). Not listed: sequence, cuda_shared_memory, trace, logging.
  return ServerMetadata{
      std::string(kServerName),
      std::string(kServerVersion),
      {"classification", "model_repository", "model_repository(unload_dependents)",
       "schedule_policy", "model_configuration", "binary_tensor_data", "parameters", "statistics"}};
}

absl::StatusOr<ModelMetadata> InferenceServer::GetModelMetadata(std::string_view name,
                                                                int64_t version) const {
  auto config = lifecycle_->GetConfig(name, version);
  if (!config.ok()) return config.status();
  const inference::ModelConfig& c = **config;
  ModelMetadata meta;
  meta.name = std::string(name);
  for (int64_t v : lifecycle_->ReadyVersions(name)) meta.versions.push_back(std::to_string(v));
  meta.platform = c.platform().empty() ? c.backend() : c.platform();
  meta.inputs = TensorsMetadata(c.input(), c.max_batch_size() > 0);
  meta.outputs = TensorsMetadata(c.output(), c.max_batch_size() > 0);
  return meta;
}

absl::StatusOr<std::shared_ptr<const inference::ModelConfig>> InferenceServer::GetModelConfig(
    std::string_view name, int64_t version) const {
  return lifecycle_->GetConfig(name, version);
}

absl::Status InferenceServer::LoadModel(std::string_view name) {
  if (options_.control_mode == ModelControlMode::kNone) {
    return absl::FailedPreconditionError(
        fmt::format("cannot load model {}: model control mode is 'none'; start inferd with "
                    "--model-control-mode=explicit to load and unload models through the API",
                    QuoteClientText(name)));
  }
  if (shutting_down_.load()) return absl::UnavailableError("inferd is shutting down");
  return lifecycle_->Load(name);
}

absl::Status InferenceServer::UnloadModel(std::string_view name) {
  if (options_.control_mode == ModelControlMode::kNone) {
    return absl::FailedPreconditionError(
        fmt::format("cannot unload model {}: model control mode is 'none'; start inferd with "
                    "--model-control-mode=explicit to load and unload models through the API",
                    QuoteClientText(name)));
  }
  return lifecycle_->Unload(name);
}

std::vector<ModelIndexEntry> InferenceServer::RepositoryIndex(bool ready_only) const {
  std::vector<ModelIndexEntry> out;
  for (const RepositoryIndexEntry& e : lifecycle_->Index(ready_only)) {
    out.push_back(ModelIndexEntry{e.name, e.version > 0 ? std::to_string(e.version) : "",
                                  std::string(ModelStateName(e.state)), e.reason});
  }
  return out;
}

absl::StatusOr<std::vector<ModelStatistics>> InferenceServer::Statistics(std::string_view name,
                                                                         int64_t version) const {
  std::vector<ModelStatistics> out;
  auto add = [&](std::string_view model, int64_t v) -> absl::Status {
    auto handle = lifecycle_->Get(model, v);
    if (!handle.ok()) return handle.status();
    auto* loaded = static_cast<LoadedModel*>(handle->servable.get());
    ModelStatistics s = loaded->stats().Snapshot();
    s.name = std::string(model);
    s.version = std::to_string(handle->version);
    s.memory_bytes = loaded->memory_bytes();
    s.pending_request_count = loaded->scheduler().PendingCount();
    out.push_back(std::move(s));
    return absl::OkStatus();
  };
  if (!name.empty() && version > 0) {
    if (absl::Status s = add(name, version); !s.ok()) return s;
    return out;
  }
  if (!name.empty()) {
    const std::vector<int64_t> versions = lifecycle_->ReadyVersions(name);
    if (versions.empty()) {
      auto handle = lifecycle_->Get(name, 0);  // For the error: unknown vs not ready.
      if (!handle.ok()) return handle.status();
    }
    for (int64_t v : versions) {
      if (absl::Status s = add(name, v); !s.ok() && s.code() != absl::StatusCode::kNotFound) {
        return s;
      }
    }
    return out;
  }
  for (const RepositoryIndexEntry& e : lifecycle_->Index(/*ready_only=*/true)) {
    if (absl::Status s = add(e.name, e.version); !s.ok()) continue;  // Unloaded meanwhile.
  }
  return out;
}

void InferenceServer::BeginDrain() {
  if (!draining_.exchange(true)) spdlog::info("draining: not ready, still serving requests");
}

void InferenceServer::BeginShutdown() {
  if (!shutting_down_.exchange(true)) spdlog::info("shutting down: refusing new requests");
}

void InferenceServer::Shutdown() {
  BeginShutdown();
  {
    absl::MutexLock lock(&poll_mu_);
    stop_polling_ = true;
  }
  if (poll_thread_.joinable()) poll_thread_.join();
  if (lifecycle_) lifecycle_->UnloadAll();
}

}  // namespace inferd
