// SPDX-License-Identifier: Apache-2.0
#include "perf/profiler.h"

#include <google/protobuf/text_format.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>
#include <thread>

#include <fmt/format.h>

#include "codec/json_document.h"
#include "core/client_text.h"
#include "http_fetch.h"
#include "inferd/shm.h"
#include "inferd/tensor.h"
#include "model_config.pb.h"
#include "perf/hardware_sampler.h"
#include "perf/input_data.h"
#include "perf/load_generator.h"

namespace inferd::perf {

const char* LoadModeName(LoadMode mode) {
  return mode == LoadMode::kConcurrency ? "concurrency" : "request_rate";
}

std::vector<double> LoadRange::Values() const {
  std::vector<double> out;
  const double s = step > 0 ? step : 1;
  for (double v = start; v <= end + 1e-9; v += s) out.push_back(v);
  if (out.empty()) out.push_back(start);
  return out;
}

namespace {

namespace fs = std::filesystem;

struct Url {
  std::string scheme;  // local, http, grpc, ipc
  std::string rest;    // after "://"
  std::string host;    // http/grpc
  int port = 0;
};

absl::StatusOr<Url> ParseUrl(const std::string& url) {
  const size_t sep = url.find("://");
  if (sep == std::string::npos) {
    return absl::InvalidArgumentError(fmt::format(
        "-u {}: expected http://host:port, grpc://host:port, ipc://socket or local://repository",
        QuoteClientText(url)));
  }
  Url u;
  u.scheme = url.substr(0, sep);
  u.rest = url.substr(sep + 3);
  if (u.scheme != "local" && u.scheme != "http" && u.scheme != "grpc" && u.scheme != "ipc") {
    return absl::InvalidArgumentError(fmt::format(
        "-u {}: unknown scheme '{}'; use http://, grpc://, ipc:// or local://",
        QuoteClientText(url), QuoteClientText(u.scheme)));
  }
  if (u.scheme == "http" || u.scheme == "grpc") {
    std::string hostport = u.rest.substr(0, u.rest.find('/'));
    u.port = u.scheme == "http" ? 8000 : 8001;
    u.host = hostport;
    if (size_t colon = hostport.rfind(':'); colon != std::string::npos) {
      u.host = hostport.substr(0, colon);
      try {
        u.port = std::stoi(hostport.substr(colon + 1));
      } catch (...) {
        return absl::InvalidArgumentError(fmt::format("-u {}: bad port", QuoteClientText(url)));
      }
    }
  }
  return u;
}

// Client::Create and a liveness call, answered within `timeout_ms` (a server that does not
// answer leaves a thread behind; the caller exits).
absl::StatusOr<std::shared_ptr<Client>> ConnectWithin(const std::string& url,
                                                       const ClientOptions& options,
                                                       double timeout_ms, bool check_live) {
  if (timeout_ms <= 0) {
    // On this thread (local://): a model loaded on a thread that then exits leaves libtorch's
    // OpenMP workers of that thread behind, spinning against the ones that run it later (10x
    // slower ResNet50 on a 2-core machine).
    auto client = Client::Create(url, options);
    if (!client.ok()) return client.status();
    return std::shared_ptr<Client>(*std::move(client));
  }
  auto promise = std::make_shared<std::promise<absl::StatusOr<std::shared_ptr<Client>>>>();
  auto future = promise->get_future();
  std::thread([promise, url, options, check_live] {
    auto client = Client::Create(url, options);
    if (!client.ok()) {
      promise->set_value(client.status());
      return;
    }
    std::shared_ptr<Client> shared = *std::move(client);
    if (check_live) {
      auto live = shared->IsServerLive();
      if (!live.ok()) {
        promise->set_value(live.status());
        return;
      }
      if (!*live) {
        promise->set_value(absl::UnavailableError("the server says it is not live"));
        return;
      }
    }
    promise->set_value(shared);
  }).detach();
  if (future.wait_for(std::chrono::duration<double, std::milli>(timeout_ms)) !=
          std::future_status::ready) {
    return absl::DeadlineExceededError(
        fmt::format("no answer from {} within {:.0f} ms", url, timeout_ms));
  }
  auto result = future.get();
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        fmt::format("cannot reach {}: {}", url, std::string(result.status().message())));
  }
  return result;
}

