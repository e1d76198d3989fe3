// SPDX-License-Identifier: Apache-2.0
#include "metrics/host_probes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "metrics/test_util/fake_root.h"

namespace inferd::metrics {
namespace {

using ::testing::AllOf;
using ::testing::DoubleNear;
using testing::FakeRoot;
using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;

TEST(CpuProbe, FirstSampleHasNoUtilizationThenTheBusyShareOfTheInterval) {
  FakeRoot root;
  root.WriteStat(/*user=*/100, /*system=*/100, /*idle=*/800);
  CpuProbe probe(root.path());
  auto first = probe.Sample();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->has_value());
  // +300 busy, +100 idle: 75% busy.
  root.WriteStat(300, 200, 900);
  auto second = probe.Sample();
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(second->has_value());
  EXPECT_THAT(**second, DoubleNear(0.75, 1e-9));
}

TEST(CpuProbe, MissingStatFileNamesTheFile) {
  FakeRoot root;
  CpuProbe probe(root.path());
  auto sample = probe.Sample();
  EXPECT_EQ(sample.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(sample.status().message()), HasSubstr("proc/stat"));
}

TEST(CpuProbe, MalformedStatIsInvalidArgument) {
  FakeRoot root;
  root.Write("proc/stat", "intr 1 2 3\n");
  CpuProbe probe(root.path());
  auto sample = probe.Sample();
  EXPECT_EQ(sample.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(sample.status().message()),
              AllOf(HasSubstr("proc/stat"), HasSubstr("'cpu' line")));
}

TEST(ReadMemoryInfo, UsedIsTotalMinusAvailable) {
  FakeRoot root;
  root.WriteMeminfo(/*total_kb=*/1000, /*available_kb=*/250);
  auto memory = ReadMemoryInfo(root.path());
  ASSERT_TRUE(memory.ok()) << memory.status();
  EXPECT_EQ(memory->total_bytes, 1000u * 1024);
  EXPECT_EQ(memory->used_bytes, 750u * 1024);
}

TEST(ReadMemoryInfo, MissingFieldIsNamed) {
  FakeRoot root;
  root.Write("proc/meminfo", "MemTotal: 1000 kB\n");
  auto memory = ReadMemoryInfo(root.path());
  EXPECT_EQ(memory.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(memory.status().message()), HasSubstr("MemAvailable"));
}

TEST(ReadResidentBytes, ReadsVmRss) {
  FakeRoot root;
  root.WriteStatus(/*rss_kb=*/5120);
  auto rss = ReadResidentBytes(root.path());
  ASSERT_TRUE(rss.ok()) << rss.status();
  EXPECT_EQ(*rss, 5120u * 1024);
}

TEST(ReadResidentBytes, ProbesTheRealProcess) {
  auto rss = ReadResidentBytes("/");
  ASSERT_TRUE(rss.ok()) << rss.status();
  EXPECT_GT(*rss, 0u);
}

TEST(RaplProbe, NoPowercapFolderIsNotFoundSayingWhy) {
  FakeRoot root;
  auto probe = RaplProbe::Create(root.path());
  EXPECT_EQ(probe.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(probe.status().message()),
              AllOf(HasSubstr("sys/class/powercap"), HasSubstr("no RAPL")));
}

TEST(RaplProbe, PowercapWithoutPackageZonesIsNotFound) {
  FakeRoot root;
  root.Write("sys/class/powercap/dtpm/name", "dtpm\n");
  auto probe = RaplProbe::Create(root.path());
  EXPECT_EQ(probe.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(probe.status().message()), HasSubstr("intel-rapl:N"));
}

TEST(RaplProbe, PowerAndEnergyOfEachPackageIgnoringSubZones) {
  FakeRoot root;
  root.WriteRaplZone("intel-rapl:0", "package-0", 1'000'000, 262'143'328'850);
  root.WriteRaplZone("intel-rapl:1", "package-1", 5'000'000, 262'143'328'850);
  root.WriteRaplZone("intel-rapl:0:0", "core", 42, 262'143'328'850);  // Sub-zone: not a package.
  auto probe = RaplProbe::Create(root.path());
  ASSERT_TRUE(probe.ok()) << probe.status();
  auto first = (*probe)->Sample(10 * kSecond);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].zone, "package-0");
  EXPECT_FALSE((*first)[0].power_w.has_value());
  EXPECT_EQ((*first)[0].energy_j, 0.0);

  root.SetEnergy("intel-rapl:0", 31'000'000);  // +30 J in 2 s: 15 W.
  root.SetEnergy("intel-rapl:1", 9'000'000);   // +4 J: 2 W.
  auto second = (*probe)->Sample(12 * kSecond);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(*(*second)[0].power_w, DoubleNear(15.0, 1e-9));
  EXPECT_THAT((*second)[0].energy_j, DoubleNear(30.0, 1e-9));
  EXPECT_EQ((*second)[1].zone, "package-1");
  EXPECT_THAT(*(*second)[1].power_w, DoubleNear(2.0, 1e-9));
}

TEST(RaplProbe, CounterThatWrapsAroundCountsTheEnergyAcrossTheWrap) {
  FakeRoot root;
  constexpr uint64_t kRange = 100'000'000;  // The counter wraps at 100 J.
  root.WriteRaplZone("intel-rapl:0", "package-0", 96'000'000, kRange);
  auto probe = RaplProbe::Create(root.path());
  ASSERT_TRUE(probe.ok()) << probe.status();
  ASSERT_TRUE((*probe)->Sample(0).ok());
  root.SetEnergy("intel-rapl:0", 2'000'000);  // 4 J to the wrap, then 2 J: 6 J in 1 s.
  auto wrapped = (*probe)->Sample(kSecond);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  EXPECT_THAT(*(*wrapped)[0].power_w, DoubleNear(6.0, 1e-9));
  EXPECT_THAT((*wrapped)[0].energy_j, DoubleNear(6.0, 1e-9));
  root.SetEnergy("intel-rapl:0", 5'000'000);  // +3 J, no wrap: energy keeps accumulating.
  auto after = (*probe)->Sample(2 * kSecond);
  ASSERT_TRUE(after.ok());
  EXPECT_THAT((*after)[0].energy_j, DoubleNear(9.0, 1e-9));
}

TEST(RaplProbe, UnreadableCounterIsReportedAtCreate) {
  FakeRoot root;
  root.WriteRaplZone("intel-rapl:0", "package-0", 1, 100);
  root.Remove("sys/class/powercap/intel-rapl:0/energy_uj");
  auto probe = RaplProbe::Create(root.path());
  EXPECT_FALSE(probe.ok());
  EXPECT_THAT(std::string(probe.status().message()), HasSubstr("energy_uj"));
}

}  // namespace
}  // namespace inferd::metrics
