// SPDX-License-Identifier: Apache-2.0
// inferd-backend-bench: a model's inferences per second through the server (the in-process
// local:// client: validation, queue, instance thread, backend plugin, output copy) against the
// same model file run directly on its runtime in this process (libtorch Module::forward, ONNX
// Runtime's Run through its C API), with the same thread count and optimisation settings, read from the model's
// config. The two are measured in alternation, call by call: each round times one server call and
// one direct call back to back (which goes first alternates). Throughputs are medians; the ratio
// is the median over rounds of (direct time / server time), a paired comparison that cancels the
// slow and fast periods of a shared machine, which hit both calls of a round alike.
//
// Where a process's allocations land (ASLR) makes one copy of a model up to ~10% faster or slower
// than another copy of it in the same process (OpenCV most: the same kernel, other buffer
// addresses), so one process's ratio is one draw. --processes N repeats the whole measurement in
// N fresh processes and prints each ratio and their median. The server's own time outside the
// backend (queue, hand-off, validation: statistics' request time minus compute time) is printed
// too; it does not depend on layout.
//
//   make models && build/bin/inferd-backend-bench --model-repository=examples/model_repository
//
// --compare resnet50,mobilenet_v3_small instead times libtorch, ONNX Runtime and OpenCV DNN called
// directly on the same models (examples/generate_models.py --bench-models writes MobileNetV3).
#include <ATen/Parallel.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "backends/onnx/onnx_graph.h"
#include "backends/onnxruntime/ort_runtime.h"
#include "fmt/format.h"
#include "inferd/client.h"
#include "repository/model_config.h"

namespace inferd {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string repository;
  std::string torchscript_model = "resnet50_torchscript";
  std::string onnx_model = "resnet50_onnx";
  std::vector<int> batch_sizes = {1, 8};
  int rounds = 10;
  int warmup = 5;  // TorchScript's profiling executor settles after a few calls
  std::vector<std::string> compare;  // model prefixes for the direct runtime comparison
  int processes = 1;  // >1: repeat everything in this many child processes, report the median.
  bool child = false;  // Started by a --processes parent: also print RESULT lines.
};


// What the bench needs from a model's config.
struct ModelInfo {
  std::string name;
  std::string dir;
  std::string input;
  std::string output;
  Shape dims;  // without the batch dimension
  std::map<std::string, std::string, std::less<>> parameters;
  int max_batch_size = 0;
  int64_t queue_delay_us = -1;  // dynamic_batching's max_queue_delay; -1: no dynamic batching.
  int instance_count = 1;
};

int Param(const ModelInfo& m, const std::string& key, int fallback) {
  auto it = m.parameters.find(key);
  return it == m.parameters.end() ? fallback : std::stoi(it->second);
}

bool BoolParam(const ModelInfo& m, const std::string& key) {
  auto it = m.parameters.find(key);
  return it != m.parameters.end() && (it->second == "true" || it->second == "1");
}

absl::StatusOr<ModelInfo> ReadInfo(const std::string& repository, const std::string& name) {
  const std::string dir = (fs::path(repository) / name).string();
  absl::StatusOr<ParsedModelConfig> parsed = ReadModelConfig(dir, name);
  if (!parsed.ok()) return parsed.status();
  ModelSpec spec = ModelSpecFromConfig(parsed->config);
  if (spec.inputs.size() != 1 || spec.outputs.size() != 1 || spec.max_batch_size <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}': the bench needs one input, one output and batching", name));
  }
  const int64_t delay =
      parsed->config.has_dynamic_batching()
          ? static_cast<int64_t>(parsed->config.dynamic_batching().max_queue_delay_microseconds())
          : -1;
  return ModelInfo{name,
                   dir,
                   spec.inputs[0].name,
                   spec.outputs[0].name,
                   spec.inputs[0].dims,
                   spec.parameters,
                   spec.max_batch_size,
                   delay,
                   InstanceCount(parsed->config)};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// The generator's reference input and output for this batch size, if present; else a seeded
