// SPDX-License-Identifier: Apache-2.0
// MakeHints: a few rules that turn the figures into plain words.
#include <fmt/format.h>

#include "perf/profiler.h"

namespace inferd::perf {

std::vector<std::string> MakeHints(const ProfileResult& result) {
  std::vector<std::string> hints;
  if (result.levels.empty()) return hints;
  uint64_t errors = 0;
  for (const auto& level : result.levels) errors += level.errors;
  if (errors > 0) {
    hints.push_back(fmt::format("{} requests failed; the levels marked ERR count them, and the "
                                "error messages are listed above",
                                errors));
  }
  const LevelResult& top = result.levels.back();
  const char* what = result.mode == LoadMode::kConcurrency ? "concurrency" : "request rate";
  if (top.hardware.cpu_utilization_mean && *top.hardware.cpu_utilization_mean < 0.5) {
    hints.push_back(fmt::format(
        "CPU at {:.0f}% at the top {} ({:g}): the server's CPU is not the limit; the client, the "
        "protocol or too little load is — raise the {} or try ipc://",
        *top.hardware.cpu_utilization_mean * 100, what, top.value, what));
  }
  if (top.hardware.cpu_utilization_swings && *top.hardware.cpu_utilization_swings >= 2 &&
      top.hardware.cpu_utilization_stddev && *top.hardware.cpu_utilization_stddev > 0.15) {
    hints.push_back(fmt::format(
        "CPU utilization is spiky (std dev {:.0f} points, {} swings): a stage starves the "
        "model; look at input handling and the client",
        *top.hardware.cpu_utilization_stddev * 100, *top.hardware.cpu_utilization_swings));
  }
  const ServerBreakdown& s = top.server;
  const double compute = s.compute_input_us + s.compute_infer_us + s.compute_output_us;
  const bool cpu_saturated =
      top.hardware.cpu_utilization_mean && *top.hardware.cpu_utilization_mean >= 0.9;
  if (s.available && compute > 0 && s.queue_us > compute) {
    if (cpu_saturated) {
      hints.push_back(fmt::format(
          "queue time ({:.0f} us) exceeds compute time ({:.0f} us) at the top {} with the CPU at "
          "{:.0f}%: the machine is saturated, more instances would only share it; the queueing "
          "is the price of load above capacity (larger batches, if the model gains from them)",
          s.queue_us, compute, what, *top.hardware.cpu_utilization_mean * 100));
    } else {
      hints.push_back(fmt::format(
          "queue time ({:.0f} us) exceeds compute time ({:.0f} us) at the top {}: requests wait "
          "for an instance; add instances or dynamic batching",
          s.queue_us, compute, what));
    }
  }
  if (s.available && compute > 0 && top.network_server_us > compute && s.queue_us < compute) {
    hints.push_back(fmt::format(
        "network and protocol ({:.0f} us per request) cost more than compute ({:.0f} us): the "
        "transport dominates; try ipc://, shared memory, or larger batches",
        top.network_server_us, compute));
  }
  if (result.levels.size() >= 2) {
    const LevelResult& prev = result.levels[result.levels.size() - 2];
    if (prev.throughput > 0 && top.throughput < prev.throughput * 1.05 &&
        top.latency.avg_us > prev.latency.avg_us * 1.2) {
      hints.push_back(fmt::format(
          "throughput stopped growing after {} {:g} ({:.1f} -> {:.1f} infer/s) while latency "
          "rose: the server is saturated there; more load only adds queueing",
          what, prev.value, prev.throughput, top.throughput));
    }
  }
  if (result.mode == LoadMode::kRequestRate && top.request_rate > 0 &&
      top.request_rate < top.value * 0.9) {
    hints.push_back(fmt::format(
        "at {:g} requests/s the server completed only {:.1f}/s: the rate is above its capacity "
        "and latency grows with the backlog",
        top.value, top.request_rate));
  }
  for (const auto& level : result.levels) {
    if (!level.stable) {
      hints.push_back(fmt::format(
          "{} {:g} did not stabilise within the trials; lengthen -p or raise -s", what,
          level.value));
      break;
    }
  }
  return hints;
}

}  // namespace inferd::perf