// Sum of the statistics of every version in `stats` (one, unless version 0 matched several).
struct RawStats {
  uint64_t success = 0, fail = 0, inference = 0, execution = 0;
  DurationStat queue, input, infer, output;
  std::map<int64_t, uint64_t> batches;
};
RawStats Sum(const std::vector<ModelStatistics>& stats) {
  RawStats r;
  auto add = [](DurationStat& a, const DurationStat& b) {
    a.count += b.count;
    a.ns += b.ns;
  };
  for (const auto& s : stats) {
    r.success += s.inference_stats.success.count;
    r.fail += s.inference_stats.fail.count;
    r.inference += s.inference_count;
    r.execution += s.execution_count;
    add(r.queue, s.inference_stats.queue);
    add(r.input, s.inference_stats.compute_input);
    add(r.infer, s.inference_stats.compute_infer);
    add(r.output, s.inference_stats.compute_output);
    for (const auto& b : s.batch_stats) r.batches[b.batch_size] += b.compute_infer.count;
  }
  return r;
}
RawStats Delta(const RawStats& a, const RawStats& b) {
  RawStats d;
  auto sub = [](const DurationStat& x, const DurationStat& y) {
    return DurationStat{y.count - x.count, y.ns - x.ns};
  };
  d.success = b.success - a.success;
  d.fail = b.fail - a.fail;
  d.inference = b.inference - a.inference;
  d.execution = b.execution - a.execution;
  d.queue = sub(a.queue, b.queue);
  d.input = sub(a.input, b.input);
  d.infer = sub(a.infer, b.infer);
  d.output = sub(a.output, b.output);
  for (const auto& [size, count] : b.batches) {
    auto it = a.batches.find(size);
    const uint64_t before = it == a.batches.end() ? 0 : it->second;
    if (count > before) d.batches[size] = count - before;
  }
  return d;
}
void Accumulate(RawStats& total, const RawStats& d) {
  total.success += d.success;
  total.fail += d.fail;
  total.inference += d.inference;
  total.execution += d.execution;
  for (auto [to, from] : {std::pair{&total.queue, &d.queue}, std::pair{&total.input, &d.input},
                          std::pair{&total.infer, &d.infer}, std::pair{&total.output, &d.output}}) {
    to->count += from->count;
    to->ns += from->ns;
  }
  for (const auto& [size, count] : d.batches) total.batches[size] += count;
}
ServerBreakdown Breakdown(const RawStats& d) {
  ServerBreakdown out;
  out.available = true;
  out.success_count = d.success;
  out.fail_count = d.fail;
  out.inference_count = d.inference;
  out.execution_count = d.execution;
  auto avg = [](const DurationStat& s) {
    return s.count == 0 ? 0.0 : static_cast<double>(s.ns) / static_cast<double>(s.count) / 1e3;
  };
  out.queue_us = avg(d.queue);
  out.compute_input_us = avg(d.input);
  out.compute_infer_us = avg(d.infer);
  out.compute_output_us = avg(d.output);
  out.executions_by_batch_size = d.batches;
  return out;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t idx = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  idx = idx == 0 ? 0 : idx - 1;
  return sorted[std::min(idx, sorted.size() - 1)];
}

struct Window {
  std::vector<RequestRecord> records;
  int64_t start_ns = 0, end_ns = 0;
  RawStats server;
  bool server_ok = false;
  WindowResult result;
};

class ProfilerImpl final : public Profiler {
 public:
  ProfilerImpl(ProfileOptions options, std::string protocol, std::shared_ptr<Client> client,
               std::shared_ptr<Client> control, ModelMetadata metadata, int64_t max_batch_size,
               std::vector<std::vector<InferInput>> steps,
               std::unique_ptr<HardwareSampler> sampler,
               std::vector<std::unique_ptr<SystemShmRegion>> regions)
      : options_(std::move(options)),
        protocol_(std::move(protocol)),
        client_(std::move(client)),
        control_(std::move(control)),
        metadata_(std::move(metadata)),
        max_batch_size_(max_batch_size),
        steps_(std::move(steps)),
        sampler_(std::move(sampler)),
        regions_(std::move(regions)) {}

