// SPDX-License-Identifier: Apache-2.0
#include "perf/hardware_sampler.h"

#include <chrono>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "http_fetch.h"
#include "metrics/gpu_probe.h"
#include "metrics/host_probes.h"
#include "prometheus_text.h"

namespace inferd::perf {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class MetricsUrlSource final : public HardwareSource {
 public:
  MetricsUrlSource(std::string url, std::string host, int port, std::string path)
      : url_(std::move(url)), host_(std::move(host)), port_(port), path_(std::move(path)) {}

  absl::StatusOr<HardwareSample> Read() override {
    auto body = top::HttpGet(host_, port_, path_, std::chrono::milliseconds(2000));
    if (!body.ok()) {
      return absl::UnavailableError(
          fmt::format("cannot read metrics from {}: {}", url_, std::string(body.status().message())));
    }
    auto set = top::MetricSet::Parse(*body);
    if (!set.ok()) return set.status();
    HardwareSample s;
    s.time_ns = NowNs();
    s.cpu_utilization = set->Get("nv_cpu_utilization");
    s.resident_bytes = set->Get("nv_server_resident_memory_bytes");
    s.cpu_power_w = set->Sum("nv_cpu_power_usage");
    std::map<std::string, GpuSummary> gpus;
    auto fill = [&](const char* name, std::optional<double> GpuSummary::*field) {
      for (const top::MetricSample* m : set->All(name)) {
        auto it = m->labels.find("gpu_uuid");
        const std::string uuid = it == m->labels.end() ? "" : it->second;
        gpus[uuid].uuid = uuid;
        gpus[uuid].*field = m->value;
      }
    };
    fill("nv_gpu_utilization", &GpuSummary::utilization_mean);
    fill("nv_gpu_memory_used_bytes", &GpuSummary::memory_used_bytes);
    fill("nv_gpu_power_usage", &GpuSummary::power_w);
    for (auto& [uuid, g] : gpus) s.gpus.push_back(g);
    absl::MutexLock lock(&mu_);
    seen_cpu_ = seen_cpu_ || s.cpu_utilization.has_value();
    seen_rss_ = seen_rss_ || s.resident_bytes.has_value();
    seen_power_ = seen_power_ || s.cpu_power_w.has_value();
    seen_gpu_ = seen_gpu_ || !s.gpus.empty();
    read_ = true;
    return s;
  }

  std::vector<std::string> Absent() const override {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    if (!read_) return out;
    if (!seen_cpu_) {
      out.push_back(fmt::format(
          "CPU utilization: not in {} (the server needs two samples, one --metrics-interval-ms "
          "apart, or runs with --allow-cpu-metrics=false)",
          url_));
    }
    if (!seen_rss_) out.push_back(fmt::format("server resident memory: not in {}", url_));
    if (!seen_power_) {
      out.push_back(fmt::format(
          "CPU package power: not in {} (no readable RAPL counters on the server's machine)",
          url_));
    }
    if (!seen_gpu_) {
      out.push_back(fmt::format("GPU: none reported by {} (no NVIDIA GPU or driver)", url_));
    }
    return out;
  }

 private:
  const std::string url_;
  const std::string host_;
  const int port_;
  const std::string path_;
  mutable absl::Mutex mu_;
  bool read_ ABSL_GUARDED_BY(mu_) = false;
  bool seen_cpu_ ABSL_GUARDED_BY(mu_) = false;
  bool seen_rss_ ABSL_GUARDED_BY(mu_) = false;
  bool seen_power_ ABSL_GUARDED_BY(mu_) = false;
  bool seen_gpu_ ABSL_GUARDED_BY(mu_) = false;
};

class InProcessSource final : public HardwareSource {
 public:
  InProcessSource() : cpu_("/") {
    auto rapl = metrics::RaplProbe::Create("/");
    if (rapl.ok()) {
      rapl_ = *std::move(rapl);
    } else {
      absent_.push_back(fmt::format("CPU package power: {}", std::string(rapl.status().message())));
    }
    auto gpu = metrics::CreateNvmlProbe({});
    if (gpu.ok()) {
      gpu_ = *std::move(gpu);
    } else {
      absent_.push_back(fmt::format("GPU: {}", std::string(gpu.status().message())));
    }
  }

  absl::StatusOr<HardwareSample> Read() override {
    absl::MutexLock lock(&mu_);
    HardwareSample s;
    s.time_ns = NowNs();
    if (auto cpu = cpu_.Sample(); cpu.ok() && cpu->has_value()) s.cpu_utilization = **cpu;
    if (auto rss = metrics::ReadResidentBytes("/"); rss.ok()) {
      s.resident_bytes = static_cast<double>(*rss);
    }
    if (rapl_) {
      if (auto r = rapl_->Sample(s.time_ns); r.ok()) {
        double total = 0;
        bool any = false;
        for (const auto& zone : *r) {
          if (zone.power_w) {
            total += *zone.power_w;
            any = true;
          }
        }
        if (any) s.cpu_power_w = total;
      }
    }
    if (gpu_) {
      if (auto r = gpu_->Sample(); r.ok()) {
        for (const auto& g : *r) {
          GpuSummary out;
          out.uuid = g.uuid;
          out.utilization_mean = g.utilization;
          if (g.memory_used_bytes) out.memory_used_bytes = static_cast<double>(*g.memory_used_bytes);
          out.power_w = g.power_w;
          s.gpus.push_back(out);
        }
      }
    }
    return s;
  }

