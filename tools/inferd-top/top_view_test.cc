// SPDX-License-Identifier: Apache-2.0
#include "top_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fmt/format.h"
#include "http_fetch.h"

namespace inferd::top {
namespace {

using ::testing::AllOf;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

constexpr int64_t kSecond = 1'000'000'000;

// /metrics text as inferd exposes it, for one model, after `success` requests whose latencies
// fill the histogram's buckets as given (cumulative at le = 100, 1000, +Inf us).
std::string Exposition(int success, int failure, int at_100, int at_1000, double request_us,
                       double queue_us, int batch1, int batch4, double cpu, double cpu_mean,
                       double cpu_stddev, int swings) {
  return fmt::format(
      R"(nv_inference_request_success{{model="identity",version="1"}} {0}
nv_inference_request_failure{{model="identity",version="1",reason="REJECTED"}} 0
nv_inference_request_failure{{model="identity",version="1",reason="OTHER"}} {1}
nv_inference_request_duration_us{{model="identity",version="1"}} {4}
nv_inference_queue_duration_us{{model="identity",version="1"}} {5}
nv_inference_pending_request_count{{model="identity",version="1"}} 2
nv_inference_request_latency_us_count{{model="identity",version="1"}} {0}
nv_inference_request_latency_us_bucket{{model="identity",version="1",le="100"}} {2}
nv_inference_request_latency_us_bucket{{model="identity",version="1",le="1000"}} {3}
nv_inference_request_latency_us_bucket{{model="identity",version="1",le="+Inf"}} {0}
nv_inference_batch_size_bucket{{model="identity",version="1",le="1"}} {6}
nv_inference_batch_size_bucket{{model="identity",version="1",le="2"}} {6}
nv_inference_batch_size_bucket{{model="identity",version="1",le="4"}} {7}
nv_inference_batch_size_bucket{{model="identity",version="1",le="+Inf"}} {7}
nv_cpu_utilization {8}
nv_cpu_utilization_mean {9}
nv_cpu_utilization_stddev {10}
nv_cpu_utilization_swings {11}
nv_cpu_memory_total_bytes 25769803776
nv_cpu_memory_used_bytes 4294967296
nv_server_resident_memory_bytes 20971520
)",
      success, failure, at_100, at_1000, request_us, queue_us, batch1, batch1 + batch4, cpu,
      cpu_mean, cpu_stddev, swings);
}

Scrape MakeScrape(int64_t time_ns, const std::string& text) {
  auto metrics = MetricSet::Parse(text);
  EXPECT_TRUE(metrics.ok()) << metrics.status();
  return Scrape{time_ns, *metrics, std::nullopt};
}

TEST(HistogramQuantile, InterpolatesInsideTheBucket) {
  const std::vector<std::pair<double, double>> buckets = {
      {100, 50}, {1000, 100}, {std::numeric_limits<double>::infinity(), 100}};
  EXPECT_THAT(*HistogramQuantile(0.5, buckets), DoubleNear(100, 1e-9));
  EXPECT_THAT(*HistogramQuantile(0.25, buckets), DoubleNear(50, 1e-9));
  EXPECT_THAT(*HistogramQuantile(0.99, buckets), DoubleNear(982, 1e-9));
  EXPECT_FALSE(HistogramQuantile(0.5, {{100, 0}}).has_value());
  // Everything above the last finite bound: that bound.
  EXPECT_THAT(*HistogramQuantile(0.5, {{100, 0}, {std::numeric_limits<double>::infinity(), 4}}),
              DoubleNear(100, 1e-9));
}

TEST(BuildView, RatesLatencyQueueShareAndBatchSizesOverTheInterval) {
  const Scrape before =
      MakeScrape(0, Exposition(100, 1, 50, 100, 20000, 2000, 100, 0, 0.8, 0.8, 0.02, 0));
  // 2 s later: +200 successes (100 at <=100 us, 100 at <=1000 us), +4 failures.
  const Scrape after = MakeScrape(
      2 * kSecond, Exposition(300, 5, 150, 300, 120000, 42000, 140, 40, 0.85, 0.82, 0.03, 0));
  const TopView view = BuildView(before, after);
  ASSERT_EQ(view.models.size(), 1u);
  const ModelRow& m = view.models[0];
  EXPECT_EQ(m.name, "identity");
  EXPECT_THAT(m.request_rate, DoubleNear(102, 1e-9));
  EXPECT_THAT(m.failure_rate, DoubleNear(2, 1e-9));
  EXPECT_FALSE(m.since_start);
  EXPECT_THAT(*m.p50_us, DoubleNear(100, 1e-9));
  EXPECT_THAT(*m.p99_us, DoubleNear(982, 1e-9));
  EXPECT_THAT(*m.queue_share, DoubleNear(0.4, 1e-9));
  EXPECT_THAT(m.batch_sizes, ElementsAre(Pair(1, 40u), Pair(4, 40u)));
  EXPECT_FALSE(m.exact_batch_sizes);
  EXPECT_EQ(m.pending, 2);
  EXPECT_THAT(*view.cpu.utilization, DoubleNear(0.85, 1e-9));
  EXPECT_THAT(view.hints, ElementsAre(HasSubstr("steady")));
}

TEST(BuildView, ExactBatchSizesComeFromTheStatisticsApi) {
  Scrape before = MakeScrape(0, Exposition(10, 0, 10, 10, 100, 10, 10, 0, 0.8, 0.8, 0, 0));
  Scrape after = MakeScrape(kSecond, Exposition(20, 0, 20, 20, 200, 20, 14, 2, 0.8, 0.8, 0, 0));
  ModelStatistics s;
  s.name = "identity";
  s.version = "1";
  s.batch_stats = {{1, {}, {10, 0}, {}}};
  before.statistics = std::vector<ModelStatistics>{s};
  s.batch_stats = {{1, {}, {14, 0}, {}}, {3, {}, {2, 0}, {}}};
  after.statistics = std::vector<ModelStatistics>{s};
  const TopView view = BuildView(before, after);
  EXPECT_TRUE(view.models[0].exact_batch_sizes);
  EXPECT_THAT(view.models[0].batch_sizes, ElementsAre(Pair(1, 4u), Pair(3, 2u)));
}

TEST(BuildView, LowUtilizationUnderLoadSuggestsConcurrencyBatchOrInstance) {
  const TopView view = BuildView(
      MakeScrape(0, Exposition(0, 0, 0, 0, 0, 0, 0, 0, 0.3, 0.3, 0.02, 0)),
      MakeScrape(kSecond, Exposition(50, 0, 50, 50, 5000, 100, 50, 0, 0.3, 0.3, 0.02, 0)));
  EXPECT_THAT(view.hints,
              ElementsAre(AllOf(HasSubstr("CPU utilization is low (30%)"), HasSubstr("concurrency"),
                                HasSubstr("larger batch"), HasSubstr("instance"))));
}

TEST(BuildView, SwingingUtilizationIsCalledUnsteady) {
  const TopView view =
      BuildView(MakeScrape(0, Exposition(0, 0, 0, 0, 0, 0, 0, 0, 0.4, 0.6, 0.2, 5)),
                MakeScrape(kSecond, Exposition(50, 0, 50, 50, 5000, 100, 50, 0, 0.8, 0.6, 0.2, 5)));
  EXPECT_THAT(view.hints, ElementsAre(AllOf(HasSubstr("CPU utilization is unsteady"),
                                            HasSubstr("5 large swings"))));
}

TEST(BuildView, MostlyQueuedRequestsSuggestAnInstanceOrBatching) {
  const TopView view = BuildView(
      MakeScrape(0, Exposition(0, 0, 0, 0, 0, 0, 0, 0, 0.85, 0.85, 0.01, 0)),
      MakeScrape(kSecond, Exposition(50, 0, 50, 50, 10000, 7000, 50, 0, 0.85, 0.85, 0.01, 0)));
  EXPECT_THAT(view.hints, ElementsAre(AllOf(HasSubstr("Model 'identity'"), HasSubstr("70%"),
                                            HasSubstr("dynamic batching"))));
}

TEST(BuildView, IdleServerShowsTotalsSinceStartAndSaysSo) {
  const std::string text = Exposition(10, 0, 10, 10, 500, 50, 10, 0, 0.1, 0.1, 0, 0);
  const TopView view = BuildView(MakeScrape(0, text), MakeScrape(kSecond, text));
  EXPECT_EQ(view.models[0].request_rate, 0);
  EXPECT_TRUE(view.models[0].since_start);
  EXPECT_THAT(*view.models[0].p50_us, DoubleNear(50, 1e-9));
  EXPECT_THAT(view.hints, ElementsAre(HasSubstr("No requests")));
}

TEST(Render, ShowsModelsCpuMemoryHistoryAndHints) {
  const TopView view = BuildView(
      MakeScrape(0, Exposition(100, 1, 50, 100, 20000, 2000, 100, 0, 0.2, 0.3, 0.02, 0)),
      MakeScrape(2 * kSecond,
                 Exposition(300, 5, 150, 300, 120000, 42000, 140, 40, 0.4, 0.3, 0.03, 0)));
  UtilizationHistory history;
  RecordHistory(BuildView(MakeScrape(0, Exposition(0, 0, 0, 0, 0, 0, 0, 0, 0.2, 0, 0, 0)),
                          MakeScrape(0, Exposition(0, 0, 0, 0, 0, 0, 0, 0, 0.2, 0, 0, 0))),
                history);
  RecordHistory(view, history);
  const std::string screen = Render(view, history, "127.0.0.1:8002", 100);
  EXPECT_THAT(screen, HasSubstr("inferd-top  127.0.0.1:8002  interval 2.0 s"));
  EXPECT_THAT(screen, HasSubstr("identity             1    102.0     2.0     0.100     0.982    40"
                                "%     2  <=1x40 <=4x40"));
  EXPECT_THAT(screen, HasSubstr("CPU            util  40%  ▂▄"));
  EXPECT_THAT(screen, HasSubstr("steadiness: mean 30% std dev 3% swings 0"));
  EXPECT_THAT(screen, HasSubstr("memory 4.0 GiB / 24.0 GiB  power n/a"));
  EXPECT_THAT(screen, HasSubstr("inferd resident memory 20.0 MiB"));
  EXPECT_THAT(screen, HasSubstr("GPU            none reported"));
  EXPECT_THAT(screen, HasSubstr(" * CPU utilization is low (30%)"));
  for (size_t start = 0, end; start < screen.size(); start = end + 1) {
    end = screen.find('\n', start);
    // Columns, not bytes: the sparkline's bars are 3 bytes each.
    EXPECT_LE(screen.substr(start, end - start).size(), 110u);
  }
}

TEST(ResponseBody, ContentLengthChunkedAndErrors) {
  EXPECT_EQ(*ResponseBody("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), "hello");
  EXPECT_EQ(*ResponseBody("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"),
            "hello");
  auto missing = ResponseBody("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("HTTP 404"));
  EXPECT_EQ(ResponseBody("garbage").status().code(), absl::StatusCode::kDataLoss);
}

TEST(HttpGet, ClosedPortIsUnavailableNamingTheAddress) {
  auto body = HttpGet("127.0.0.1", 1, "/metrics", std::chrono::milliseconds(1000));
  EXPECT_EQ(body.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(body.status().message()),
              AllOf(HasSubstr("127.0.0.1:1/metrics"), Not(HasSubstr("OK"))));
}

}  // namespace
}  // namespace inferd::top