  ~ProfilerImpl() override {
    if (!regions_.empty()) {
      control_->UnregisterSystemSharedMemory(fmt::format("inferd_perf_inputs_{}", getpid()))
          .IgnoreError();
    }
  }

  absl::StatusOr<LevelResult> MeasureLevel(LoadMode mode, double value,
                                           const ProgressCallback& progress) override;
  ProfileResult Run(const ProgressCallback& progress) override;

 private:
  absl::StatusOr<RawStats> FetchStats() {
    auto stats = control_->GetModelStatistics(options_.model, options_.version);
    if (!stats.ok()) return stats.status();
    return Sum(*stats);
  }
  absl::Status CheckFirstResponse(const InferResponse& response) const;
  LevelResult Merge(LoadMode mode, double value, const std::vector<Window>& windows,
                    size_t first) const;

  const ProfileOptions options_;
  const std::string protocol_;
  std::shared_ptr<Client> client_;
  std::shared_ptr<Client> control_;
  const ModelMetadata metadata_;
  const int64_t max_batch_size_;
  const std::vector<std::vector<InferInput>> steps_;
  std::unique_ptr<HardwareSampler> sampler_;
  std::vector<std::unique_ptr<SystemShmRegion>> regions_;
  std::atomic<uint64_t> sequence_{0};
  std::atomic<bool> first_checked_{false};
  int level_index_ = 0;
  int level_count_ = 1;
  int64_t run_start_ns_ = SteadyNowNs();
};

absl::Status ProfilerImpl::CheckFirstResponse(const InferResponse& response) const {
  for (const TensorMetadata& want : metadata_.outputs) {
    const InferOutput* got = response.FindOutput(want.name);
    if (got == nullptr) {
      return absl::DataLossError(fmt::format(
          "the first response has no output '{}', which the model's metadata lists", want.name));
    }
    if (got->datatype != want.datatype) {
      return absl::DataLossError(fmt::format(
          "the first response's output '{}' is {}, the model's metadata says {}", want.name,
          DataTypeName(got->datatype), DataTypeName(want.datatype)));
    }
    bool fits = got->shape.size() == want.shape.size();
    for (size_t d = 0; fits && d < want.shape.size(); ++d) {
      fits = want.shape[d] < 0 || want.shape[d] == got->shape[d];
    }
    if (!fits) {
      return absl::DataLossError(fmt::format(
          "the first response's output '{}' has shape {}, the model's metadata says {}",
          want.name, ShapeToString(got->shape), ShapeToString(want.shape)));
    }
  }
  for (const InferOutput& got : response.outputs) {
    bool known = false;
    for (const TensorMetadata& want : metadata_.outputs) known = known || want.name == got.name;
    if (!known) {
      return absl::DataLossError(fmt::format(
          "the first response has output {}, which the model's metadata does not list",
          QuoteClientText(got.name)));
    }
  }
  return absl::OkStatus();
}

