// SPDX-License-Identifier: Apache-2.0
// A temporary folder standing in for "/", where tests write the /proc and /sys files that the
// hardware probes read.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

namespace inferd::metrics::testing {

class FakeRoot {
 public:
  FakeRoot() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("inferd_fake_root_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~FakeRoot() { std::filesystem::remove_all(path_); }

  void Write(const std::string& relative, const std::string& text) {
    const std::filesystem::path file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
  }
  void Remove(const std::string& relative) { std::filesystem::remove_all(path_ / relative); }

  // A /proc/stat whose aggregate line has these busy and idle jiffies.
  void WriteStat(uint64_t user, uint64_t system, uint64_t idle) {
    Write("proc/stat", "cpu  " + std::to_string(user) + " 0 " + std::to_string(system) + " " +
                           std::to_string(idle) +
                           " 0 0 0 0 0 0\ncpu0 1 0 1 1 0 0 0 0 0 0\nintr 12345\n");
  }
  void WriteMeminfo(uint64_t total_kb, uint64_t available_kb) {
    Write("proc/meminfo", "MemTotal:       " + std::to_string(total_kb) +
                              " kB\nMemFree:          1000 kB\nMemAvailable:   " +
                              std::to_string(available_kb) + " kB\nBuffers:   10 kB\n");
  }
  void WriteStatus(uint64_t rss_kb) {
    Write("proc/self/status", "Name:\tinferd\nVmPeak:\t  99999 kB\nVmRSS:\t   " +
                                  std::to_string(rss_kb) + " kB\nThreads:\t4\n");
  }
  // One RAPL zone (top-level when `zone` is "intel-rapl:N").
  void WriteRaplZone(const std::string& zone, const std::string& name, uint64_t energy_uj,
                     uint64_t max_range_uj) {
    const std::string dir = "sys/class/powercap/" + zone + "/";
    Write(dir + "name", name + "\n");
    Write(dir + "energy_uj", std::to_string(energy_uj) + "\n");
    Write(dir + "max_energy_range_uj", std::to_string(max_range_uj) + "\n");
  }
  void SetEnergy(const std::string& zone, uint64_t energy_uj) {
    Write("sys/class/powercap/" + zone + "/energy_uj", std::to_string(energy_uj) + "\n");
  }

  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace inferd::metrics::testing
