// SPDX-License-Identifier: Apache-2.0
#include "metrics/gpu_probe.h"

#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace inferd::metrics {
namespace {

using ::testing::AllOf;
using ::testing::DoubleNear;
using ::testing::HasSubstr;

using FakeSetFn = void (*)(unsigned, unsigned long long, unsigned long long, unsigned, unsigned,
                           unsigned long long);

// The fake NVML library, held open for a test so that its scripted readings persist.
class FakeNvml {
 public:
  FakeNvml() : library_(dlopen(INFERD_FAKE_NVML, RTLD_NOW | RTLD_LOCAL)) {
    if (library_ != nullptr) set_ = reinterpret_cast<FakeSetFn>(dlsym(library_, "fake_nvml_set"));
  }
  ~FakeNvml() {
    if (library_ != nullptr) dlclose(library_);
  }
  bool ok() const { return set_ != nullptr; }
  void Set(unsigned utilization, unsigned long long used, unsigned long long total,
           unsigned power_mw, unsigned limit_mw, unsigned long long energy_mj) {
    set_(utilization, used, total, power_mw, limit_mw, energy_mj);
  }

 private:
  void* library_;
  FakeSetFn set_ = nullptr;
};

TEST(NvmlProbe, MissingLibraryIsUnavailableAndSaysWhy) {
  auto probe = CreateNvmlProbe({.library = "libnvidia-ml-absent-for-test.so.1"});
  EXPECT_EQ(probe.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(probe.status().message()),
              AllOf(HasSubstr("cannot load libnvidia-ml-absent-for-test.so.1"),
                    HasSubstr("no NVIDIA driver")));
}

TEST(NvmlProbe, LibraryWithoutNvmlFunctionsNamesTheMissingFunction) {
  auto probe = CreateNvmlProbe({.library = "libm.so.6"});
  EXPECT_EQ(probe.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(probe.status().message()), HasSubstr("lacks the function nvmlInit_v2"));
}

TEST(NvmlProbe, ReadsUtilizationMemoryPowerAndEnergySinceStart) {
  FakeNvml fake;
  ASSERT_TRUE(fake.ok()) << dlerror();
  fake.Set(40, 1 << 20, 4 << 20, 75'500, 300'000, 10'000);
  auto probe = CreateNvmlProbe({.library = INFERD_FAKE_NVML});
  ASSERT_TRUE(probe.ok()) << probe.status();
  fake.Set(85, 2 << 20, 4 << 20, 250'000, 300'000, 12'500);
  auto readings = (*probe)->Sample();
  ASSERT_TRUE(readings.ok()) << readings.status();
  ASSERT_EQ(readings->size(), 1u);
  const GpuReading& gpu = (*readings)[0];
  EXPECT_EQ(gpu.uuid, "GPU-fake-0000");
  EXPECT_THAT(*gpu.utilization, DoubleNear(0.85, 1e-12));
  EXPECT_EQ(*gpu.memory_used_bytes, 2u << 20);
  EXPECT_EQ(*gpu.memory_total_bytes, 4u << 20);
  EXPECT_THAT(*gpu.power_w, DoubleNear(250.0, 1e-9));
  EXPECT_THAT(*gpu.power_limit_w, DoubleNear(300.0, 1e-9));
  EXPECT_THAT(*gpu.energy_j, DoubleNear(2.5, 1e-9));  // 2500 mJ since the probe started.
}

}  // namespace
}  // namespace inferd::metrics
