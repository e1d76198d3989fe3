// SPDX-License-Identifier: Apache-2.0
// inferd-perf: measures a model served by inferd (or any KServe v2 server) the way Triton's
// perf_analyzer does, with its flag names, through http://, grpc://, ipc:// or local://.
//   inferd-perf profile -m MODEL -u URL [--concurrency-range 1:4] [-f out.csv] [--json out.json]
// Exit status: 0 measured; 1 bad settings or the server/model could not be used; 2 some
// requests failed (unless --ignore-errors); 3 the run broke off (what was measured is written).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "fmt/format.h"
#include "perf/profiler.h"
#include "perf/report.h"

namespace {

using inferd::perf::LoadRange;

// A range of more levels than this is a typo (1:1e9), not a measurement plan.
constexpr double kMaxLevels = 1000;

bool ParseRange(const std::string& text, LoadRange& range, std::string& error) {
  std::vector<double> parts;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t colon = text.find(':', start);
    const std::string part = text.substr(start, colon == std::string::npos ? std::string::npos
                                                                            : colon - start);
    try {
      size_t used = 0;
      parts.push_back(std::stod(part, &used));
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (...) {
      error = fmt::format("'{}' is not START[:END[:STEP]] with numbers", text);
      return false;
    }
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.empty() || parts.size() > 3 || !(parts[0] > 0) || !std::isfinite(parts[0])) {
    error = fmt::format("'{}' is not START[:END[:STEP]] with a positive START", text);
    return false;
  }
  range.start = parts[0];
  range.end = parts.size() > 1 ? parts[1] : parts[0];
  range.step = parts.size() > 2 ? parts[2] : 1;
  if (!std::isfinite(range.end) || !std::isfinite(range.step) || range.end < range.start ||
      range.step <= 0) {
    error = fmt::format("'{}': END must be a number at least START, and STEP positive", text);
    return false;
  }
  if ((range.end - range.start) / range.step >= kMaxLevels) {
    error = fmt::format("'{}' asks for more than {} levels; use a larger STEP", text, kMaxLevels);
    return false;
  }
  return true;
}

bool ParseShape(const std::string& text, std::map<std::string, std::vector<int64_t>>& shapes,
                std::string& error) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    error = fmt::format("--shape '{}': expected NAME:D1,D2,...", text);
    return false;
  }
  std::vector<int64_t> dims;
  std::string rest = text.substr(colon + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    const size_t comma = rest.find(',', start);
    const std::string part =
        rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    try {
      size_t used = 0;
      const long long d = std::stoll(part, &used);
      if (used != part.size() || d < 0) throw std::invalid_argument(part);
      dims.push_back(d);
    } catch (...) {
      error = fmt::format("--shape '{}': '{}' is not a dimension", text, part);
      return false;
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  shapes[text.substr(0, colon)] = dims;
  return true;
}

std::string SiblingDirectory(const char* name) {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "";
  std::string self(path, static_cast<size_t>(n));
  self = self.substr(0, self.rfind('/'));
  return self.substr(0, self.rfind('/') + 1) + name;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"inferd-perf: measure a model served by inferd the way perf_analyzer does"};
  app.require_subcommand(1);
  inferd::perf::ProfileOptions o;
  o.backend_directory = SiblingDirectory("backends");
  auto* profile = app.add_subcommand(
      "profile", "Measure one model: latency, throughput, server breakdown and hardware");
  std::string protocol = "http", concurrency, request_rate, distribution = "constant";
  std::string shared_memory = "none", measurement_mode = "time_windows";
  std::vector<std::string> shape_args;
  std::string csv_path, json_path;
  bool verbose_csv = false, ignore_errors = false, async = false, sync = false, streaming = false;
  int percentile = -1;
  profile->add_option("-m,--model-name", o.model, "Model to measure")->required();
  profile->add_option("-x,--model-version", o.version, "Version (default: the latest)");
  profile->add_option("-b,--batch-size", o.batch_size, "Batch size of each request (default 1)");
  profile->add_option("-u,--url", o.url,
                      "Server: http://host:port, grpc://host:port, ipc://socket or "
                      "local://repository (host:port alone takes -i's protocol)");
  profile->add_option("-i,--protocol", protocol, "http or grpc, for a -u without a scheme")
      ->check(CLI::IsMember({"http", "grpc"}));
  profile->add_option("--codec", o.codec,
                      "Body format: binary (default), json, npy or arrow over http://; protobuf "
                      "over grpc://")
      ->check(CLI::IsMember({"binary", "json", "npy", "arrow", "protobuf"}));
  profile->add_option("--control-url", o.control_url,
                      "Where ipc:// runs read metadata and statistics (default "
                      "http://localhost:8000)");
  profile->add_option("--backend-directory", o.backend_directory,
                      "local://: where the backend plugins are");
  profile->add_option("--concurrency-range", concurrency,
                      "Closed loop: START[:END[:STEP]] requests in flight (default 1)");
  profile->add_option("--request-rate-range", request_rate,
                      "Open loop: START[:END[:STEP]] requests per second");
  profile->add_option("--request-distribution", distribution,
                      "Open loop schedule: constant or poisson")
      ->check(CLI::IsMember({"constant", "poisson"}));
  profile->add_flag("--sync", sync, "Synchronous calls, one thread per request in flight (default)");
  profile->add_flag("--async", async, "Asynchronous calls from one thread");
  profile->add_flag("--streaming", streaming, "gRPC bidirectional stream (grpc:// only)");
  profile->add_option("--input-data", o.input_data,
                      "zero, random (default), a perf_analyzer JSON file, or a folder of "
                      "<input>.npy files");
  profile->add_option("--shape", shape_args,
                      "NAME:D1,D2,... for inputs with -1 dimensions (without the batch "
                      "dimension; repeatable)");
  profile->add_option("--shared-memory", shared_memory,
                      "none, or system (Triton's system shared memory; http:// and grpc://)")
      ->check(CLI::IsMember({"none", "system"}));
  profile->add_option("-p,--measurement-interval", o.measurement_interval_ms,
                      "Window length in ms (default 5000)");
  profile->add_option("--measurement-mode", measurement_mode, "time_windows or count_windows")
      ->check(CLI::IsMember({"time_windows", "count_windows"}));
  profile->add_option("--measurement-request-count", o.measurement_request_count,
                      "Requests per window in count_windows mode (default 50)");
  profile->add_option("-s,--stability-percentage", o.stability_percentage,
                      "How close the last three windows must be, in % (default 10)");
  profile->add_option("-r,--max-trials", o.max_trials, "Most windows per level (default 10)");
  profile->add_option("--percentile", percentile,
                      "Stabilise on this latency percentile instead of the average")
      ->check(CLI::Range(1, 99));
  profile->add_option("--latency-threshold", o.latency_threshold_ms,
                      "Stop the range once latency exceeds this many ms (0: never)");
  profile->add_option("-f,--latency-report-file", csv_path,
                      "CSV with perf_analyzer's columns");
  profile->add_flag("--verbose-csv", verbose_csv, "More CSV columns: perf_analyzer's, then ours");
  profile->add_option("--json", json_path, "Everything measured, as JSON");
  profile->add_flag("--collect-metrics", o.collect_metrics,
                    "Sample the server's /metrics (CPU, memory, power, GPU) during each window");
  profile->add_option("--metrics-url", o.metrics_url,
                      "Default: http://<server host>:8002/metrics; local:// samples in-process");
  profile->add_option("--metrics-interval", o.metrics_interval_ms,
                      "ms between metrics samples (default 1000)");
  profile->add_flag("--ignore-errors", ignore_errors,
                    "Exit 0 even when some requests failed");
  CLI11_PARSE(app, argc, argv);

  auto usage = [](const std::string& message) {
    std::cerr << "inferd-perf: " << message << "\n";
    return 1;
  };
  if (o.url.find("://") == std::string::npos) o.url = protocol + "://" + o.url;
  if (!concurrency.empty() && !request_rate.empty()) {
    return usage("--concurrency-range and --request-rate-range exclude each other");
  }
  std::string error;
  if (!request_rate.empty()) {
    o.mode = inferd::perf::LoadMode::kRequestRate;
    if (!ParseRange(request_rate, o.request_rate, error)) {
      return usage("--request-rate-range " + error);
    }
  } else if (!concurrency.empty() && !ParseRange(concurrency, o.concurrency, error)) {
    return usage("--concurrency-range " + error);
  }
  for (const auto& s : shape_args) {
    if (!ParseShape(s, o.shapes, error)) return usage(error);
  }
  if ((sync ? 1 : 0) + (async ? 1 : 0) + (streaming ? 1 : 0) > 1) {
    return usage("choose one of --sync, --async and --streaming");
  }
  o.call_mode = streaming ? inferd::perf::CallMode::kStreaming
                : async   ? inferd::perf::CallMode::kAsync
                          : inferd::perf::CallMode::kSync;
  o.distribution = distribution == "poisson" ? inferd::perf::RequestDistribution::kPoisson
                                             : inferd::perf::RequestDistribution::kConstant;
  o.shared_memory = shared_memory == "system" ? inferd::perf::SharedMemoryMode::kSystem
                                              : inferd::perf::SharedMemoryMode::kNone;
  o.measurement_mode = measurement_mode == "count_windows"
                           ? inferd::perf::MeasurementMode::kCountWindows
                           : inferd::perf::MeasurementMode::kTimeWindows;
  if (percentile > 0) o.percentile = percentile;
  if (o.measurement_interval_ms <= 0) return usage("-p must be positive");
  if (o.batch_size < 1) return usage("-b must be at least 1");

  auto profiler = inferd::perf::Profiler::Create(o);
  if (!profiler.ok()) {
    std::cerr << "inferd-perf: " << std::string(profiler.status().message()) << "\n";
    std::fflush(nullptr);
    std::_Exit(1);  // A connection attempt may still be pending; do not wait for it.
  }
  const bool tty = isatty(STDERR_FILENO) == 1;
  auto progress = [tty](const inferd::perf::Progress& p) {
    if (!tty) return;
    const double done =
        (p.level_index + std::min(1.0, p.window / 3.0)) / std::max(1, p.level_count);
    const double eta = done > 0 ? p.elapsed_s / done - p.elapsed_s : 0;
    std::cerr << fmt::format("\r[{}/{}] {:g}: window {}  elapsed {:.0f} s  ETA {:.0f} s   ",
                             p.level_index + 1, p.level_count, p.level_value, p.window,
                             p.elapsed_s, eta)
              << std::flush;
  };
  inferd::perf::ProfileResult result = (*profiler)->Run(progress);
  if (tty) std::cerr << "\r" << std::string(70, ' ') << "\r";
  inferd::perf::PrintReport(result, std::cout);
  std::cout << std::flush;
  int code = 0;
  if (!csv_path.empty()) {
    if (auto s = inferd::perf::WriteCsv(result, csv_path, verbose_csv); !s.ok()) {
      std::cerr << "inferd-perf: " << std::string(s.message()) << "\n";
      code = 1;
    }
  }
  if (!json_path.empty()) {
    if (auto s = inferd::perf::WriteJson(result, json_path); !s.ok()) {
      std::cerr << "inferd-perf: " << std::string(s.message()) << "\n";
      code = 1;
    }
  }
  uint64_t errors = 0;
  for (const auto& l : result.levels) errors += l.errors;
  if (!result.error.ok()) {
    std::cerr << fmt::format("inferd-perf: {} ({} level{} measured and written)\n",
                             std::string(result.error.message()), result.levels.size(),
                             result.levels.size() == 1 ? "" : "s");
    code = 3;
  } else if (errors > 0 && !ignore_errors) {
    std::cerr << fmt::format(
        "inferd-perf: {} requests failed (see the Errors lines); --ignore-errors to accept\n",
        errors);
    code = 2;
  }
  std::fflush(nullptr);
  std::_Exit(code);  // Skip tearing down clients whose server may be gone.
}
