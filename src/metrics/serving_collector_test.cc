// SPDX-License-Identifier: Apache-2.0
#include "metrics/serving_collector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "metrics/test_util/exposition.h"
#include "server/inference_server.h"
#include "server/model_stats.h"

namespace inferd::metrics {
namespace {

using testing::ExpositionText;
using ::testing::HasSubstr;

// A known sequence of requests through the statistics recorder the server keeps per model.
std::vector<ModelStatistics> KnownSequence() {
  ModelStatsRecorder recorder;
  // Three successes: 80 us and 300 us alone, 7 ms in a batch of 4.
  recorder.OnExecution({.batch_size = 1,
                        .compute_input_ns = 1'000,
                        .compute_infer_ns = 50'000,
                        .compute_output_ns = 2'000});
  recorder.RecordSuccess(1, 80'000, 10'000, 1'000, 50'000, 2'000);
  recorder.OnExecution({.batch_size = 1,
                        .compute_input_ns = 2'000,
                        .compute_infer_ns = 150'000,
                        .compute_output_ns = 3'000});
  recorder.RecordSuccess(1, 300'000, 100'000, 2'000, 150'000, 3'000);
  recorder.OnExecution({.batch_size = 4,
                        .compute_input_ns = 10'000,
                        .compute_infer_ns = 5'000'000,
                        .compute_output_ns = 20'000});
  recorder.RecordSuccess(4, 7'000'000, 1'000'000, 10'000, 5'000'000, 20'000);
  // Four failures: two rejected by the queue, one by the backend, one invalid request.
  recorder.RecordFailure(5'000, ClassifyFailure(absl::ResourceExhaustedError("queue full"), false));
  recorder.RecordFailure(5'000, ClassifyFailure(absl::UnavailableError("stopping"), false));
  recorder.OnExecution({.batch_size = 1, .ok = false});
  recorder.RecordFailure(9'000, ClassifyFailure(absl::InternalError("backend"), true));
  recorder.RecordFailure(1'000, ClassifyFailure(absl::InvalidArgumentError("shape"), false));
  ModelStatistics stats = recorder.Snapshot();
  stats.name = "identity";
  stats.version = "1";
  stats.pending_request_count = 2;
  return {stats};
}

TEST(ServingCollector, KnownRequestsGiveExactlyTheExpectedText) {
  ServingCollector collector(KnownSequence);
  EXPECT_EQ(
      ExpositionText(collector),
      R"(# HELP nv_inference_request_success Number of successful inference requests, all batch sizes
# TYPE nv_inference_request_success counter
nv_inference_request_success{model="identity",version="1"} 3
# HELP nv_inference_request_failure Number of failed inference requests, all batch sizes
# TYPE nv_inference_request_failure counter
nv_inference_request_failure{model="identity",version="1",reason="REJECTED"} 2
nv_inference_request_failure{model="identity",version="1",reason="CANCELED"} 0
nv_inference_request_failure{model="identity",version="1",reason="BACKEND"} 1
nv_inference_request_failure{model="identity",version="1",reason="OTHER"} 1
# HELP nv_inference_count Number of inferences performed (does not include cached requests)
# TYPE nv_inference_count counter
nv_inference_count{model="identity",version="1"} 6
# HELP nv_inference_exec_count Number of model executions performed (does not include cached requests)
# TYPE nv_inference_exec_count counter
nv_inference_exec_count{model="identity",version="1"} 3
# HELP nv_inference_request_duration_us Cumulative inference request duration in microseconds (includes cached requests)
# TYPE nv_inference_request_duration_us counter
nv_inference_request_duration_us{model="identity",version="1"} 7380
# HELP nv_inference_queue_duration_us Cumulative inference queuing duration in microseconds (includes cached requests)
# TYPE nv_inference_queue_duration_us counter
nv_inference_queue_duration_us{model="identity",version="1"} 1110
# HELP nv_inference_compute_input_duration_us Cumulative compute input duration in microseconds (does not include cached requests)
# TYPE nv_inference_compute_input_duration_us counter
nv_inference_compute_input_duration_us{model="identity",version="1"} 13
# HELP nv_inference_compute_infer_duration_us Cumulative compute inference duration in microseconds (does not include cached requests)
# TYPE nv_inference_compute_infer_duration_us counter
nv_inference_compute_infer_duration_us{model="identity",version="1"} 5200
# HELP nv_inference_compute_output_duration_us Cumulative inference compute output duration in microseconds (does not include cached requests)
# TYPE nv_inference_compute_output_duration_us counter
nv_inference_compute_output_duration_us{model="identity",version="1"} 25
# HELP nv_inference_pending_request_count Instantaneous number of pending requests awaiting execution per-model.
# TYPE nv_inference_pending_request_count gauge
nv_inference_pending_request_count{model="identity",version="1"} 2
# HELP nv_inference_request_latency_us Latency of successful inference requests in microseconds, from arrival to response
# TYPE nv_inference_request_latency_us histogram
nv_inference_request_latency_us_count{model="identity",version="1"} 3
nv_inference_request_latency_us_sum{model="identity",version="1"} 7380
nv_inference_request_latency_us_bucket{model="identity",version="1",le="50"} 0
nv_inference_request_latency_us_bucket{model="identity",version="1",le="100"} 1
nv_inference_request_latency_us_bucket{model="identity",version="1",le="250"} 1
nv_inference_request_latency_us_bucket{model="identity",version="1",le="500"} 2
nv_inference_request_latency_us_bucket{model="identity",version="1",le="1000"} 2
nv_inference_request_latency_us_bucket{model="identity",version="1",le="2500"} 2
nv_inference_request_latency_us_bucket{model="identity",version="1",le="5000"} 2
nv_inference_request_latency_us_bucket{model="identity",version="1",le="10000"} 3
nv_inference_request_latency_us_bucket{model="identity",version="1",le="25000"} 3
nv_inference_request_latency_us_bucket{model="identity",version="1",le="50000"} 3
nv_inference_request_latency_us_bucket{model="identity",version="1",le="100000"} 3
nv_inference_request_latency_us_bucket{model="identity",version="1",le="250000"} 3
nv_inference_request_latency_us_bucket{model="identity",version="1",le="500000"} 3
nv_inference_request_latency_us_bucket{model="identity",version="1",le="1000000"} 3
nv_inference_request_latency_us_bucket{model="identity",version="1",le="2500000"} 3
nv_inference_request_latency_us_bucket{model="identity",version="1",le="5000000"} 3
nv_inference_request_latency_us_bucket{model="identity",version="1",le="+Inf"} 3
# HELP nv_inference_batch_size Batch sizes of the model executions that ran
# TYPE nv_inference_batch_size histogram
nv_inference_batch_size_count{model="identity",version="1"} 3
nv_inference_batch_size_sum{model="identity",version="1"} 6
nv_inference_batch_size_bucket{model="identity",version="1",le="1"} 2
nv_inference_batch_size_bucket{model="identity",version="1",le="2"} 2
nv_inference_batch_size_bucket{model="identity",version="1",le="4"} 3
nv_inference_batch_size_bucket{model="identity",version="1",le="8"} 3
nv_inference_batch_size_bucket{model="identity",version="1",le="16"} 3
nv_inference_batch_size_bucket{model="identity",version="1",le="32"} 3
nv_inference_batch_size_bucket{model="identity",version="1",le="64"} 3
nv_inference_batch_size_bucket{model="identity",version="1",le="128"} 3
nv_inference_batch_size_bucket{model="identity",version="1",le="256"} 3
nv_inference_batch_size_bucket{model="identity",version="1",le="512"} 3
nv_inference_batch_size_bucket{model="identity",version="1",le="1024"} 3
nv_inference_batch_size_bucket{model="identity",version="1",le="+Inf"} 3
)");
}

TEST(ServingCollector, NoLoadedModelsExposeNoServingMetrics) {
  ServingCollector collector([] { return std::vector<ModelStatistics>{}; });
  EXPECT_EQ(ExpositionText(collector), "");
}

TEST(ClassifyFailure, MapsStatusesToTritonReasons) {
  EXPECT_EQ(ClassifyFailure(absl::CancelledError("x"), false), FailureReason::kCanceled);
  EXPECT_EQ(ClassifyFailure(absl::CancelledError("x"), true), FailureReason::kCanceled);
  EXPECT_EQ(ClassifyFailure(absl::ResourceExhaustedError("x"), false), FailureReason::kRejected);
  EXPECT_EQ(ClassifyFailure(absl::DeadlineExceededError("x"), false), FailureReason::kRejected);
  EXPECT_EQ(ClassifyFailure(absl::InternalError("x"), true), FailureReason::kBackend);
  EXPECT_EQ(ClassifyFailure(absl::InvalidArgumentError("x"), false), FailureReason::kOther);
}

// The real server with the builtin plugin: N requests of which K are invalid.
TEST(ServingCollector, CountsSuccessesAndFailuresOfARealServer) {
  ServerOptions options;
  options.model_repository = INFERD_EXAMPLE_REPOSITORY;
  options.backend_directory = INFERD_TEST_BACKEND_DIR;
  options.control_mode = ModelControlMode::kExplicit;
  options.startup_models = {"identity", "add_sub"};
  auto server = InferenceServer::Create(options);
  ASSERT_TRUE(server.ok()) << server.status();
  constexpr int kRequests = 10;
  constexpr int kFailures = 3;
  for (int i = 0; i < kRequests; ++i) {
    InferRequest request;
    request.model_name = "identity";
    std::vector<float> values = {1.f, 2.f, 3.f};
    // A failing request names an input the model does not have.
    request.inputs.push_back(InferInput::Copy<float>(
        i < kFailures ? "NOPE" : "INPUT0", DataType::kFp32, {3}, std::span<const float>(values)));
    std::promise<absl::Status> done;
    (*server)->Infer(std::move(request), [&done](absl::StatusOr<InferResponse> response) {
      done.set_value(response.status());
    });
    EXPECT_EQ(done.get_future().get().ok(), i >= kFailures);
  }
  ServingCollector collector([&] { return *(*server)->Statistics("", 0); });
  const std::string text = ExpositionText(collector);
  EXPECT_THAT(text,
              HasSubstr("nv_inference_request_success{model=\"identity\",version=\"1\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_request_failure{model=\"identity\",version=\"1\","
                              "reason=\"OTHER\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_exec_count{model=\"identity\",version=\"1\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_request_latency_us_count{model=\"identity\","
                              "version=\"1\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_pending_request_count{model=\"add_sub\",version=\"1\"} "
                              "0\n"));
}

}  // namespace
}  // namespace inferd::metrics
