// SPDX-License-Identifier: Apache-2.0
#include "top_view.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "fmt/format.h"

namespace inferd::top {
namespace {

using Labels = std::map<std::string, std::string>;

double Delta(const MetricSet& previous, const MetricSet& current, std::string_view name,
             const Labels& labels) {
  const double now = current.Sum(name, labels).value_or(0);
  const double before = previous.Sum(name, labels).value_or(0);
  return now >= before ? now - before : now;  // A reloaded model restarts its counters.
}

// (le, cumulative count) of histogram `name` for `labels`, as a difference of two scrapes (or
// the current scrape alone when `previous` is null).
std::vector<std::pair<double, double>> Buckets(const MetricSet* previous, const MetricSet& current,
                                               const std::string& name, const Labels& labels) {
  std::vector<std::pair<double, double>> out;
  for (const MetricSample* s : current.All(name + "_bucket")) {
    bool match = true;
    for (const auto& [k, v] : labels) match = match && s->labels.count(k) && s->labels.at(k) == v;
    auto le = s->labels.find("le");
    if (!match || le == s->labels.end()) continue;
    const double bound = le->second == "+Inf" ? std::numeric_limits<double>::infinity()
                                              : std::strtod(le->second.c_str(), nullptr);
    double count = s->value;
    if (previous != nullptr) {
      Labels with_le = labels;
      with_le["le"] = le->second;
      count = std::max(0.0, count - previous->Get(name + "_bucket", with_le).value_or(0));
    }
    out.emplace_back(bound, count);
  }
  std::sort(out.begin(), out.end());
  return out;
}

const ModelStatistics* FindStats(const std::optional<std::vector<ModelStatistics>>& stats,
                                 const std::string& name, const std::string& version) {
  if (!stats) return nullptr;
  for (const ModelStatistics& s : *stats) {
    if (s.name == name && s.version == version) return &s;
  }
  return nullptr;
}

std::string Percent(double share) { return fmt::format("{:.0f}%", share * 100); }

void AddDeviceHints(const DeviceRow& device, bool traffic, std::vector<std::string>& hints) {
  const std::string who = device.name == "CPU" ? "CPU" : "GPU " + device.name;
  const double level = device.mean.value_or(device.utilization.value_or(0));
  const bool unsteady = device.swings.value_or(0) >= 2 || device.stddev.value_or(0) >= 0.15;
  if (unsteady) {
    hints.push_back(fmt::format(
        "{} utilization is unsteady (mean {}, std dev {}, {} large swings): a stage before the "
        "model starves it in bursts. Overlap the work: more client concurrency, another model "
        "instance, or faster pre-processing.",
        who, Percent(level), Percent(device.stddev.value_or(0)), device.swings.value_or(0)));
  } else if (traffic && level < 0.5) {
    hints.push_back(fmt::format(
        "{} utilization is low ({}) while requests flow: the hardware waits for work. Send "
        "requests with more concurrency, use a larger batch (dynamic batching), or add a model "
        "instance.",
        who, Percent(level)));
  }
}

}  // namespace

std::optional<double> HistogramQuantile(double q,
                                        const std::vector<std::pair<double, double>>& buckets) {
  if (buckets.empty() || buckets.back().second <= 0) return std::nullopt;
  const double total = buckets.back().second;
  const double rank = q * total;
  double lower_bound = 0;
  double lower_count = 0;
  for (const auto& [bound, count] : buckets) {
    if (count >= rank && count > lower_count) {
      if (std::isinf(bound)) return lower_bound;  // Above the last finite bound.
      return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count);
    }
    lower_bound = std::isinf(bound) ? lower_bound : bound;
    lower_count = count;
  }
  return lower_bound;
}

