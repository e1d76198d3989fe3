// SPDX-License-Identifier: Apache-2.0
#include "scheduler/gathered_batch.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/test_util/batch_payloads.h"
#include "scheduler/test_util/fake_model_instance.h"

namespace inferd {
namespace {

using ::inferd::testing::EchoBatch;
using ::inferd::testing::ExpectedRows;
using ::inferd::testing::FakeModelInstance;
using ::inferd::testing::MakeBatchPayload;
using ::inferd::testing::RecordingObserver;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<float> Floats(const InferOutput& out) {
  auto v = out.As<float>();
  return {v.begin(), v.end()};
}

// An allocator that hands out its own buffers (as a transport's shared memory would), or fails.
class OwnAllocator : public OutputAllocator {
 public:
  explicit OwnAllocator(bool fail = false) : fail_(fail) {}
  absl::StatusOr<OutputBuffer> Allocate(std::string_view name, DataType, std::span<const int64_t>,
                                        size_t byte_size) override {
    if (fail_) return absl::ResourceExhaustedError(fmt::format("no room for '{}'", name));
    auto storage = std::make_shared<std::vector<std::byte>>(byte_size);
    buffers.push_back(storage);
    return OutputBuffer{storage->data(), storage};
  }
  std::vector<std::shared_ptr<std::vector<std::byte>>> buffers;

 private:
  bool fail_;
};

class GatheredBatchTest : public ::testing::Test {
 protected:
  std::vector<absl::Status> Run(ModelInstance& instance) {
    std::vector<InferPayload*> raw;
    for (auto& p : payloads_) raw.push_back(p.get());
    return ExecuteGatheredBatch(instance, raw, "m", *Clock::Real(), &observer_, buffers_);
  }
  std::vector<std::unique_ptr<InferPayload>> payloads_;
  GatherBuffers buffers_;
  RecordingObserver observer_;
};

TEST_F(GatheredBatchTest, GathersRequestsAndHandsEachItsRows) {
  payloads_.push_back(MakeBatchPayload(10, 2, 3, nullptr));
  payloads_.push_back(MakeBatchPayload(20, 1, 3, nullptr));
  payloads_.push_back(MakeBatchPayload(30, 3, 3, nullptr));
  std::vector<float> seen;
  Shape seen_shape;
  FakeModelInstance instance([&](ExecutionBatch& batch) {
    EXPECT_EQ(batch.batch_size(), 6);
    seen_shape.assign(batch.inputs()[0].shape.begin(), batch.inputs()[0].shape.end());
    auto in = batch.inputs()[0].As<float>();
    seen.assign(in.begin(), in.end());
    return EchoBatch(batch);
  });
  std::vector<absl::Status> statuses = Run(instance);
  EXPECT_THAT(seen_shape, ElementsAre(6, 3));
  std::vector<float> all = ExpectedRows(10, 2, 3);
  for (float v : ExpectedRows(20, 1, 3)) all.push_back(v);
  for (float v : ExpectedRows(30, 3, 3)) all.push_back(v);
  EXPECT_EQ(seen, all);
  ASSERT_EQ(statuses.size(), 3u);
  const float keys[] = {10, 20, 30};
  const int batches[] = {2, 1, 3};
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(statuses[i].ok()) << statuses[i];
    ASSERT_EQ(payloads_[i]->response.outputs.size(), 1u);
    const InferOutput& out = payloads_[i]->response.outputs[0];
    EXPECT_EQ(out.name, "OUTPUT0");
    EXPECT_THAT(out.shape, ElementsAre(batches[i], 3));
    EXPECT_EQ(Floats(out), ExpectedRows(keys[i], batches[i], 3));
  }
  ASSERT_EQ(observer_.records().size(), 1u);
  EXPECT_EQ(observer_.records()[0].batch_size, 6);
  EXPECT_TRUE(observer_.records()[0].ok);
  EXPECT_EQ(payloads_[0]->compute_start_ns, payloads_[2]->compute_start_ns);
}

TEST_F(GatheredBatchTest, OwnAllocatorGetsACopyOfItsRows) {
  payloads_.push_back(MakeBatchPayload(10, 1, 2, nullptr));
  payloads_.push_back(MakeBatchPayload(20, 1, 2, nullptr));
  auto own = std::make_shared<OwnAllocator>();
  payloads_[1]->allocator = own;
  FakeModelInstance instance([](ExecutionBatch& batch) { return EchoBatch(batch); });
  std::vector<absl::Status> statuses = Run(instance);
  ASSERT_TRUE(statuses[1].ok());
  ASSERT_EQ(own->buffers.size(), 1u);
  EXPECT_EQ(payloads_[1]->response.outputs[0].data, own->buffers[0]->data());
  EXPECT_EQ(Floats(payloads_[1]->response.outputs[0]), ExpectedRows(20, 1, 2));
  EXPECT_EQ(Floats(payloads_[0]->response.outputs[0]), ExpectedRows(10, 1, 2));
}

TEST_F(GatheredBatchTest, FailingAllocatorFailsOnlyItsRequest) {
  payloads_.push_back(MakeBatchPayload(10, 1, 2, nullptr));
  payloads_.push_back(MakeBatchPayload(20, 1, 2, nullptr));
  payloads_[0]->allocator = std::make_shared<OwnAllocator>(/*fail=*/true);
  FakeModelInstance instance([](ExecutionBatch& batch) { return EchoBatch(batch); });
  std::vector<absl::Status> statuses = Run(instance);
  EXPECT_EQ(statuses[0].code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(statuses[0].message()), HasSubstr("no room for 'OUTPUT0'"));
  EXPECT_TRUE(statuses[1].ok());
  EXPECT_EQ(Floats(payloads_[1]->response.outputs[0]), ExpectedRows(20, 1, 2));
}

TEST_F(GatheredBatchTest, OutputWithoutTheBatchDimensionIsAnError) {
  payloads_.push_back(MakeBatchPayload(10, 1, 2, nullptr));
  payloads_.push_back(MakeBatchPayload(20, 1, 2, nullptr));
  FakeModelInstance instance([](ExecutionBatch& batch) {
    const std::vector<int64_t> shape = {3, 2};
    auto out = batch.AllocateOutput("OUTPUT0", DataType::kFp32, shape, 24);
    return out.status();
  });
  std::vector<absl::Status> statuses = Run(instance);
  for (const absl::Status& s : statuses) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
    EXPECT_THAT(std::string(s.message()),
                AllOf(HasSubstr("model 'm'"), HasSubstr("[3,2]"), HasSubstr("batch size 2")));
  }
}