  std::vector<std::string> Absent() const override { return absent_; }

 private:
  absl::Mutex mu_;
  metrics::CpuProbe cpu_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<metrics::RaplProbe> rapl_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<metrics::GpuProbe> gpu_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> absent_;
};

struct Stats {
  double mean = 0;
  double stddev = 0;
  int swings = 0;
};
Stats StatsOf(const std::vector<double>& v) {
  Stats s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.stddev += (x - s.mean) * (x - s.mean);
  s.stddev = std::sqrt(s.stddev / static_cast<double>(v.size()));
  for (size_t i = 1; i < v.size(); ++i) {
    if (std::fabs(v[i] - v[i - 1]) >= 0.25) ++s.swings;
  }
  return s;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HardwareSource>> CreateMetricsUrlSource(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) {
    return absl::InvalidArgumentError(
        fmt::format("--metrics-url {}: expected http://host:port/path", url));
  }
  std::string rest = url.substr(kScheme.size());
  std::string path = "/metrics";
  if (size_t slash = rest.find('/'); slash != std::string::npos) {
    path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  std::string host = rest;
  int port = 80;
  if (size_t colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    try {
      port = std::stoi(rest.substr(colon + 1));
    } catch (...) {
      return absl::InvalidArgumentError(fmt::format("--metrics-url {}: bad port", url));
    }
  }
  return std::unique_ptr<HardwareSource>(
      new MetricsUrlSource(url, host, port, path));
}

std::unique_ptr<HardwareSource> CreateInProcessSource() {
  return std::make_unique<InProcessSource>();
}

HardwareSampler::HardwareSampler(std::unique_ptr<HardwareSource> source, double interval_ms)
    : source_(std::move(source)), interval_ms_(interval_ms > 1 ? interval_ms : 1) {
  thread_ = std::thread([this] { Loop(); });
}

HardwareSampler::~HardwareSampler() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void HardwareSampler::Loop() {
  const auto interval = absl::Milliseconds(interval_ms_);
  while (true) {
    auto sample = source_->Read();
    absl::MutexLock lock(&mu_);
    if (sample.ok()) {
      samples_.push_back(*std::move(sample));
    } else if (read_errors_.empty()) {
      read_errors_.push_back(std::string(sample.status().message()));
    }
    if (mu_.AwaitWithTimeout(absl::Condition(&stop_), interval)) return;
  }
}

HardwareSummary HardwareSampler::Summarize(int64_t from_ns, int64_t to_ns) const {
  absl::MutexLock lock(&mu_);
  HardwareSummary out;
  std::vector<double> cpu;
  std::vector<double> power;
  std::map<std::string, std::vector<const GpuSummary*>> gpus;
  for (const HardwareSample& s : samples_) {
    if (s.time_ns < from_ns || s.time_ns > to_ns) continue;
    ++out.samples;
    if (s.cpu_utilization) cpu.push_back(*s.cpu_utilization);
    if (s.cpu_power_w) power.push_back(*s.cpu_power_w);
    if (s.resident_bytes) {
      out.resident_memory_bytes = std::max(out.resident_memory_bytes.value_or(0), *s.resident_bytes);
    }
    for (const GpuSummary& g : s.gpus) gpus[g.uuid].push_back(&g);
  }
  if (!cpu.empty()) {
    const Stats st = StatsOf(cpu);
    out.cpu_utilization_mean = st.mean;
    out.cpu_utilization_stddev = st.stddev;
    out.cpu_utilization_swings = st.swings;
  }
  if (!power.empty()) out.cpu_power_w = StatsOf(power).mean;
  for (const auto& [uuid, readings] : gpus) {
    GpuSummary g;
    g.uuid = uuid;
    std::vector<double> util, mem, pw;
    for (const GpuSummary* r : readings) {
      if (r->utilization_mean) util.push_back(*r->utilization_mean);
      if (r->memory_used_bytes) mem.push_back(*r->memory_used_bytes);
      if (r->power_w) pw.push_back(*r->power_w);
    }
    if (!util.empty()) {
      const Stats st = StatsOf(util);
      g.utilization_mean = st.mean;
      g.utilization_stddev = st.stddev;
    }
    if (!mem.empty()) g.memory_used_bytes = StatsOf(mem).mean;
    if (!pw.empty()) g.power_w = StatsOf(pw).mean;
    out.gpus.push_back(g);
  }
  return out;
}

std::vector<std::string> HardwareSampler::Absent() const {
  std::vector<std::string> out = source_->Absent();
  absl::MutexLock lock(&mu_);
  out.insert(out.end(), read_errors_.begin(), read_errors_.end());
  return out;
}

}  // namespace inferd::perf
