// SPDX-License-Identifier: Apache-2.0
// Unit tests of the pieces of inferd-perf that need no server: input shapes and data, the CSV's
// columns and order, the JSON's absent values, and the hints.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "perf/input_data.h"
#include "perf/profiler.h"
#include "perf/report.h"

namespace inferd::perf {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

ModelMetadata Busy() {
  ModelMetadata m;
  m.name = "busy";
  m.inputs = {{"INPUT0", DataType::kFp32, {-1, -1}}};
  m.outputs = {{"OUTPUT0", DataType::kFp32, {-1, -1}}};
  return m;
}

TEST(ResolveInputsTest, BatchDimensionAndShapeFlag) {
  auto specs = ResolveInputs(Busy(), 8, 4, {{"INPUT0", {16}}});
  ASSERT_TRUE(specs.ok()) << specs.status();
  EXPECT_EQ((*specs)[0].shape, (Shape{4, 16}));
}

TEST(ResolveInputsTest, EachBadShapeHasItsMessage) {
  EXPECT_THAT(std::string(ResolveInputs(Busy(), 8, 1, {}).status().message()),
              HasSubstr("--shape INPUT0:"));
  EXPECT_THAT(std::string(ResolveInputs(Busy(), 8, 1, {{"X", {1}}}).status().message()),
              HasSubstr("does not have"));
  EXPECT_THAT(std::string(ResolveInputs(Busy(), 0, 2, {{"INPUT0", {1, 1}}}).status().message()),
              HasSubstr("does not batch"));
  EXPECT_THAT(std::string(ResolveInputs(Busy(), 8, 9, {{"INPUT0", {1}}}).status().message()),
              HasSubstr("max_batch_size 8"));
  EXPECT_THAT(std::string(ResolveInputs(Busy(), 8, 1, {{"INPUT0", {1, 2}}}).status().message()),
              HasSubstr("2 dimensions"));
}

TEST(MakeInputDataTest, JsonEntriesRepeatForTheBatch) {
  const fs::path file = fs::temp_directory_path() / "inferd_perf_unit.json";
  std::ofstream(file) << R"({"data": [{"INPUT0": [[1, 2], [3, 4]]}]})";
  std::vector<InputSpec> specs = {{"INPUT0", DataType::kFp32, {3, 4}}};
  auto steps = MakeInputData(specs, file.string(), true, 1);
  ASSERT_TRUE(steps.ok()) << steps.status();
  const InferInput& in = (*steps)[0][0];
  ASSERT_EQ(in.byte_size, 12 * sizeof(float));
  const float* v = reinterpret_cast<const float*>(in.data);
  EXPECT_EQ(v[0], 1);
  EXPECT_EQ(v[4], 1);
  EXPECT_EQ(v[11], 4);
  fs::remove(file);
}

TEST(MakeInputDataTest, UnknownSourceIsNamed) {
  std::vector<InputSpec> specs = {{"INPUT0", DataType::kFp32, {4}}};
  auto steps = MakeInputData(specs, "/nonexistent/data.json", false, 1);
  EXPECT_THAT(std::string(steps.status().message()), HasSubstr("/nonexistent/data.json"));
}

ProfileResult TwoLevels() {
  ProfileResult r;
  r.model = "m";
  for (double c : {1.0, 2.0}) {  // Throughput falls at 2: the CSV puts 2 first.
    LevelResult l;
    l.value = c;
    l.throughput = c == 1 ? 200 : 100;
    l.latency.p50_us = 1000 * c;
    l.latency.avg_us = 1100 * c;
    l.server.available = true;
    l.server.queue_us = c == 2 ? 900 : 10;
    l.server.compute_infer_us = 500;
    r.levels.push_back(l);
  }
  return r;
}

TEST(CsvTest, PerfAnalyzersColumnsSortedByThroughput) {
  const std::string csv = CsvText(TwoLevels(), false);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,"
            "Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,"
            "p50 latency,p90 latency,p95 latency,p99 latency");
  EXPECT_THAT(csv, HasSubstr("\n2,100,0,0,900,0,500,0,0,2000,0,0,0\n1,200,"));
}

TEST(CsvTest, VerboseWithPercentileDropsAvgLatency) {
  ProfileResult r = TwoLevels();
  r.percentile = 95;
  const std::string csv = CsvText(r, true);
  EXPECT_THAT(csv.substr(0, csv.find('\n')),
              HasSubstr("p99 latency,request/response,response wait,Errors"));
}

TEST(JsonTest, AbsentHardwareIsNullNotZero) {
  const std::string json = JsonText(TwoLevels());
  EXPECT_THAT(json, HasSubstr("\"cpu_utilization_mean\": null"));
  EXPECT_THAT(json, HasSubstr("\"error\": null"));
}

TEST(HintsTest, QueueOverComputeSaysAddInstances) {
  const auto hints = MakeHints(TwoLevels());
  bool found = false;
  for (const auto& h : hints) found = found || h.find("add instances") != std::string::npos;
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace inferd::perf

namespace inferd::perf {
namespace {

TEST(HintsTest, QueueOverComputeOnASaturatedCpuDoesNotSayAddInstances) {
  ProfileResult r = TwoLevels();
  r.levels.back().hardware.cpu_utilization_mean = 0.99;
  const auto hints = MakeHints(r);
  bool saturated = false;
  for (const auto& h : hints) {
    saturated = saturated || h.find("saturated") != std::string::npos;
    EXPECT_EQ(h.find("add instances"), std::string::npos) << h;
  }
  EXPECT_TRUE(saturated);
}

}  // namespace
}  // namespace inferd::perf