LevelResult ProfilerImpl::Merge(LoadMode mode, double value, const std::vector<Window>& windows,
                                size_t first) const {
  LevelResult level;
  level.mode = mode;
  level.value = value;
  level.batch_size = options_.batch_size;
  for (const Window& w : windows) level.windows.push_back(w.result);
  std::vector<double> latencies;
  double send = 0, recv = 0;
  RawStats server;
  bool server_ok = true;
  for (size_t i = first; i < windows.size(); ++i) {
    const Window& w = windows[i];
    level.duration_s += static_cast<double>(w.end_ns - w.start_ns) / 1e9;
    for (const RequestRecord& r : w.records) {
      if (r.ok) {
        latencies.push_back(static_cast<double>(r.end_ns - r.start_ns) / 1e3);
        send += static_cast<double>(r.send_ns) / 1e3;
        recv += static_cast<double>(r.recv_ns) / 1e3;
      } else {
        ++level.errors;
        ++level.errors_by_message[r.error];
      }
    }
    server_ok = server_ok && w.server_ok;
    Accumulate(server, w.server);
  }
  std::sort(latencies.begin(), latencies.end());
  level.successes = latencies.size();
  const double n = static_cast<double>(latencies.size());
  if (level.duration_s > 0) {
    level.request_rate = n / level.duration_s;
    level.throughput = level.request_rate * static_cast<double>(options_.batch_size);
  }
  LatencySummary& lat = level.latency;
  lat.count = latencies.size();
  if (!latencies.empty()) {
    double sum = 0;
    for (double l : latencies) sum += l;
    lat.avg_us = sum / n;
    lat.min_us = latencies.front();
    lat.max_us = latencies.back();
    lat.p50_us = Percentile(latencies, 50);
    lat.p90_us = Percentile(latencies, 90);
    lat.p95_us = Percentile(latencies, 95);
    lat.p99_us = Percentile(latencies, 99);
    if (options_.percentile) lat.custom_percentile_us = Percentile(latencies, *options_.percentile);
    level.client_send_us = send / n;
    level.client_recv_us = recv / n;
  }
  level.response_wait_us = std::max(0.0, lat.avg_us - level.client_send_us - level.client_recv_us);
  if (server_ok) {
    level.server = Breakdown(server);
    const double accounted = level.server.queue_us + level.server.compute_input_us +
                             level.server.compute_infer_us + level.server.compute_output_us;
    level.network_server_us = std::max(0.0, level.response_wait_us - accounted);
  }
  if (sampler_ != nullptr && first < windows.size()) {
    level.hardware = sampler_->Summarize(windows[first].start_ns, windows.back().end_ns);
  }
  return level;
}