// uniform input and no reference output.
std::pair<std::vector<float>, std::vector<float>> Reference(const ModelInfo& m, int batch,
                                                            int64_t per_item) {
  auto read = [](const fs::path& path) {
    std::vector<float> v;
    std::ifstream in(path, std::ios::binary);
    if (!in) return v;
    v.resize(fs::file_size(path) / sizeof(float));
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
    return v;
  };
  const fs::path ref = fs::path(m.dir) / "reference";
  std::vector<float> input = read(ref / fmt::format("input_b{}.f32", batch));
  std::vector<float> output = read(ref / fmt::format("output_b{}.f32", batch));
  if (input.size() != static_cast<size_t>(batch * per_item)) {
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> dist(0, 1);
    input.resize(batch * per_item);
    for (float& x : input) x = dist(rng);
    output.clear();
  }
  return {input, output};
}

float MaxAbsDiff(std::span<const float> a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  float d = 0;
  for (size_t i = 0; i < b.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

// One direct call of the runtime on `input` (batch x dims); returns the output.
using DirectCall = std::function<std::vector<float>(const std::vector<float>& input, int batch)>;

DirectCall TorchScriptDirect(const ModelInfo& m, int threads, std::string* setup) {
  auto module = std::make_shared<torch::jit::Module>(
      torch::jit::load((fs::path(m.dir) / "1" / "model.pt").string()));
  module->eval();
  const bool optimize = BoolParam(m, "OPTIMIZE_FOR_INFERENCE");
  if (optimize) *module = torch::jit::optimize_for_inference(*module);
  *setup = fmt::format("libtorch {} thread(s), optimize_for_inference {}", threads,
                       optimize ? "on" : "off");
  const Shape dims = m.dims;
  return [module, threads, dims](const std::vector<float>& input, int batch) {
    // As the backend does: set once per thread (setting it again rebuilds libtorch's pools).
    if (at::get_num_threads() != threads) at::set_num_threads(threads);
    c10::InferenceMode guard;
    std::vector<int64_t> sizes = {batch};
    sizes.insert(sizes.end(), dims.begin(), dims.end());
    at::Tensor x = at::from_blob(const_cast<float*>(input.data()), sizes, at::kFloat);
    at::Tensor y = module->forward({x}).toTensor().contiguous();
    return std::vector<float>(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
  };
}

DirectCall OnnxDirect(const ModelInfo& m, int threads, std::string* setup) {
  std::ifstream in(fs::path(m.dir) / "1" / "model.onnx", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string bytes = std::move(text).str();
  const int rewritten = onnx::RewriteIdentityOnInitializer(bytes).value_or(-1);
  auto net = std::make_shared<cv::dnn::Net>(cv::dnn::readNetFromONNX(bytes.data(), bytes.size()));
  net->setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net->setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  *setup = fmt::format("OpenCV {} thread(s), {} Identity nodes rewritten", threads, rewritten);
  const Shape dims = m.dims;
  const std::string input_name = m.input;
  const std::string output_name = m.output;
  return [net, threads, dims, input_name, output_name](const std::vector<float>& input, int batch) {
    if (cv::getNumThreads() != threads) cv::setNumThreads(threads);
    std::vector<int> sizes = {batch};
    for (int64_t d : dims) sizes.push_back(static_cast<int>(d));
    cv::Mat blob(static_cast<int>(sizes.size()), sizes.data(), CV_32F,
                 const_cast<float*>(input.data()));
    net->setInput(blob, input_name);
    cv::Mat y = net->forward(output_name);
    return std::vector<float>(y.ptr<float>(), y.ptr<float>() + y.total());
  };
}

// ONNX Runtime called directly: a session with the settings the onnxruntime backend uses (the
// same library, threads, optimisation level), the input as a view, the output copied out.
DirectCall OrtDirect(const std::string& model_path, const std::string& input_name,
                     const std::string& output_name, const Shape& dims, int threads,
                     std::string* setup) {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  const std::string library =
      (exe.parent_path().parent_path() / "backends" / ort::kOrtLibraryFilename).string();
  absl::StatusOr<const ort::Runtime*> runtime = ort::Runtime::Get(library);
  if (!runtime.ok()) throw std::runtime_error(std::string(runtime.status().message()));
  const ort::Runtime* rt = *runtime;
  const ort::OrtApi& api = rt->api();
  auto check = [rt](ort::OrtStatus* status, const char* what) {
    absl::Status s = rt->Check(status, what);
    if (!s.ok()) throw std::runtime_error(std::string(s.message()));
  };
  ort::OrtSessionOptions* options = nullptr;
  check(api.CreateSessionOptions(&options), "CreateSessionOptions");
  check(api.SetIntraOpNumThreads(options, threads), "intra");
  check(api.SetInterOpNumThreads(options, 1), "inter");
  check(api.SetSessionExecutionMode(options, ort::ORT_SEQUENTIAL), "mode");
  check(api.SetSessionGraphOptimizationLevel(options, ort::ORT_ENABLE_ALL), "level");
  ort::OrtSession* raw = nullptr;
  check(api.CreateSession(rt->env(), model_path.c_str(), options, &raw), "CreateSession");
  api.ReleaseSessionOptions(options);
  auto session = std::shared_ptr<ort::OrtSession>(raw, api.ReleaseSession);
  *setup = fmt::format("ONNX Runtime {} {} intra-op thread(s)", ort::kOrtLibraryVersion, threads);
  return [rt, session, dims, input_name, output_name, check](const std::vector<float>& input,
                                                             int batch) {
    const ort::OrtApi& api = rt->api();
    std::vector<int64_t> shape = {batch};
    shape.insert(shape.end(), dims.begin(), dims.end());
    ort::OrtValue* x = nullptr;
    check(api.CreateTensorWithDataAsOrtValue(
              rt->cpu_memory(), const_cast<float*>(input.data()), input.size() * sizeof(float),
              shape.data(), shape.size(), ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &x),
          "input");
    ort::Handle<ort::OrtValue> x_handle = ort::MakeValueHandle(api, x);
    const char* in_name = input_name.c_str();
    const char* out_name = output_name.c_str();
    ort::OrtValue* y = nullptr;
    const ort::OrtValue* inputs[] = {x};
    check(api.Run(session.get(), nullptr, &in_name, inputs, 1, &out_name, 1, &y), "Run");
    ort::Handle<ort::OrtValue> y_handle = ort::MakeValueHandle(api, y);
    ort::OrtTensorTypeAndShapeInfo* info = nullptr;
    check(api.GetTensorTypeAndShape(y, &info), "shape");
    size_t rank = 0;
    check(api.GetDimensionsCount(info, &rank), "rank");
    std::vector<int64_t> out_shape(rank);
    check(api.GetDimensions(info, out_shape.data(), rank), "dims");
    api.ReleaseTensorTypeAndShapeInfo(info);
    int64_t count = 1;
    for (int64_t d : out_shape) count *= d;
    void* data = nullptr;
    check(api.GetTensorMutableData(y, &data), "data");
    const float* f = static_cast<const float*>(data);
    return std::vector<float>(f, f + count);
  };
}

// The model's cumulative request statistics (zeros if they cannot be read).
InferenceStats Stats(Client& client, const std::string& model) {
  absl::StatusOr<std::vector<ModelStatistics>> stats = client.GetModelStatistics(model);
  if (!stats.ok() || stats->empty()) return {};
  return (*stats)[0].inference_stats;
}

int RunOne(const Options& options, const std::string& backend) {
  const std::string& name =
      backend == "torchscript" ? options.torchscript_model : options.onnx_model;
  // The server runs `name` on the onnxruntime backend (its ONNX platform); the direct call is
  // ONNX Runtime too.
  absl::StatusOr<ModelInfo> info = ReadInfo(options.repository, name);
  if (!info.ok()) {
    std::fprintf(stderr, "%s\n", std::string(info.status().message()).c_str());
    return 1;
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = backend == "torchscript" ? Param(*info, "INTRA_OP_THREAD_COUNT", cores)
                                               : Param(*info, "intra_op_thread_count", cores);
  if (backend != "torchscript" && info->instance_count != 1) {
    std::fprintf(stderr, "%s: the bench compares one ONNX Runtime instance with one session; "
                 "give the config instance_group [ { count: 1 } ]\n", name.c_str());
    return 1;
  }
  ClientOptions client_options;
  client_options.load_models = {name};
  auto client = Client::Create("local://" + options.repository, client_options);
  if (!client.ok()) {
    std::fprintf(stderr, "server: %s\n", std::string(client.status().message()).c_str());
    return 1;
  }
  std::string setup;
  DirectCall direct;
  try {
    direct = backend == "torchscript"
                 ? TorchScriptDirect(*info, threads, &setup)
                 : OrtDirect((fs::path(info->dir) / "1" / "model.onnx").string(), info->input,
                             info->output, info->dims, threads, &setup);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "direct %s: %s\n", backend.c_str(), e.what());
    return 1;
  }
  int64_t per_item = 1;
  for (int64_t d : info->dims) per_item *= d;

  const std::string batching =
      info->queue_delay_us < 0
          ? std::string("no dynamic batching")
          : fmt::format("dynamic batching, max queue delay {} us", info->queue_delay_us);
  std::printf("\n%s (%s backend; direct: %s; server: %s)\n", name.c_str(), backend.c_str(),
              setup.c_str(), batching.c_str());
  if (info->queue_delay_us > 0) {
    // One client calling in sequence never has company: every call smaller than max_batch_size
    // waits out the delay. That is the configuration's cost, not the server's.
    std::printf("note: the config holds a batch smaller than %d up to %lld us for more requests; "
                "with one client the server figures include that wait\n",
                info->max_batch_size, static_cast<long long>(info->queue_delay_us));
  }
  std::printf("%6s %16s %16s %8s %12s %14s %14s\n", "batch", "server inf/s", "direct inf/s",
              "ratio", "outside ms", "server-ref", "direct-ref");
  for (int batch : options.batch_sizes) {
    auto [input, reference] = Reference(*info, batch, per_item);
    Shape shape = {batch};
    shape.insert(shape.end(), info->dims.begin(), info->dims.end());
    auto server_call = [&]() -> absl::StatusOr<InferResponse> {
      InferRequest request;
      request.model_name = name;
      InferInput in;
      in.name = info->input;
      in.datatype = DataType::kFp32;
      in.shape = shape;
      in.data = reinterpret_cast<const std::byte*>(input.data());  // no copy: a view
      in.byte_size = input.size() * sizeof(float);
      request.inputs.push_back(std::move(in));
      return (*client)->Infer(std::move(request));
    };
    std::vector<double> server_s, direct_s;
    float server_diff = 0, direct_diff = 0;
    InferenceStats before;  // At the first timed round.
    for (int r = -options.warmup; r < options.rounds; ++r) {
      if (r == 0) before = Stats(**client, name);
      // Alternate which goes first, so neither always runs right after the other.
      for (int k = 0; k < 2; ++k) {
        const bool server_turn = (k == 0) == (r % 2 == 0);
        const auto start = Clock::now();
        if (server_turn) {
          absl::StatusOr<InferResponse> response = server_call();
          const double s = std::chrono::duration<double>(Clock::now() - start).count();
          if (!response.ok()) {
            std::fprintf(stderr, "server: %s\n", std::string(response.status().message()).c_str());
            return 1;
          }
          if (r >= 0) server_s.push_back(s);
          if (!reference.empty()) {
            server_diff = MaxAbsDiff(response->FindOutput(info->output)->As<float>(), reference);
          }
        } else {
          std::vector<float> out = direct(input, batch);
          const double s = std::chrono::duration<double>(Clock::now() - start).count();
          if (r >= 0) direct_s.push_back(s);
          if (!reference.empty()) direct_diff = MaxAbsDiff(out, reference);
        }
      }
    }
    const double server_ips = batch / Median(server_s);
    const double direct_ips = batch / Median(direct_s);
    std::vector<double> paired;  // per round: direct time / server time
    for (size_t i = 0; i < server_s.size() && i < direct_s.size(); ++i) {
      paired.push_back(direct_s[i] / server_s[i]);
    }
    auto diff_text = [&](float d) {
      return reference.empty() ? std::string("-") : fmt::format("{:.1e}", d);
    };
    // The server's time per request outside the backend's Execute, over this batch size's calls.
    const InferenceStats after = Stats(**client, name);
    const uint64_t requests = after.success.count - before.success.count;
    const double outside_ms =
        requests == 0 ? 0
                      : static_cast<double>((after.success.ns - before.success.ns) -
                                            (after.compute_infer.ns - before.compute_infer.ns)) /
                            1e6 / static_cast<double>(requests);
    std::printf("%6d %16.2f %16.2f %8.3f %12.3f %14s %14s\n", batch, server_ips, direct_ips,
                Median(paired), outside_ms, diff_text(server_diff).c_str(),
                diff_text(direct_diff).c_str());
    if (options.child) {  // The line a --processes parent reads back.
      std::printf("RESULT %s %d %.6f %.6f\n", backend.c_str(), batch, Median(paired), outside_ms);
    }
    std::fflush(stdout);
  }
  return 0;
}

// The three runtimes called directly on the same model, exported once as TorchScript
// (<prefix>_torchscript/1/model.pt) and once as ONNX (<prefix>_onnx/1/model.onnx): libtorch,
// ONNX Runtime and OpenCV DNN, all with the machine's cores, in interleaved rounds (one call of
// each per round, the order rotating). Input "input" [N,3,224,224], output "output".
int RunCompare(const Options& options, const std::string& prefix) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const Shape dims = {3, 224, 224};
  auto info_for = [&](const std::string& name) {
    ModelInfo m{name, (fs::path(options.repository) / name).string(), "input", "output", dims,
                {}, 8, -1, 1};
    absl::StatusOr<ParsedModelConfig> parsed = ReadModelConfig(m.dir, name);
    if (parsed.ok()) m.parameters = ModelSpecFromConfig(parsed->config).parameters;
    return m;
  };
  const ModelInfo torch_info = info_for(prefix + "_torchscript");
  const ModelInfo onnx_info = info_for(prefix + "_onnx");
  std::vector<std::string> names = {"libtorch", "onnxruntime", "opencv_dnn"};
  std::vector<std::string> setups(3);
  std::vector<DirectCall> calls(3);
  for (size_t i = 0; i < 3; ++i) {
    try {
      if (i == 0) calls[i] = TorchScriptDirect(torch_info, cores, &setups[i]);
      if (i == 1) {
        calls[i] = OrtDirect((fs::path(onnx_info.dir) / "1" / "model.onnx").string(), "input",
                             "output", dims, cores, &setups[i]);
      }
      if (i == 2) calls[i] = OnnxDirect(onnx_info, cores, &setups[i]);
    } catch (const std::exception& e) {
      std::printf("%s: %s cannot load it: %s\n", prefix.c_str(), names[i].c_str(), e.what());
      calls[i] = nullptr;
    }
  }
  std::printf("\n%s, direct calls (%s; %s; %s)\n", prefix.c_str(), setups[0].c_str(),
              setups[1].c_str(), setups[2].c_str());
  std::printf("%6s %14s %14s %14s   %s\n", "batch", "libtorch inf/s", "ORT inf/s", "OpenCV inf/s",
              "fastest");
  for (int batch : options.batch_sizes) {
    std::vector<float> input(static_cast<size_t>(batch) * 3 * 224 * 224);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> dist(0, 1);
    for (float& x : input) x = dist(rng);
    std::vector<std::vector<double>> times(3);
    std::vector<std::string> failed(3);
    for (int r = -options.warmup; r < options.rounds; ++r) {
      for (size_t k = 0; k < 3; ++k) {
        const size_t i = (k + static_cast<size_t>(r + options.warmup)) % 3;
        if (!calls[i] || !failed[i].empty()) continue;
        const auto start = Clock::now();
        try {
          calls[i](input, batch);
        } catch (const std::exception& e) {
          failed[i] = e.what();
          continue;
        }
        if (r >= 0) times[i].push_back(std::chrono::duration<double>(Clock::now() - start).count());
      }
    }
    std::vector<double> ips(3, 0);
    for (size_t i = 0; i < 3; ++i) {
      if (!times[i].empty()) ips[i] = batch / Median(times[i]);
    }
    const size_t best = static_cast<size_t>(std::max_element(ips.begin(), ips.end()) - ips.begin());
    std::string verdict = names[best];
    for (size_t i = 0; i < 3; ++i) {
      if (i != best && ips[i] > 0) verdict += fmt::format(", {:.2f}x {}", ips[best] / ips[i], names[i]);
    }
    auto cell = [&](size_t i) {
      if (!failed[i].empty()) return std::string("fails");
      return ips[i] > 0 ? fmt::format("{:.2f}", ips[i]) : std::string("-");
    };
    std::printf("%6d %14s %14s %14s   %s\n", batch, cell(0).c_str(), cell(1).c_str(),
                cell(2).c_str(), verdict.c_str());
    for (size_t i = 0; i < 3; ++i) {
      if (!failed[i].empty()) {
        std::string why = failed[i].substr(0, 160);
        for (char& c : why) c = c == '\n' ? ' ' : c;
        std::printf("       %s at batch %d: %s\n", names[i].c_str(), batch, why.c_str());
      }
    }
    std::fflush(stdout);
  }
  return 0;
}

// Runs this binary `processes` times with the same arguments and prints each process's ratio per
// backend and batch size, and their median. Returns the exit code for main.
int RunProcesses(const Options& options, int argc, char** argv) {
  auto quote = [](const std::string& arg) {
    std::string out = "'";
    for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  };
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  std::string command = quote(ec ? std::string(argv[0]) : self.string());
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--processes") {
      ++i;  // and its value
      continue;
    }
    if (arg.rfind("--processes=", 0) == 0) continue;
    command += " " + quote(arg);
  }
  command += " --child";
  // (backend, batch) -> one ratio and one outside-the-backend time per process
  std::map<std::pair<std::string, int>, std::vector<double>> ratios, outside;
  int rc = 0;
  for (int p = 0; p < options.processes; ++p) {
    std::printf("\n=== process %d of %d\n", p + 1, options.processes);
    std::fflush(stdout);
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) {
      std::fprintf(stderr, "cannot start %s\n", command.c_str());
      return 1;
    }
    char line[1024];
    while (std::fgets(line, sizeof(line), pipe) != nullptr) {
      char backend[64];
      int batch = 0;
      double ratio = 0, outside_ms = 0;
      if (std::sscanf(line, "RESULT %63s %d %lf %lf", backend, &batch, &ratio, &outside_ms) == 4) {
        ratios[{backend, batch}].push_back(ratio);
        outside[{backend, batch}].push_back(outside_ms);
        continue;
      }
      std::fputs(line, stdout);
    }
    std::fflush(stdout);
    if (pclose(pipe) != 0) {  // Keep going: the other backend's figures still count.
      std::fprintf(stderr, "process %d failed\n", p + 1);
      rc = 1;
    }
  }
  std::printf("\nMedian over %d processes (ratio: direct time / server time; goal >= 0.97)\n",
              options.processes);
  std::printf("%-12s %6s %8s %12s  %s\n", "backend", "batch", "ratio", "outside ms",
              "per process");
  for (const auto& [key, values] : ratios) {
    std::string each;
    for (double v : values) each += fmt::format("{:.3f} ", v);
    std::printf("%-12s %6d %8.3f %12.3f  %s\n", key.first.c_str(), key.second, Median(values),
                Median(outside[key]), each.c_str());
  }
  return rc;
}

}  // namespace
}  // namespace inferd

