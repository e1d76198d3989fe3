// SPDX-License-Identifier: Apache-2.0
#include "scheduler/single_request_batch.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/test_util/fake_model_instance.h"

namespace inferd {
namespace {

using ::inferd::testing::FakeModelInstance;
using ::inferd::testing::MakeFp32Payload;
using ::inferd::testing::RecordingObserver;
using ::inferd::testing::WriteFp32Output;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::unique_ptr<InferPayload> Payload(std::vector<std::string> outputs) {
  return MakeFp32Payload({1, 2, 3}, std::move(outputs), nullptr);
}

// An allocator that counts calls and can fail.
class CountingAllocator : public OutputAllocator {
 public:
  absl::StatusOr<OutputBuffer> Allocate(std::string_view name, DataType, std::span<const int64_t>,
                                        size_t byte_size) override {
    ++calls;
    if (fail) return absl::ResourceExhaustedError(std::string("no room for ") + std::string(name));
    auto storage = std::make_shared<std::vector<std::byte>>(byte_size);
    return OutputBuffer{storage->data(), storage};
  }
  int calls = 0;
  bool fail = false;
};

TEST(SingleRequestBatchTest, ExposesPayloadInputsAndBatchSize) {
  auto payload = Payload({"OUT"});
  payload->batch_size = 3;
  SingleRequestBatch batch(*payload, "m");
  EXPECT_EQ(batch.batch_size(), 3);
  ASSERT_EQ(batch.inputs().size(), 1u);
  EXPECT_EQ(batch.inputs()[0].name, "INPUT0");
  EXPECT_EQ(batch.inputs()[0].data, payload->request.inputs[0].data);  // No copy.
  EXPECT_THAT(batch.inputs()[0].As<float>(), ElementsAre(1, 2, 3));
  EXPECT_TRUE(batch.OutputRequested("OUT"));
  EXPECT_FALSE(batch.OutputRequested("OTHER"));
}

TEST(SingleRequestBatchTest, OutputsFollowRequestedOrder) {
  auto payload = Payload({"B", "A"});
  SingleRequestBatch batch(*payload, "m");
  ASSERT_TRUE(WriteFp32Output(batch, "A", {1, 2}).ok());
  ASSERT_TRUE(WriteFp32Output(batch, "B", {3}).ok());
  ASSERT_TRUE(batch.FinishOutputs().ok());
  const auto& outputs = payload->response.outputs;
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].name, "B");
  EXPECT_THAT(outputs[0].As<float>(), ElementsAre(3));
  EXPECT_EQ(outputs[0].shape, Shape({1}));
  EXPECT_EQ(outputs[1].name, "A");
  EXPECT_EQ(outputs[1].datatype, DataType::kFp32);
  EXPECT_THAT(outputs[1].As<float>(), ElementsAre(1, 2));
  EXPECT_NE(outputs[1].owner, nullptr);
}

TEST(SingleRequestBatchTest, UnrequestedOutputIsRefused) {
  auto payload = Payload({"A"});
  SingleRequestBatch batch(*payload, "m");
  absl::Status status = WriteFp32Output(batch, "Z", {1});
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("'Z'"));
}

TEST(SingleRequestBatchTest, DuplicateOutputIsRefused) {
  auto payload = Payload({"A"});
  SingleRequestBatch batch(*payload, "m");
  ASSERT_TRUE(WriteFp32Output(batch, "A", {1}).ok());
  absl::Status status = WriteFp32Output(batch, "A", {1});
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("'A'"));
  EXPECT_THAT(status.message(), HasSubstr("twice"));
}

TEST(SingleRequestBatchTest, MisSizedOutputIsRefused) {
  auto payload = Payload({"A"});
  SingleRequestBatch batch(*payload, "mymodel");
  const std::vector<int64_t> shape = {2, 3};
  absl::StatusOr<std::byte*> out = batch.AllocateOutput("A", DataType::kFp32, shape, 20);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(out.status().message(), HasSubstr("'mymodel'"));
  EXPECT_THAT(out.status().message(), HasSubstr("'A'"));
  // The refused attempt does not count as produced; the right size still works.
  EXPECT_TRUE(batch.AllocateOutput("A", DataType::kFp32, shape, 24).ok());
}

TEST(SingleRequestBatchTest, NegativeDimensionIsRefused) {
  auto payload = Payload({"A"});
  SingleRequestBatch batch(*payload, "m");
  const std::vector<int64_t> shape = {-1};
  EXPECT_EQ(batch.AllocateOutput("A", DataType::kInt32, shape, 4).status().code(),
            absl::StatusCode::kInternal);
}