absl::StatusOr<LevelResult> ProfilerImpl::MeasureLevel(LoadMode mode, double value,
                                                       const ProgressCallback& progress) {
  LoadSpec spec;
  spec.mode = mode;
  spec.value = value;
  spec.call_mode = options_.call_mode;
  spec.distribution = options_.distribution;
  spec.seed = options_.seed + static_cast<uint64_t>(value * 1000);
  auto next = [this] {
    const uint64_t i = sequence_.fetch_add(1);
    InferRequest request;
    request.model_name = options_.model;
    request.model_version = options_.version;
    request.inputs = steps_[i % steps_.size()];
    return request;
  };
  auto first_error = std::make_shared<absl::Mutex>();
  auto first_status = std::make_shared<absl::Status>();
  auto check = [this, first_error, first_status](const InferResponse& response) -> absl::Status {
    if (first_checked_.exchange(true)) return absl::OkStatus();
    absl::Status s = CheckFirstResponse(response);
    absl::MutexLock lock(first_error.get());
    *first_status = s;
    return s;
  };
  auto stats = FetchStats();
  if (!stats.ok()) {
    return absl::UnavailableError(fmt::format(
        "cannot read the model's statistics before {} {}: {}", LoadModeName(mode), value,
        std::string(stats.status().message())));
  }
  auto generator = LoadGenerator::Start(client_.get(), spec, next, check);
  if (!generator.ok()) return generator.status();
  const double drain_ms = 10000 + 2 * options_.measurement_interval_ms;
  auto fail = [&](absl::Status status) -> absl::Status {
    (*generator)->Stop(std::min(drain_ms, 3000.0));
    return status;
  };
  std::vector<Window> windows;
  RawStats previous = *stats;
  int64_t window_start = SteadyNowNs();
  (*generator)->TakeRecords();
  bool stable = false;
  for (int trial = 1; trial <= std::max(1, options_.max_trials); ++trial) {
    if (options_.measurement_mode == MeasurementMode::kTimeWindows) {
      std::this_thread::sleep_for(
          std::chrono::duration<double, std::milli>(options_.measurement_interval_ms));
    } else {
      const uint64_t target = (*generator)->Completed() + options_.measurement_request_count;
      (*generator)->WaitForCompleted(target,
                                     std::max(10000.0, 20 * options_.measurement_interval_ms));
    }
    Window w;
    w.start_ns = window_start;
    w.end_ns = SteadyNowNs();
    w.records = (*generator)->TakeRecords();
    auto now_stats = FetchStats();
    if (!now_stats.ok()) {
      return fail(absl::UnavailableError(fmt::format(
          "lost the server during {} {} (window {}): {}", LoadModeName(mode), value, trial,
          std::string(now_stats.status().message()))));
    }
    w.server = Delta(previous, *now_stats);
    w.server_ok = true;
    previous = *now_stats;
    window_start = w.end_ns;
    {
      absl::MutexLock lock(first_error.get());
      if (!first_status->ok()) return fail(*first_status);
    }
    // The window's own figures, for stability and the JSON.
    std::vector<double> lat;
    for (const auto& r : w.records) {
      if (r.ok) lat.push_back(static_cast<double>(r.end_ns - r.start_ns) / 1e3);
      else ++w.result.errors;
    }
    std::sort(lat.begin(), lat.end());
    w.result.duration_s = static_cast<double>(w.end_ns - w.start_ns) / 1e9;
    w.result.successes = lat.size();
    w.result.throughput = w.result.duration_s > 0
                              ? static_cast<double>(lat.size()) *
                                    static_cast<double>(options_.batch_size) / w.result.duration_s
                              : 0;
    double sum = 0;
    for (double l : lat) sum += l;
    w.result.avg_latency_us = lat.empty() ? 0 : sum / static_cast<double>(lat.size());
    w.result.p50_latency_us = Percentile(lat, 50);
    w.result.stabilizing_latency_us =
        options_.percentile ? Percentile(lat, *options_.percentile) : w.result.avg_latency_us;
    windows.push_back(std::move(w));
    if (progress) {
      Progress p;
      p.level_index = level_index_;
      p.level_count = level_count_;
      p.level_value = value;
      p.window = trial;
      p.max_windows = options_.max_trials;
      p.elapsed_s = static_cast<double>(SteadyNowNs() - run_start_ns_) / 1e9;
      progress(p);
    }
    if (options_.latency_threshold_ms > 0 &&
        windows.back().result.stabilizing_latency_us > options_.latency_threshold_ms * 1e3) {
      break;
    }
    if (windows.size() >= 3) {
      bool ok = true;
      const double tolerance = options_.stability_percentage / 100.0;
      for (auto field : {&WindowResult::throughput, &WindowResult::stabilizing_latency_us}) {
        double mean = 0;
        for (size_t i = windows.size() - 3; i < windows.size(); ++i) mean += windows[i].result.*field;
        mean /= 3;
        for (size_t i = windows.size() - 3; i < windows.size(); ++i) {
          if (mean <= 0 || std::fabs(windows[i].result.*field - mean) > tolerance * mean) ok = false;
        }
      }
      if (ok) {
        stable = true;
        break;
      }
    }
  }
  if (!(*generator)->Stop(drain_ms)) {
    return absl::DeadlineExceededError(fmt::format(
        "requests still unanswered {:.0f} ms after the load stopped at {} {}; the server stopped "
        "answering",
        drain_ms, LoadModeName(mode), value));
  }
  const size_t first = windows.size() >= 3 ? windows.size() - 3 : 0;
  LevelResult level = Merge(mode, value, windows, first);
  level.stable = stable;
  return level;
}

