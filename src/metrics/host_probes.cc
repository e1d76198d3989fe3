// SPDX-License-Identifier: Apache-2.0
#include "metrics/host_probes.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fmt/format.h"

namespace inferd::metrics {
namespace {

namespace fs = std::filesystem;

std::string Under(const std::string& root, std::string_view path) {
  if (root.empty() || root == "/") return std::string(path);
  std::string out = root;
  if (out.back() == '/') out.pop_back();
  out.append(path);
  return out;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    const int err = errno;
    if (err == EACCES || err == EPERM) {
      return absl::PermissionDeniedError(
          fmt::format("cannot read {}: {} (it needs root)", path, std::strerror(err)));
    }
    return absl::NotFoundError(fmt::format("cannot read {}: {}", path, std::strerror(err)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::StatusOr<uint64_t> ReadCounter(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  uint64_t value = 0;
  std::istringstream in(*text);
  if (!(in >> value)) {
    return absl::InvalidArgumentError(fmt::format("{} does not hold a number", path));
  }
  return value;
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// The value in kB of `field` in a "Field:   123 kB" file, in bytes.
absl::StatusOr<uint64_t> KilobyteField(const std::string& text, std::string_view field,
                                       const std::string& path) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      std::istringstream value(line.substr(field.size() + 1));
      uint64_t kb = 0;
      if (!(value >> kb)) {
        return absl::InvalidArgumentError(fmt::format("{}: {} is not a number", path, field));
      }
      return kb * 1024;
    }
  }
  return absl::NotFoundError(fmt::format("{} has no {} line", path, field));
}

}  // namespace

absl::StatusOr<std::optional<double>> CpuProbe::Sample() {
  const std::string path = Under(root_, "/proc/stat");
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::istringstream in(*text);
  std::string label;
  in >> label;
  if (label != "cpu") {
    return absl::InvalidArgumentError(fmt::format("{} does not start with the 'cpu' line", path));
  }
  // user nice system idle iowait irq softirq steal (guest time is already in user and nice).
  uint64_t fields[8] = {};
  int read = 0;
  for (; read < 8 && (in >> fields[read]); ++read) {
  }
  if (read < 4) {
    return absl::InvalidArgumentError(
        fmt::format("{}: the 'cpu' line has {} counters, expected at "
                    "least 4",
                    path, read));
  }
  uint64_t total = 0;
  for (int i = 0; i < read; ++i) total += fields[i];
  const uint64_t idle = fields[3] + fields[4];
  const uint64_t busy = total - idle;
  std::optional<double> utilization;
  if (have_previous_ && total > previous_total_ && busy >= previous_busy_) {
    utilization = std::clamp(
        static_cast<double>(busy - previous_busy_) / static_cast<double>(total - previous_total_),
        0.0, 1.0);
  }
  have_previous_ = true;
  previous_busy_ = busy;
  previous_total_ = total;
  return utilization;
}

absl::StatusOr<MemoryInfo> ReadMemoryInfo(const std::string& root) {
  const std::string path = Under(root, "/proc/meminfo");
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto total = KilobyteField(*text, "MemTotal", path);
  if (!total.ok()) return total.status();
  auto available = KilobyteField(*text, "MemAvailable", path);
  if (!available.ok()) return available.status();
  return MemoryInfo{*total, *total > *available ? *total - *available : 0};
}

absl::StatusOr<uint64_t> ReadResidentBytes(const std::string& root) {
  const std::string path = Under(root, "/proc/self/status");
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return KilobyteField(*text, "VmRSS", path);
}

absl::StatusOr<std::unique_ptr<RaplProbe>> RaplProbe::Create(const std::string& root) {
  const std::string dir = Under(root, "/sys/class/powercap");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(fmt::format("{} does not exist: this machine exposes no RAPL", dir));
  }
  std::vector<fs::path> zone_dirs;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    // Top-level zones are intel-rapl:N; their sub-zones (core, uncore, dram) are intel-rapl:N:M.
    constexpr std::string_view kPrefix = "intel-rapl:";
    if (name.rfind(kPrefix, 0) != 0) continue;
    const std::string index = name.substr(kPrefix.size());
    if (index.empty() || !std::all_of(index.begin(), index.end(), ::isdigit)) continue;
    zone_dirs.push_back(entry.path());
  }
  if (zone_dirs.empty()) {
    return absl::NotFoundError(
        fmt::format("{} has no intel-rapl:N zone: no CPU energy counter", dir));
  }
  std::sort(zone_dirs.begin(), zone_dirs.end());
  auto probe = std::unique_ptr<RaplProbe>(new RaplProbe());
  for (const fs::path& zone_dir : zone_dirs) {
    Zone zone;
    auto name = ReadFile((zone_dir / "name").string());
    zone.name = name.ok() ? Trim(*name) : zone_dir.filename().string();
    zone.energy_path = (zone_dir / "energy_uj").string();
    auto range = ReadCounter((zone_dir / "max_energy_range_uj").string());
    if (!range.ok()) return range.status();
    zone.max_range_uj = *range;
    auto energy = ReadCounter(zone.energy_path);  // Fails early when only root may read it.
    if (!energy.ok()) return energy.status();
    probe->zones_.push_back(std::move(zone));
  }
  return probe;
}

absl::StatusOr<std::vector<RaplReading>> RaplProbe::Sample(int64_t now_ns) {
  std::vector<RaplReading> out;
  const double seconds = static_cast<double>(now_ns - last_ns_) / 1e9;
  for (Zone& zone : zones_) {
    auto energy = ReadCounter(zone.energy_path);
    if (!energy.ok()) return energy.status();
    RaplReading reading;
    reading.zone = zone.name;
    if (have_previous_) {
      const uint64_t delta_uj = *energy >= zone.last_uj
                                    ? *energy - zone.last_uj
                                    : (zone.max_range_uj - zone.last_uj) + *energy;  // Wrapped.
      zone.energy_j += static_cast<double>(delta_uj) / 1e6;
      if (seconds > 0) reading.power_w = static_cast<double>(delta_uj) / 1e6 / seconds;
    }
    zone.last_uj = *energy;
    reading.energy_j = zone.energy_j;
    out.push_back(std::move(reading));
  }
  have_previous_ = true;
  last_ns_ = now_ns;
  return out;
}

}  // namespace inferd::metrics
