// SPDX-License-Identifier: Apache-2.0
#include "metrics/hardware_collector.h"

#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "metrics/test_util/exposition.h"
#include "metrics/test_util/fake_root.h"

namespace inferd::metrics {
namespace {

using ::testing::ElementsAre;
using testing::ExpositionText;
using testing::FakeRoot;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kSecond = 1'000'000'000;
constexpr char kNoNvml[] = "libnvidia-ml-absent-for-test.so.1";

HardwareCollectorOptions Options(const FakeRoot& root, std::string nvml = kNoNvml) {
  HardwareCollectorOptions options;
  options.root = root.path();
  options.nvml.library = std::move(nvml);
  options.window_samples = 4;
  options.swing_threshold = 0.25;
  return options;
}

TEST(HardwareCollector, ExposesCpuMemoryAndRaplWithTritonNamesAcrossAnEnergyWrap) {
  FakeRoot root;
  root.WriteStat(100, 100, 800);
  root.WriteMeminfo(1000, 250);
  root.WriteStatus(2048);
  root.WriteRaplZone("intel-rapl:0", "package-0", 99'000'000, 100'000'000);
  HardwareCollector collector(Options(root));
  collector.Sample(0);

  root.WriteStat(300, 200, 900);  // 75% busy.
  root.WriteMeminfo(1000, 500);
  root.SetEnergy("intel-rapl:0", 3'000'000);  // Wrapped at 100 J: 1 J + 3 J = 4 J in 2 s.
  collector.Sample(2 * kSecond);
  root.WriteStat(400, 200, 1300);             // 20% busy: a swing of 55 points.
  root.SetEnergy("intel-rapl:0", 5'000'000);  // +2 J in 2 s.
  collector.Sample(4 * kSecond);

  EXPECT_EQ(ExpositionText(collector),
            R"(# HELP nv_cpu_utilization CPU utilization rate [0.0 - 1.0]
# TYPE nv_cpu_utilization gauge
nv_cpu_utilization 0.2
# HELP nv_cpu_utilization_mean Mean over the last 4 samples of CPU utilization
# TYPE nv_cpu_utilization_mean gauge
nv_cpu_utilization_mean 0.475
# HELP nv_cpu_utilization_stddev Standard deviation over the last 4 samples of CPU utilization
# TYPE nv_cpu_utilization_stddev gauge
nv_cpu_utilization_stddev 0.275
# HELP nv_cpu_utilization_swings Changes of at least the swing threshold between consecutive samples, over the last 4 samples of CPU utilization
# TYPE nv_cpu_utilization_swings gauge
nv_cpu_utilization_swings 1
# HELP nv_cpu_memory_total_bytes CPU total memory (RAM), in bytes
# TYPE nv_cpu_memory_total_bytes gauge
nv_cpu_memory_total_bytes 1024000
# HELP nv_cpu_memory_used_bytes CPU used memory (RAM), in bytes
# TYPE nv_cpu_memory_used_bytes gauge
nv_cpu_memory_used_bytes 512000
# HELP nv_server_resident_memory_bytes Resident memory of the inferd process, in bytes
# TYPE nv_server_resident_memory_bytes gauge
nv_server_resident_memory_bytes 2097152
# HELP nv_cpu_power_usage CPU package power draw in watts (RAPL), over the last interval
# TYPE nv_cpu_power_usage gauge
nv_cpu_power_usage{package="package-0"} 1
# HELP nv_cpu_energy_consumption CPU package energy consumption in joules since inferd started (RAPL)
# TYPE nv_cpu_energy_consumption counter
nv_cpu_energy_consumption{package="package-0"} 6
)");
  EXPECT_THAT(collector.notes(), ElementsAre(HasSubstr("no GPU metrics: cannot load")));
}

TEST(HardwareCollector, MissingRaplAndNvmlLeaveTheirMetricsOutAndSayWhy) {
  FakeRoot root;
  root.WriteStat(1, 1, 1);
  root.WriteMeminfo(1000, 250);
  root.WriteStatus(1);
  HardwareCollector collector(Options(root));
  collector.Sample(0);
  const std::string text = ExpositionText(collector);
  EXPECT_THAT(text, HasSubstr("nv_cpu_memory_total_bytes 1024000"));
  EXPECT_THAT(text, Not(HasSubstr("nv_gpu")));
  EXPECT_THAT(text, Not(HasSubstr("nv_energy_consumption")));
  EXPECT_THAT(text, Not(HasSubstr("power")));
  EXPECT_THAT(text, Not(HasSubstr("nv_cpu_utilization ")));  // Needs two samples.
  EXPECT_THAT(collector.notes(),
              ElementsAre(HasSubstr("no CPU power metrics: "), HasSubstr("no GPU metrics: ")));
}

TEST(HardwareCollector, DisabledCpuAndGpuMetricsExposeNothing) {
  FakeRoot root;
  root.WriteStat(1, 1, 1);
  root.WriteMeminfo(1000, 250);
  HardwareCollectorOptions options = Options(root, INFERD_FAKE_NVML);
  options.allow_cpu = false;
  options.allow_gpu = false;
  HardwareCollector collector(options);
  collector.Sample(0);
  collector.Sample(kSecond);
  EXPECT_EQ(ExpositionText(collector), "");
  EXPECT_TRUE(collector.notes().empty());
}

TEST(HardwareCollector, FilesThatVanishDropTheirMetricsWithoutFailing) {
  FakeRoot root;
  root.WriteStat(1, 1, 1);
  root.WriteMeminfo(1000, 250);
  root.WriteStatus(1);
  HardwareCollector collector(Options(root));
  collector.Sample(0);
  root.Remove("proc/meminfo");
  collector.Sample(kSecond);
  EXPECT_THAT(ExpositionText(collector), Not(HasSubstr("nv_cpu_memory")));
}

using FakeSetFn = void (*)(unsigned, unsigned long long, unsigned long long, unsigned, unsigned,
                           unsigned long long);

TEST(HardwareCollector, ExposesGpuMetricsLabelledByUuidThroughNvml) {
  void* fake = dlopen(INFERD_FAKE_NVML, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(fake, nullptr) << dlerror();
  auto set = reinterpret_cast<FakeSetFn>(dlsym(fake, "fake_nvml_set"));
  ASSERT_NE(set, nullptr);
  set(50, 1000, 8000, 100'000, 300'000, 50'000);
  FakeRoot root;
  HardwareCollectorOptions options = Options(root, INFERD_FAKE_NVML);
  options.allow_cpu = false;
  HardwareCollector collector(options);
  collector.Sample(0);
  set(75, 3000, 8000, 250'000, 300'000, 53'000);
  collector.Sample(kSecond);
  const std::string text = ExpositionText(collector);
  dlclose(fake);
  EXPECT_EQ(text,
            R"(# HELP nv_gpu_utilization GPU utilization rate [0.0 - 1.0)
# TYPE nv_gpu_utilization gauge
nv_gpu_utilization{gpu_uuid="GPU-fake-0000"} 0.75
# HELP nv_gpu_memory_total_bytes GPU total memory, in bytes
# TYPE nv_gpu_memory_total_bytes gauge
nv_gpu_memory_total_bytes{gpu_uuid="GPU-fake-0000"} 8000
# HELP nv_gpu_memory_used_bytes GPU used memory, in bytes
# TYPE nv_gpu_memory_used_bytes gauge
nv_gpu_memory_used_bytes{gpu_uuid="GPU-fake-0000"} 3000
# HELP nv_gpu_power_usage GPU power usage in watts
# TYPE nv_gpu_power_usage gauge
nv_gpu_power_usage{gpu_uuid="GPU-fake-0000"} 250
# HELP nv_gpu_power_limit GPU power management limit in watts
# TYPE nv_gpu_power_limit gauge
nv_gpu_power_limit{gpu_uuid="GPU-fake-0000"} 300
# HELP nv_energy_consumption GPU energy consumption in joules since inferd started
# TYPE nv_energy_consumption counter
nv_energy_consumption{gpu_uuid="GPU-fake-0000"} 3
# HELP nv_gpu_utilization_mean Mean over the last 4 samples of GPU utilization
# TYPE nv_gpu_utilization_mean gauge
nv_gpu_utilization_mean{gpu_uuid="GPU-fake-0000"} 0.625
# HELP nv_gpu_utilization_stddev Standard deviation over the last 4 samples of GPU utilization
# TYPE nv_gpu_utilization_stddev gauge
nv_gpu_utilization_stddev{gpu_uuid="GPU-fake-0000"} 0.125
# HELP nv_gpu_utilization_swings Changes of at least the swing threshold between consecutive samples, over the last 4 samples of GPU utilization
# TYPE nv_gpu_utilization_swings gauge
nv_gpu_utilization_swings{gpu_uuid="GPU-fake-0000"} 1
)");
}

}  // namespace
}  // namespace inferd::metrics