int main(int argc, char** argv) {
  CLI::App app{"inferd-backend-bench: a model through inferd vs a direct runtime call"};
  inferd::Options options;
  std::string backend = "all";
  app.add_option("--model-repository", options.repository,
                 "Repository with the models (make models fills examples/model_repository)")
      ->required();
  app.add_option("--backend", backend,
                 "torchscript, onnxruntime or all (server vs direct call of the same runtime)")
      ->check(CLI::IsMember({"torchscript", "onnxruntime", "all"}));
  app.add_option("--compare", options.compare,
                 "Instead: libtorch vs ONNX Runtime vs OpenCV DNN called directly on these "
                 "models (<name>_torchscript/1/model.pt and <name>_onnx/1/model.onnx)")
      ->delimiter(',');
  app.add_option("--torchscript-model", options.torchscript_model, "TorchScript model's name");
  app.add_option("--onnx-model", options.onnx_model, "ONNX model's name");
  app.add_option("--batch-sizes", options.batch_sizes, "Batch sizes")->delimiter(',');
  app.add_option("--rounds", options.rounds, "Timed calls per batch size, each way");
  app.add_option("--warmup", options.warmup, "Untimed calls per batch size, each way");
  app.add_option("--processes", options.processes,
                 "Repeat in this many fresh processes and report the median ratio")
      ->check(CLI::Range(1, 1000));
  app.add_flag("--child", options.child)->group("");  // Set by --processes; hidden.
  CLI11_PARSE(app, argc, argv);
  if (!options.compare.empty()) {
    int rc = 0;
    for (const std::string& prefix : options.compare) rc |= inferd::RunCompare(options, prefix);
    return rc;
  }
  if (options.processes > 1) return inferd::RunProcesses(options, argc, argv);
  std::printf(
      "inferd-backend-bench: %u cores; %d interleaved rounds of one server and one direct call; "
      "inf/s: medians; ratio: median over rounds of direct time / server time (1.0: no "
      "overhead)\n",
      std::thread::hardware_concurrency(), options.rounds);
  int rc = 0;
  if (backend != "onnxruntime") rc |= inferd::RunOne(options, "torchscript");
  if (backend != "torchscript") rc |= inferd::RunOne(options, "onnxruntime");
  return rc;
}