TEST_F(GatheredBatchTest, MissingOutputFailsTheBatch) {
  payloads_.push_back(MakeBatchPayload(10, 1, 2, nullptr));
  payloads_.push_back(MakeBatchPayload(20, 1, 2, nullptr));
  FakeModelInstance instance([](ExecutionBatch&) { return absl::OkStatus(); });
  for (const absl::Status& s : Run(instance)) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
    EXPECT_THAT(std::string(s.message()), HasSubstr("did not produce output 'OUTPUT0'"));
  }
}

TEST_F(GatheredBatchTest, UnrequestedOutputIsRefused) {
  payloads_.push_back(MakeBatchPayload(10, 1, 2, nullptr));
  payloads_.push_back(MakeBatchPayload(20, 1, 2, nullptr));
  FakeModelInstance instance([](ExecutionBatch& batch) {
    EXPECT_FALSE(batch.OutputRequested("OTHER"));
    const std::vector<int64_t> shape = {2, 2};
    auto out = batch.AllocateOutput("OTHER", DataType::kFp32, shape, 16);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kNotFound);
    return EchoBatch(batch);
  });
  for (const absl::Status& s : Run(instance)) EXPECT_TRUE(s.ok()) << s;
}

TEST_F(GatheredBatchTest, BytesTensorsAreSplitByElement) {
  auto bytes_payload = [](std::vector<std::string> rows) {
    auto p = std::make_unique<InferPayload>();
    const auto n = static_cast<int64_t>(rows.size());
    p->request.inputs.push_back(
        InferInput::FromBytes("TEXT", DataType::kBytes, {n, 1}, SerializeBytesTensor(rows)));
    p->input_shapes.push_back(p->request.inputs[0].shape);
    const InferInput& in = p->request.inputs[0];
    p->inputs.push_back(TensorView{in.name, in.datatype, p->input_shapes[0], in.data, in.byte_size});
    p->batch_size = static_cast<int>(n);
    p->requested_outputs = {"TEXT_OUT"};
    return p;
  };
  payloads_.push_back(bytes_payload({"a", "bcd"}));
  payloads_.push_back(bytes_payload({""}));
  payloads_.push_back(bytes_payload({"efgh"}));
  FakeModelInstance instance([](ExecutionBatch& batch) {
    const TensorView& in = batch.inputs()[0];
    auto out = batch.AllocateOutput("TEXT_OUT", DataType::kBytes, in.shape, in.byte_size);
    if (!out.ok()) return out.status();
    std::memcpy(*out, in.data, in.byte_size);
    return absl::OkStatus();
  });
  std::vector<absl::Status> statuses = Run(instance);
  const std::vector<std::vector<std::string>> expected = {{"a", "bcd"}, {""}, {"efgh"}};
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i];
    const InferOutput& out = payloads_[i]->response.outputs[0];
    EXPECT_EQ(out.shape[0], static_cast<int64_t>(expected[i].size()));
    EXPECT_EQ(std::string(out.bytes()), SerializeBytesTensor(expected[i]));
  }
}

TEST_F(GatheredBatchTest, MalformedBytesOutputIsAnError) {
  payloads_.push_back(MakeBatchPayload(10, 1, 2, nullptr));
  payloads_.push_back(MakeBatchPayload(20, 1, 2, nullptr));
  for (auto& p : payloads_) p->requested_outputs = {"S"};
  FakeModelInstance instance([](ExecutionBatch& batch) {
    const std::vector<int64_t> shape = {2};
    auto out = batch.AllocateOutput("S", DataType::kBytes, shape, 6);
    if (!out.ok()) return out.status();
    const unsigned char bytes[6] = {9, 0, 0, 0, 'x', 'y'};  // Claims 9 bytes, has 2.
    std::memcpy(*out, bytes, sizeof(bytes));
    return absl::OkStatus();
  });
  for (const absl::Status& s : Run(instance)) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
    EXPECT_THAT(std::string(s.message()), AllOf(HasSubstr("output 'S'"), HasSubstr("BYTES")));
  }
}

}  // namespace
}  // namespace inferd
