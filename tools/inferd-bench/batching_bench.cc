// SPDX-License-Identifier: Apache-2.0
#include "batching_bench.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "inferd/client.h"

namespace inferd::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Scenario {
  std::string label;
  std::string model;
  int clients = 1;
  int batch = 1;
};

struct RoundResult {
  double inferences_per_s = 0;
  double median_latency_ms = 0;
  int64_t failures = 0;
};

// `clients` threads send `batch`-sized requests back to back for `seconds`; counts the batch
// elements answered.
RoundResult RunRound(Client& client, const Scenario& s, const std::string& input_name,
                     const Shape& item_shape, double seconds) {
  int64_t item_elements = 1;
  for (int64_t d : item_shape) item_elements *= d;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> done{0};
  std::atomic<int64_t> failures{0};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(s.clients));
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int c = 0; c < s.clients; ++c) {
    threads.emplace_back([&, c] {
      std::vector<float> values(static_cast<size_t>(item_elements * s.batch),
                                static_cast<float>(c) * 0.001f);
      Shape shape = item_shape;
      shape.insert(shape.begin(), s.batch);
      while (!stop.load(std::memory_order_relaxed)) {
        InferRequest request;
        request.model_name = s.model;
        // A view: the values outlive the synchronous call.
        InferInput in;
        in.name = input_name;
        in.datatype = DataType::kFp32;
        in.shape = shape;
        in.data = reinterpret_cast<const std::byte*>(values.data());
        in.byte_size = values.size() * sizeof(float);
        request.inputs.push_back(std::move(in));
        const auto t0 = Clock::now();
        auto response = client.Infer(std::move(request));
        const auto t1 = Clock::now();
        if (!response.ok()) {
          if (failures.fetch_add(1) == 0) {
            std::fprintf(stderr, "%s: %s\n", s.label.c_str(), response.status().ToString().c_str());
          }
          continue;
        }
        if (t1 - start <= std::chrono::duration<double>(seconds)) {
          done.fetch_add(s.batch, std::memory_order_relaxed);
          latencies[static_cast<size_t>(c)].push_back(
              std::chrono::duration<double, std::milli>(t1 - t0).count());
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  RoundResult r;
  r.inferences_per_s = static_cast<double>(done.load()) / seconds;
  if (!all.empty()) {
    std::nth_element(all.begin(), all.begin() + static_cast<long>(all.size() / 2), all.end());
    r.median_latency_ms = all[all.size() / 2];
  }
  r.failures = failures.load();
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Executions by batch size, from the statistics API.
std::map<int64_t, uint64_t> BatchCounts(Client& client, const std::string& model) {
  std::map<int64_t, uint64_t> counts;
  auto stats = client.GetModelStatistics(model);
  if (!stats.ok() || stats->empty()) return counts;
  for (const BatchStats& b : (*stats)[0].batch_stats) counts[b.batch_size] = b.compute_infer.count;
  return counts;
}

std::string BatchHistogram(const std::map<int64_t, uint64_t>& before,
                           const std::map<int64_t, uint64_t>& after) {
  std::string out;
  for (const auto& [size, count] : after) {
    auto it = before.find(size);
    const uint64_t n = count - (it == before.end() ? 0 : it->second);
    if (n > 0) out += fmt::format("{}{}x{}", out.empty() ? "" : " ", n, size);
  }
  return out.empty() ? "-" : out;
}

struct Figure {
  Scenario scenario;
  double inferences_per_s = 0;
  double latency_ms = 0;
  std::string batches;
};

// Runs each scenario for `rounds` rounds, interleaved (so drift hits all alike); medians.
std::vector<Figure> Measure(Client& client, const std::vector<Scenario>& scenarios,
                            const std::string& input_name, const Shape& item_shape, int rounds,
                            double seconds) {
  std::vector<std::vector<double>> throughput(scenarios.size()), latency(scenarios.size());
  std::vector<std::map<int64_t, uint64_t>> first(scenarios.size()), last(scenarios.size());
  for (size_t i = 0; i < scenarios.size(); ++i) {
    // Warm-up (libtorch's first runs are slow), not counted.
    RunRound(client, scenarios[i], input_name, item_shape, std::min(seconds, 1.0));
    first[i] = BatchCounts(client, scenarios[i].model);
  }
  for (int r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < scenarios.size(); ++i) {
      RoundResult result = RunRound(client, scenarios[i], input_name, item_shape, seconds);
      throughput[i].push_back(result.inferences_per_s);
      latency[i].push_back(result.median_latency_ms);
      std::fprintf(stderr, "  round %d  %-58s %9.1f inf/s\n", r + 1, scenarios[i].label.c_str(),
                   result.inferences_per_s);
    }
  }
  std::vector<Figure> figures;
  for (size_t i = 0; i < scenarios.size(); ++i) {
    last[i] = BatchCounts(client, scenarios[i].model);
    figures.push_back({scenarios[i], Median(throughput[i]), Median(latency[i]),
                       BatchHistogram(first[i], last[i])});
  }
  return figures;
}

void PrintFigures(const std::vector<Figure>& figures) {
  const double baseline = figures.front().inferences_per_s;
  std::printf("| %-58s | %12s | %10s | %8s | %s\n", "scenario", "inferences/s", "latency ms",
              "ratio", "batches run (count x size)");
  for (const Figure& f : figures) {
    std::printf("| %-58s | %12.1f | %10.2f | %8.3f | %s\n", f.scenario.label.c_str(),
                f.inferences_per_s, f.latency_ms,
                baseline > 0 ? f.inferences_per_s / baseline : 0.0, f.batches.c_str());
  }
}

std::string BusyConfig(const std::string& name, bool dynamic) {
  std::string config = fmt::format(
      "name: \"{}\"\nbackend: \"builtin\"\nmax_batch_size: 16\n"
      "input [ {{ name: \"INPUT0\" data_type: TYPE_FP32 dims: [ -1 ] }} ]\n"
      "output [ {{ name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ -1 ] }} ]\n"
      "instance_group [ {{ count: 1 kind: KIND_CPU }} ]\n"
      "parameters {{ key: \"builtin_model\" value {{ string_value: \"busy\" }} }}\n"
      "parameters {{ key: \"busy_a_us\" value {{ string_value: \"5000\" }} }}\n"
      "parameters {{ key: \"busy_b_us\" value {{ string_value: \"200\" }} }}\n",
      name);
  if (dynamic) config += "dynamic_batching { max_queue_delay_microseconds: 2000 }\n";
  return config;
}

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::unique_ptr<Client> OpenClient(const std::string& repository, const BatchingBenchOptions& o) {
  ClientOptions options;
  options.backend_directory = o.backend_directory;
  auto client = Client::Create("local://" + repository, options);
  if (!client.ok()) {
    std::fprintf(stderr, "cannot open %s: %s\n", repository.c_str(),
                 client.status().ToString().c_str());
    return nullptr;
  }
  return *std::move(client);
}

int RunBusy(const BatchingBenchOptions& o, const fs::path& root) {
  WriteFile(root / "busy_direct" / "config.pbtxt", BusyConfig("busy_direct", false));
  WriteFile(root / "busy_batched" / "config.pbtxt", BusyConfig("busy_batched", true));
  WriteFile(root / "busy_plain" / "config.pbtxt", BusyConfig("busy_plain", false));
  for (const char* m : {"busy_direct", "busy_batched", "busy_plain"}) {
    fs::create_directories(root / m / "1");
  }
  auto client = OpenClient(root.string(), o);
  if (client == nullptr) return 1;
  const int n = o.clients;
  const std::vector<Scenario> scenarios = {
      {"baseline: 2 clients x batch-16 requests, no batcher", "busy_direct", 2, 16},
      {fmt::format("{} clients x batch-1, dynamic batching (2 ms)", n), "busy_batched", n, 1},
      {fmt::format("{} clients x batch-1, no dynamic batching", n), "busy_plain", n, 1},
  };
  std::printf("\nbusy model, a = 5 ms, b = 0.2 ms per item, max_batch_size 16, 1 instance; "
              "%d rounds of %.1f s, medians\n",
              o.rounds, o.seconds);
  std::vector<Figure> figures = Measure(*client, scenarios, "INPUT0", {4}, o.rounds, o.seconds);
  PrintFigures(figures);
  const double ratio = figures[1].inferences_per_s / figures[0].inferences_per_s;
  std::printf("dynamic batching / batch-16 baseline = %.3f (goal >= 0.9: %s)\n", ratio,
              ratio >= 0.9 ? "met" : "NOT met");
  return 0;
}

int RunResnet(const BatchingBenchOptions& o, const fs::path& root) {
  const fs::path source = fs::path(o.resnet_repository) / "resnet50_torchscript";
  if (o.resnet_repository.empty() || !fs::exists(source / "1" / "model.pt")) {
    std::printf("\nResNet50 TorchScript: skipped (no %s; run `make models` and pass "
                "--resnet-repository)\n",
                (source / "1" / "model.pt").c_str());
    return 0;
  }
  std::ifstream in(source / "config.pbtxt");
  std::stringstream text;
  text << in.rdbuf();
  const std::string original = text.str();
  auto write = [&](const std::string& name, bool dynamic) {
    std::string config;
    std::istringstream lines(original);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("name:", 0) == 0) line = fmt::format("name: \"{}\"", name);
      if (line.rfind("dynamic_batching", 0) == 0) continue;
      config += line + "\n";
    }
    if (dynamic) config += "dynamic_batching { max_queue_delay_microseconds: 2000 }\n";
    WriteFile(root / name / "config.pbtxt", config);
    fs::create_directories(root / name / "1");
    fs::create_symlink(fs::absolute(source / "1" / "model.pt"), root / name / "1" / "model.pt");
  };
  write("resnet_direct", false);
  write("resnet_batched", true);
  write("resnet_plain", false);
  auto client = OpenClient(root.string(), o);
  if (client == nullptr) return 1;
  const int n = o.clients;
  const std::vector<Scenario> scenarios = {
      {"baseline: 1 client x batch-8 requests, no batcher", "resnet_direct", 1, 8},
      {fmt::format("{} clients x batch-1, dynamic batching (2 ms)", n), "resnet_batched", n, 1},
      {fmt::format("{} clients x batch-1, no dynamic batching", n), "resnet_plain", n, 1},
  };
  std::printf("\nResNet50 TorchScript on this CPU, max_batch_size 8, 1 instance; %d rounds of "
              "%.1f s, medians\n",
              o.rounds, o.resnet_seconds);
  PrintFigures(Measure(*client, scenarios, "INPUT__0", {3, 224, 224}, o.rounds, o.resnet_seconds));
  return 0;
}

}  // namespace

int RunBatchingBench(const BatchingBenchOptions& options) {
  char tmpl[] = "/tmp/inferd-bench-batching-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const fs::path root = tmpl;
  int rc = RunBusy(options, root / "busy");
  if (rc == 0) rc = RunResnet(options, root / "resnet");
  std::error_code ignored;
  fs::remove_all(root, ignored);
  return rc;
}

}  // namespace inferd::bench