ProfileResult ProfilerImpl::Run(const ProgressCallback& progress) {
  ProfileResult result;
  result.model = options_.model;
  result.version = options_.version;
  result.url = options_.url;
  result.protocol = protocol_;
  result.codec = !options_.codec.empty()  ? options_.codec
                 : protocol_ == "http"    ? "binary"
                 : protocol_ == "grpc"    ? "protobuf"
                                          : "native";
  result.batch_size = options_.batch_size;
  result.mode = options_.mode;
  result.call_mode = options_.call_mode == CallMode::kSync    ? "sync"
                     : options_.call_mode == CallMode::kAsync ? "async"
                                                               : "streaming";
  if (options_.mode == LoadMode::kRequestRate) {
    result.distribution =
        options_.distribution == RequestDistribution::kPoisson ? "poisson" : "constant";
  }
  result.input_data = options_.input_data;
  result.shared_memory = options_.shared_memory == SharedMemoryMode::kSystem ? "system" : "none";
  result.percentile = options_.percentile;
  result.measurement_interval_ms = options_.measurement_interval_ms;
  result.measurement_mode =
      options_.measurement_mode == MeasurementMode::kTimeWindows ? "time_windows" : "count_windows";
  result.stability_percentage = options_.stability_percentage;
  result.measurement_request_count = options_.measurement_request_count;
  result.max_trials = options_.max_trials;
  const std::vector<double> values = options_.mode == LoadMode::kConcurrency
                                         ? options_.concurrency.Values()
                                         : options_.request_rate.Values();
  level_count_ = static_cast<int>(values.size());
  run_start_ns_ = SteadyNowNs();
  for (size_t i = 0; i < values.size(); ++i) {
    level_index_ = static_cast<int>(i);
    auto level = MeasureLevel(options_.mode, values[i], progress);
    if (!level.ok()) {
      result.error = level.status();
      break;
    }
    result.levels.push_back(*std::move(level));
    const LevelResult& last = result.levels.back();
    const double latency_us = options_.percentile && last.latency.custom_percentile_us
                                  ? *last.latency.custom_percentile_us
                                  : last.latency.avg_us;
    if (options_.latency_threshold_ms > 0 && latency_us > options_.latency_threshold_ms * 1e3) {
      result.stop_reason = fmt::format(
          "stopped after {} {}: its latency {:.1f} ms is above --latency-threshold {} ms",
          LoadModeName(options_.mode), values[i], latency_us / 1e3, options_.latency_threshold_ms);
      break;
    }
  }
  if (sampler_ != nullptr) result.hardware_absent = sampler_->Absent();
  result.hints = MakeHints(result);
  return result;
}

// Reads max_batch_size: the config over grpc:// and local:// (text format), or GET
// /v2/models/<m>/config over HTTP (JSON).
absl::StatusOr<int64_t> ReadMaxBatchSize(Client& control, const Url& control_url,
                                         const std::string& model, int64_t version) {
  if (control_url.scheme == "http") {
    std::string path = "/v2/models/" + model;
    if (version > 0) path += "/versions/" + std::to_string(version);
    auto body = top::HttpGet(control_url.host, control_url.port, path + "/config",
                             std::chrono::milliseconds(3000));
    if (!body.ok()) return body.status();
    rapidjson::Document doc;
    if (absl::Status parsed = codec::ParseJsonDocument(*body, "the model configuration", doc);
        !parsed.ok()) {
      return parsed;
    }
    if (!doc.IsObject()) return absl::InvalidArgumentError("the model configuration is not a JSON object");
    if (!doc.HasMember("max_batch_size")) return 0;
    const auto& v = doc["max_batch_size"];
    return v.IsInt64() ? v.GetInt64() : 0;
  }
  auto text = control.GetModelConfig(model, version);
  if (!text.ok()) return text.status();
  inference::ModelConfig config;
  if (!google::protobuf::TextFormat::ParseFromString(*text, &config)) {
    return absl::InvalidArgumentError("the model configuration does not parse");
  }
  return config.max_batch_size();
}