TEST(SingleRequestBatchTest, BytesOutputTakesAnySize) {
  auto payload = Payload({"S"});
  SingleRequestBatch batch(*payload, "m");
  const std::vector<int64_t> shape = {2};
  EXPECT_TRUE(batch.AllocateOutput("S", DataType::kBytes, shape, 13).ok());
  ASSERT_TRUE(batch.FinishOutputs().ok());
  EXPECT_EQ(payload->response.outputs[0].byte_size, 13u);
}

TEST(SingleRequestBatchTest, UsesPayloadAllocatorAndItsErrors) {
  auto payload = Payload({"A"});
  auto allocator = std::make_shared<CountingAllocator>();
  payload->allocator = allocator;
  {
    SingleRequestBatch batch(*payload, "m");
    ASSERT_TRUE(WriteFp32Output(batch, "A", {1}).ok());
    EXPECT_EQ(allocator->calls, 1);
  }
  allocator->fail = true;
  SingleRequestBatch batch(*payload, "m");
  absl::Status status = WriteFp32Output(batch, "A", {1});
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
}

TEST(SingleRequestBatchTest, MissingOutputFailsFinish) {
  auto payload = Payload({"A", "B"});
  SingleRequestBatch batch(*payload, "m");
  ASSERT_TRUE(WriteFp32Output(batch, "A", {1}).ok());
  absl::Status status = batch.FinishOutputs();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("model 'm' did not produce output 'B'"));
  EXPECT_TRUE(payload->response.outputs.empty());
}

// A clock that advances 10 ns on every reading.
class SteppingClock : public Clock {
 public:
  int64_t NowNanos() const override { return now_ += 10; }

 private:
  mutable int64_t now_ = 0;
};

TEST(ExecuteSingleRequestTest, StampsTimesAndReportsOneRecord) {
  auto payload = Payload({"A"});
  SteppingClock clock;
  RecordingObserver observer;
  FakeModelInstance instance(
      [](ExecutionBatch& batch) { return WriteFp32Output(batch, "A", {7}); });
  ASSERT_TRUE(ExecuteSingleRequest(instance, *payload, "m", clock, &observer).ok());
  EXPECT_GT(payload->compute_start_ns, 0);
  EXPECT_GT(payload->compute_end_ns, payload->compute_start_ns);
  auto records = observer.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].ok);
  EXPECT_EQ(records[0].batch_size, 1);
  EXPECT_GE(records[0].compute_input_ns, 0);
  EXPECT_GT(records[0].compute_infer_ns, 0);
  EXPECT_GT(records[0].compute_output_ns, 0);
  EXPECT_THAT(payload->response.outputs[0].As<float>(), ElementsAre(7));
}

TEST(ExecuteSingleRequestTest, AnExceptionFromTheBackendFailsOnlyThisRequest) {
  RecordingObserver observer;
  FakeModelInstance instance([](ExecutionBatch& batch) -> absl::Status {
    if (batch.inputs()[0].As<float>()[0] < 0) throw std::length_error("vector::reserve");
    return WriteFp32Output(batch, "A", {7});
  });
  auto bad = MakeFp32Payload({-1}, {"A"}, nullptr);
  absl::Status status = ExecuteSingleRequest(instance, *bad, "m", *Clock::Real(), &observer);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("internal error while running the model's backend: vector::reserve"));
  auto good = Payload({"A"});
  EXPECT_TRUE(ExecuteSingleRequest(instance, *good, "m", *Clock::Real(), &observer).ok());
  EXPECT_THAT(good->response.outputs[0].As<float>(), ElementsAre(7));
}

TEST(ExecuteSingleRequestTest, ExecuteErrorIsReturnedAndRecorded) {
  auto payload = Payload({"A"});
  RecordingObserver observer;
  FakeModelInstance instance([](ExecutionBatch&) { return absl::DataLossError("boom"); });
  absl::Status status = ExecuteSingleRequest(instance, *payload, "m", *Clock::Real(), &observer);
  EXPECT_EQ(status, absl::DataLossError("boom"));
  ASSERT_EQ(observer.records().size(), 1u);
  EXPECT_FALSE(observer.records()[0].ok);
  EXPECT_TRUE(payload->response.outputs.empty());
}

}  // namespace
}  // namespace inferd
