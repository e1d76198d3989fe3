// SPDX-License-Identifier: Apache-2.0
// Probes of the host's hardware read from Linux's pseudo-files: CPU utilization (/proc/stat),
// memory (/proc/meminfo), the server's resident memory (/proc/self/status) and CPU package energy
// from RAPL (/sys/class/powercap). Every probe reads below an injectable root directory ("/" in
// production), so tests feed them prepared files. Probes are not thread-safe; the hardware
// collector serialises their use.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace inferd::metrics {

// Utilization of all CPUs between two reads of <root>/proc/stat's aggregate "cpu" line.
class CpuProbe {
 public:
  explicit CpuProbe(std::string root) : root_(std::move(root)) {}
  // Reads the counters. The first call (and any call after the counters went backwards) returns
  // nullopt; later calls return the busy share (0.0-1.0) since the previous call. Errors: NOT_FOUND
  // or INVALID_ARGUMENT naming the file when it is missing or malformed.
  absl::StatusOr<std::optional<double>> Sample();

 private:
  std::string root_;
  bool have_previous_ = false;
  uint64_t previous_busy_ = 0;
  uint64_t previous_total_ = 0;
};

struct MemoryInfo {
  uint64_t total_bytes = 0;
  uint64_t used_bytes = 0;  // MemTotal - MemAvailable, as Triton reports it.
};

// <root>/proc/meminfo. Errors name the file and the missing field.
absl::StatusOr<MemoryInfo> ReadMemoryInfo(const std::string& root);

// VmRSS of <root>/proc/self/status, in bytes.
absl::StatusOr<uint64_t> ReadResidentBytes(const std::string& root);

struct RaplReading {
  std::string zone;               // The zone's name file, such as "package-0".
  std::optional<double> power_w;  // Mean power since the previous sample; none on the first.
  double energy_j = 0;            // Energy since the probe was created.
};

// CPU package energy from RAPL: every top-level zone <root>/sys/class/powercap/intel-rapl:N (AMD
// processors use the same names). Each sample reads energy_uj; a counter lower than the previous
// read has wrapped at max_energy_range_uj and the energy across the wrap is counted.
class RaplProbe {
 public:
  // NOT_FOUND when the machine exposes no RAPL zone; PERMISSION_DENIED or NOT_FOUND naming the
  // file when a zone's counter cannot be read. The message says why, for the one log line.
  static absl::StatusOr<std::unique_ptr<RaplProbe>> Create(const std::string& root);

  // `now_ns` is a monotonic time. Errors name the file that could not be read.
  absl::StatusOr<std::vector<RaplReading>> Sample(int64_t now_ns);

 private:
  struct Zone {
    std::string name;
    std::string energy_path;
    uint64_t max_range_uj = 0;
    uint64_t last_uj = 0;
    double energy_j = 0;
  };
  std::vector<Zone> zones_;
  int64_t last_ns_ = 0;
  bool have_previous_ = false;
};

}  // namespace inferd::metrics