std::string ListModels(Client& control) {
  auto index = control.GetRepositoryIndex(false);
  if (!index.ok()) return "(the repository index could not be read)";
  std::vector<std::string> names;
  for (const auto& e : *index) {
    if (std::find(names.begin(), names.end(), e.name) == names.end()) names.push_back(e.name);
  }
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "(none)" : out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Profiler>> Profiler::Create(const ProfileOptions& options) {
  if (options.model.empty()) return absl::InvalidArgumentError("no model: give -m MODEL");
  auto url = ParseUrl(options.url);
  if (!url.ok()) return url.status();
  if (options.call_mode == CallMode::kStreaming && url->scheme != "grpc") {
    return absl::InvalidArgumentError("--streaming needs a grpc:// URL");
  }
  if (options.shared_memory == SharedMemoryMode::kSystem && url->scheme != "http" &&
      url->scheme != "grpc") {
    return absl::InvalidArgumentError(
        "--shared-memory system is Triton's extension over http:// and grpc://; ipc:// always "
        "writes inputs into its shared region, local:// needs none");
  }
  // The body format: a query the http:// client reads (?codec=); gRPC has Protobuf only, and
  // ipc:// and local:// carry tensors in place, with no body format to choose.
  std::string data_url = options.url;
  if (!options.codec.empty()) {
    const std::string& c = options.codec;
    if (url->scheme == "http" && (c == "binary" || c == "json" || c == "npy" || c == "arrow")) {
      if (options.url.find('?') != std::string::npos) {
        return absl::InvalidArgumentError(
            fmt::format("--codec {}: -u {} already has a query", c, QuoteClientText(options.url)));
      }
      data_url = options.url + "?codec=" + c;
    } else if (!(url->scheme == "grpc" && c == "protobuf")) {
      return absl::InvalidArgumentError(fmt::format(
          "--codec {} does not apply to {}://: http:// takes binary, json, npy or arrow; "
          "grpc:// takes protobuf; ipc:// and local:// have no body format",
          QuoteClientText(c), url->scheme));
    }
  }
  ClientOptions client_options;
  std::shared_ptr<Client> client, control;
  if (url->scheme == "local") {
    std::error_code ec;
    if (!fs::is_directory(url->rest, ec)) {
      return absl::NotFoundError(fmt::format("local://{}: no such repository folder", url->rest));
    }
    if (!fs::is_directory(fs::path(url->rest) / options.model, ec)) {
      std::vector<std::string> names;
      for (const auto& e : fs::directory_iterator(url->rest, ec)) {
        if (e.is_directory()) names.push_back(e.path().filename().string());
      }
      std::sort(names.begin(), names.end());
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      return absl::NotFoundError(fmt::format("unknown model {}: repository {} has {}",
                                             QuoteClientText(options.model), url->rest,
                                             list.empty() ? "no models" : list));
    }
    client_options.backend_directory = options.backend_directory;
    client_options.load_models = {options.model};
    auto c = ConnectWithin(options.url, client_options, 0, false);
    if (!c.ok()) return c.status();
    client = control = *c;
  } else {
    auto c = ConnectWithin(data_url, client_options, options.connect_timeout_ms, true);
    if (!c.ok()) return c.status();
    client = *c;
    const std::string control_url =
        url->scheme == "ipc" ? (options.control_url.empty() ? "http://localhost:8000"
                                                            : options.control_url)
                             : options.url;
    auto ctl = ConnectWithin(control_url, client_options, options.connect_timeout_ms, true);
    if (!ctl.ok()) {
      return absl::Status(ctl.status().code(),
                          fmt::format("{} (metadata and statistics are read there; set it with "
                                      "--control-url)",
                                      std::string(ctl.status().message())));
    }
    control = *ctl;
  }
  const std::string control_text =
      url->scheme == "ipc" ? (options.control_url.empty() ? "http://localhost:8000"
                                                          : options.control_url)
                           : options.url;
  auto control_url = ParseUrl(control_text);
  if (!control_url.ok()) return control_url.status();

  auto metadata = control->GetModelMetadata(options.model, options.version);
  if (!metadata.ok()) {
    // Unknown model, or unknown version of a known model?
    auto index = control->GetRepositoryIndex(false);
    bool known = false;
    if (index.ok()) {
      for (const auto& e : *index) known = known || e.name == options.model;
    }
    if (index.ok() && !known) {
      return absl::NotFoundError(fmt::format("unknown model {}: the server at {} has {}",
                                             QuoteClientText(options.model), control_text,
                                             ListModels(*control)));
    }
    if (options.version > 0) {
      auto any = control->GetModelMetadata(options.model, 0);
      std::string versions = "none";
      if (any.ok()) {
        versions.clear();
        for (const auto& v : any->versions) versions += (versions.empty() ? "" : ", ") + v;
      }
      return absl::NotFoundError(fmt::format(
          "model {} has no version {} ready (ready versions: {}): {}",
          QuoteClientText(options.model), options.version, versions,
          std::string(metadata.status().message())));
    }
    return absl::Status(metadata.status().code(),
                        fmt::format("cannot read model {}'s metadata: {}",
                                    QuoteClientText(options.model), std::string(metadata.status().message())));
  }
  auto max_batch = ReadMaxBatchSize(*control, *control_url, options.model, options.version);
  int64_t max_batch_size = 0;
  if (max_batch.ok()) {
    max_batch_size = *max_batch;
  } else {
    // No configuration: a leading -1 on every input means the model batches.
    bool all = !metadata->inputs.empty();
    for (const auto& in : metadata->inputs) all = all && !in.shape.empty() && in.shape[0] == -1;
    max_batch_size = all ? std::max<int64_t>(options.batch_size, 1) : 0;
  }
  auto specs = ResolveInputs(*metadata, max_batch_size, options.batch_size, options.shapes);
  if (!specs.ok()) return specs.status();
  auto steps = MakeInputData(*specs, options.input_data, max_batch_size > 0, options.seed);
  if (!steps.ok()) return steps.status();

  std::vector<std::unique_ptr<SystemShmRegion>> regions;
  if (options.shared_memory == SharedMemoryMode::kSystem) {
    size_t total = 0;
    for (const auto& step : *steps) {
      for (const auto& in : step) total += in.byte_size;
    }
    const std::string key = fmt::format("/inferd_perf_{}", getpid());
    auto region = SystemShmRegion::Create(key, std::max<size_t>(total, 1));
    if (!region.ok()) return region.status();
    const std::string name = fmt::format("inferd_perf_inputs_{}", getpid());
    if (auto s = control->RegisterSystemSharedMemory(name, key, (*region)->byte_size()); !s.ok()) {
      return absl::Status(s.code(), fmt::format("cannot register shared memory with the server "
                                                "(is it started with --allow-client-shm?): {}",
                                                std::string(s.message())));
    }
    size_t offset = 0;
    for (auto& step : *steps) {
      for (auto& in : step) {
        (*region)->Write(offset, {in.data, in.byte_size}).IgnoreError();
        in = ShmInput(in.name, in.datatype, in.shape, name, in.byte_size, offset);
        offset += in.byte_size;
      }
    }
    regions.push_back(*std::move(region));
  } else if (url->scheme == "ipc") {
    // Inputs written once into the connection's shared region: sent by offset, no copy.
    for (auto& step : *steps) {
      for (auto& in : step) {
        auto buffer = client->AllocateInput(in.name, in.datatype, in.shape, in.byte_size);
        if (!buffer.ok()) return buffer.status();
        std::memcpy(buffer->data.data(), in.data, in.byte_size);
        in = buffer->input;
      }
    }
  }

  std::unique_ptr<HardwareSampler> sampler;
  if (options.collect_metrics) {
    std::unique_ptr<HardwareSource> source;
    if (url->scheme == "local" && options.metrics_url.empty()) {
      source = CreateInProcessSource();
    } else {
      const std::string host = url->host.empty() ? "localhost" : url->host;
      auto s = CreateMetricsUrlSource(options.metrics_url.empty()
                                          ? fmt::format("http://{}:8002/metrics", host)
                                          : options.metrics_url);
      if (!s.ok()) return s.status();
      source = *std::move(s);
    }
    sampler = std::make_unique<HardwareSampler>(std::move(source), options.metrics_interval_ms);
  }
  return std::unique_ptr<Profiler>(new ProfilerImpl(
      options, url->scheme, std::move(client), std::move(control), *std::move(metadata),
      max_batch_size, *std::move(steps), std::move(sampler), std::move(regions)));
}

}  // namespace inferd::perf