TopView BuildView(const Scrape& previous, const Scrape& current) {
  TopView view;
  view.interval_s = std::max(1e-9, static_cast<double>(current.time_ns - previous.time_ns) / 1e9);
  const MetricSet& now = current.metrics;
  const MetricSet& before = previous.metrics;

  std::set<std::pair<std::string, std::string>> models;
  for (const MetricSample* s : now.All("nv_inference_request_success")) {
    models.insert({s->labels.count("model") ? s->labels.at("model") : "",
                   s->labels.count("version") ? s->labels.at("version") : ""});
  }
  for (const auto& [name, version] : models) {
    const Labels labels = {{"model", name}, {"version", version}};
    ModelRow row;
    row.name = name;
    row.version = version;
    const double successes = Delta(before, now, "nv_inference_request_success", labels);
    const double failures = Delta(before, now, "nv_inference_request_failure", labels);
    row.request_rate = (successes + failures) / view.interval_s;
    row.failure_rate = failures / view.interval_s;
    row.since_start = successes == 0;
    const MetricSet* base = row.since_start ? nullptr : &before;
    const auto latency = Buckets(base, now, "nv_inference_request_latency_us", labels);
    row.p50_us = HistogramQuantile(0.5, latency);
    row.p99_us = HistogramQuantile(0.99, latency);
    auto duration = [&](const char* metric) {
      return row.since_start ? now.Get(metric, labels).value_or(0)
                             : Delta(before, now, metric, labels);
    };
    const double request_us = duration("nv_inference_request_duration_us");
    if (request_us > 0) row.queue_share = duration("nv_inference_queue_duration_us") / request_us;
    row.pending = now.Get("nv_inference_pending_request_count", labels).value_or(0);

    const ModelStatistics* stats_now = FindStats(current.statistics, name, version);
    if (stats_now != nullptr) {
      row.exact_batch_sizes = true;
      const ModelStatistics* stats_before = FindStats(previous.statistics, name, version);
      for (const BatchStats& b : stats_now->batch_stats) {
        uint64_t runs = b.compute_infer.count;
        if (!row.since_start && stats_before != nullptr) {
          for (const BatchStats& old : stats_before->batch_stats) {
            if (old.batch_size == b.batch_size && old.compute_infer.count <= runs) {
              runs -= old.compute_infer.count;
            }
          }
        }
        if (runs > 0) row.batch_sizes.emplace_back(b.batch_size, runs);
      }
    } else {
      double below = 0;
      for (const auto& [bound, cumulative] :
           Buckets(base, now, "nv_inference_batch_size", labels)) {
        if (cumulative > below && !std::isinf(bound)) {
          row.batch_sizes.emplace_back(static_cast<int64_t>(bound),
                                       static_cast<uint64_t>(cumulative - below));
        }
        below = std::max(below, cumulative);
      }
    }
    view.models.push_back(std::move(row));
  }

  view.cpu.name = "CPU";
  view.cpu.utilization = now.Get("nv_cpu_utilization");
  view.cpu.mean = now.Get("nv_cpu_utilization_mean");
  view.cpu.stddev = now.Get("nv_cpu_utilization_stddev");
  view.cpu.swings = now.Get("nv_cpu_utilization_swings");
  view.cpu.memory_used_bytes = now.Get("nv_cpu_memory_used_bytes");
  view.cpu.memory_total_bytes = now.Get("nv_cpu_memory_total_bytes");
  view.cpu.power_w = now.Sum("nv_cpu_power_usage");
  view.resident_bytes = now.Get("nv_server_resident_memory_bytes");

  for (const MetricSample* s : now.All("nv_gpu_utilization")) {
    auto uuid = s->labels.find("gpu_uuid");
    if (uuid == s->labels.end()) continue;
    const Labels labels = {{"gpu_uuid", uuid->second}};
    DeviceRow gpu;
    gpu.name = uuid->second;
    gpu.utilization = s->value;
    gpu.mean = now.Get("nv_gpu_utilization_mean", labels);
    gpu.stddev = now.Get("nv_gpu_utilization_stddev", labels);
    gpu.swings = now.Get("nv_gpu_utilization_swings", labels);
    gpu.memory_used_bytes = now.Get("nv_gpu_memory_used_bytes", labels);
    gpu.memory_total_bytes = now.Get("nv_gpu_memory_total_bytes", labels);
    gpu.power_w = now.Get("nv_gpu_power_usage", labels);
    gpu.power_limit_w = now.Get("nv_gpu_power_limit", labels);
    view.gpus.push_back(std::move(gpu));
  }

  bool traffic = false;
  for (const ModelRow& m : view.models) traffic = traffic || m.request_rate > 0;
  if (!traffic) {
    view.hints.push_back(
        "No requests in the last interval: send load to judge how well the hardware is used.");
  }
  if (view.cpu.utilization) AddDeviceHints(view.cpu, traffic, view.hints);
  for (const DeviceRow& gpu : view.gpus) AddDeviceHints(gpu, traffic, view.hints);
  for (const ModelRow& m : view.models) {
    if (m.request_rate > 0 && m.queue_share.value_or(0) >= 0.5) {
      view.hints.push_back(
          fmt::format("Model '{}': requests spend {} of their latency queued. Add an instance "
                      "(instance_group count) or enable dynamic batching.",
                      m.name, Percent(*m.queue_share)));
    }
  }
  if (traffic && view.hints.empty()) {
    view.hints.push_back("Utilization is steady; nothing to suggest.");
  }
  return view;
}

void RecordHistory(const TopView& view, UtilizationHistory& history, size_t capacity) {
  auto add = [&](const DeviceRow& device) {
    if (!device.utilization) return;
    std::deque<double>& samples = history[device.name];
    samples.push_back(*device.utilization);
    while (samples.size() > capacity) samples.pop_front();
  };
  add(view.cpu);
  for (const DeviceRow& gpu : view.gpus) add(gpu);
}

}  // namespace inferd::top
