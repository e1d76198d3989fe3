// SPDX-License-Identifier: Apache-2.0
#include "metrics/hardware_collector.h"

#include <functional>

#include "fmt/format.h"
#include "metrics/family_builder.h"
#include "spdlog/spdlog.h"

namespace inferd::metrics {

using prometheus::MetricFamily;
using prometheus::MetricType;

HardwareCollector::HardwareCollector(HardwareCollectorOptions options)
    : options_(std::move(options)), cpu_window_(options_.window_samples, options_.swing_threshold) {
  absl::MutexLock lock(&mu_);
  if (options_.allow_cpu) {
    cpu_probe_.emplace(options_.root);
    auto rapl = RaplProbe::Create(options_.root);
    if (rapl.ok()) {
      rapl_probe_ = std::move(*rapl);
    } else {
      notes_.push_back(
          fmt::format("no CPU power metrics: {}", std::string(rapl.status().message())));
    }
  }
  if (options_.allow_gpu) {
    auto gpu = CreateNvmlProbe(options_.nvml);
    if (gpu.ok()) {
      gpu_probe_ = std::move(*gpu);
    } else {
      notes_.push_back(fmt::format("no GPU metrics: {}", std::string(gpu.status().message())));
    }
  }
  for (const std::string& note : notes_) spdlog::info("metrics: {}", note);
}

void HardwareCollector::NoteFailure(const std::string& what, const absl::Status& status) {
  if (failure_logged_[what]) return;
  failure_logged_[what] = true;
  spdlog::warn("metrics: cannot read {}: {}", what, std::string(status.message()));
}

void HardwareCollector::Sample(int64_t now_ns) {
  absl::MutexLock lock(&mu_);
  if (cpu_probe_) {
    auto utilization = cpu_probe_->Sample();
    if (!utilization.ok()) {
      NoteFailure("CPU utilization", utilization.status());
      cpu_utilization_.reset();
    } else if (utilization->has_value()) {
      cpu_utilization_ = **utilization;
      cpu_window_.Add(**utilization);
    }
    auto memory = ReadMemoryInfo(options_.root);
    if (memory.ok()) {
      memory_ = *memory;
    } else {
      NoteFailure("host memory", memory.status());
      memory_.reset();
    }
    auto resident = ReadResidentBytes(options_.root);
    if (resident.ok()) {
      resident_bytes_ = *resident;
    } else {
      NoteFailure("resident memory", resident.status());
      resident_bytes_.reset();
    }
  }
  if (rapl_probe_) {
    auto rapl = rapl_probe_->Sample(now_ns);
    if (rapl.ok()) {
      rapl_ = std::move(*rapl);
    } else {
      NoteFailure("RAPL energy", rapl.status());
      rapl_.clear();
    }
  }
  if (gpu_probe_) {
    auto gpus = gpu_probe_->Sample();
    if (gpus.ok()) {
      gpus_ = std::move(*gpus);
      for (const GpuReading& gpu : gpus_) {
        if (!gpu.utilization) continue;
        auto [it, inserted] =
            gpu_windows_.try_emplace(gpu.uuid, options_.window_samples, options_.swing_threshold);
        it->second.Add(*gpu.utilization);
      }
    } else {
      NoteFailure("GPU metrics", gpus.status());
      gpus_.clear();
    }
  }
}

namespace {

constexpr std::string_view kWindowHelp = "over the last {} samples of {} utilization";

// Appends the three steadiness families for one device (or the CPU, with no labels).
void AddSteadiness(std::vector<MetricFamily>& out, const std::string& prefix,
                   const std::string& device, size_t window,
                   const std::vector<std::pair<Labels, Steadiness>>& values) {
  if (values.empty()) return;
  const std::string over = fmt::format(kWindowHelp, window, device);
  MetricFamily mean = Family(prefix + "_mean", "Mean " + over, MetricType::Gauge);
  MetricFamily stddev = Family(prefix + "_stddev", "Standard deviation " + over, MetricType::Gauge);
  MetricFamily swings = Family(prefix + "_swings",
                               "Changes of at least the swing threshold between consecutive "
                               "samples, " +
                                   over,
                               MetricType::Gauge);
  for (const auto& [labels, s] : values) {
    AddValue(mean, labels, s.mean);
    AddValue(stddev, labels, s.stddev);
    AddValue(swings, labels, s.swings);
  }
  out.push_back(std::move(mean));
  out.push_back(std::move(stddev));
  out.push_back(std::move(swings));
}

}  // namespace

std::vector<MetricFamily> HardwareCollector::Collect() const {
  absl::MutexLock lock(&mu_);
  std::vector<MetricFamily> out;
  if (cpu_utilization_) {
    MetricFamily f =
        Family("nv_cpu_utilization", "CPU utilization rate [0.0 - 1.0]", MetricType::Gauge);
    AddValue(f, {}, *cpu_utilization_);
    out.push_back(std::move(f));
  }
  if (!cpu_window_.empty()) {
    AddSteadiness(out, "nv_cpu_utilization", "CPU", options_.window_samples,
                  {{Labels{}, cpu_window_.Compute()}});
  }
  if (memory_) {
    MetricFamily total =
        Family("nv_cpu_memory_total_bytes", "CPU total memory (RAM), in bytes", MetricType::Gauge);
    AddValue(total, {}, static_cast<double>(memory_->total_bytes));
    out.push_back(std::move(total));
    MetricFamily used =
        Family("nv_cpu_memory_used_bytes", "CPU used memory (RAM), in bytes", MetricType::Gauge);
    AddValue(used, {}, static_cast<double>(memory_->used_bytes));
    out.push_back(std::move(used));
  }
  if (resident_bytes_) {
    MetricFamily f = Family("nv_server_resident_memory_bytes",
                            "Resident memory of the inferd process, in bytes", MetricType::Gauge);
    AddValue(f, {}, static_cast<double>(*resident_bytes_));
    out.push_back(std::move(f));
  }
  if (!rapl_.empty()) {
    MetricFamily power =
        Family("nv_cpu_power_usage",
               "CPU package power draw in watts (RAPL), over the last interval", MetricType::Gauge);
    MetricFamily energy = Family("nv_cpu_energy_consumption",
                                 "CPU package energy consumption in joules since inferd started "
                                 "(RAPL)",
                                 MetricType::Counter);
    for (const RaplReading& zone : rapl_) {
      if (zone.power_w) AddValue(power, {{"package", zone.zone}}, *zone.power_w);
      AddValue(energy, {{"package", zone.zone}}, zone.energy_j);
    }
    if (!power.metric.empty()) out.push_back(std::move(power));
    out.push_back(std::move(energy));
  }
  if (!gpus_.empty()) {
    struct GpuFamily {
      const char* name;
      const char* help;
      MetricType type;
      std::function<std::optional<double>(const GpuReading&)> value;
    };
    const std::vector<GpuFamily> families = {
        {"nv_gpu_utilization", "GPU utilization rate [0.0 - 1.0)", MetricType::Gauge,
         [](const GpuReading& g) { return g.utilization; }},
        {"nv_gpu_memory_total_bytes", "GPU total memory, in bytes", MetricType::Gauge,
         [](const GpuReading& g) -> std::optional<double> {
           if (!g.memory_total_bytes) return std::nullopt;
           return static_cast<double>(*g.memory_total_bytes);
         }},
        {"nv_gpu_memory_used_bytes", "GPU used memory, in bytes", MetricType::Gauge,
         [](const GpuReading& g) -> std::optional<double> {
           if (!g.memory_used_bytes) return std::nullopt;
           return static_cast<double>(*g.memory_used_bytes);
         }},
        {"nv_gpu_power_usage", "GPU power usage in watts", MetricType::Gauge,
         [](const GpuReading& g) { return g.power_w; }},
        {"nv_gpu_power_limit", "GPU power management limit in watts", MetricType::Gauge,
         [](const GpuReading& g) { return g.power_limit_w; }},
        {"nv_energy_consumption", "GPU energy consumption in joules since inferd started",
         MetricType::Counter, [](const GpuReading& g) { return g.energy_j; }},
    };
    for (const GpuFamily& spec : families) {
      MetricFamily f = Family(spec.name, spec.help, spec.type);
      for (const GpuReading& gpu : gpus_) {
        if (auto v = spec.value(gpu)) AddValue(f, {{"gpu_uuid", gpu.uuid}}, *v);
      }
      if (!f.metric.empty()) out.push_back(std::move(f));
    }
    std::vector<std::pair<Labels, Steadiness>> steadiness;
    for (const GpuReading& gpu : gpus_) {
      auto it = gpu_windows_.find(gpu.uuid);
      if (it != gpu_windows_.end() && !it->second.empty()) {
        steadiness.push_back({Labels{{"gpu_uuid", gpu.uuid}}, it->second.Compute()});
      }
    }
    AddSteadiness(out, "nv_gpu_utilization", "GPU", options_.window_samples, steadiness);
  }
  return out;
}

}  // namespace inferd::metrics
