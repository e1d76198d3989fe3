// SPDX-License-Identifier: Apache-2.0
// One test per kind of bad request: each asserts the code and the words of the message.
#include "server/request_validation.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

namespace inferd {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

inference::ModelConfig Config(const std::string& text) {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config));
  return config;
}

// Triton's `simple`: batching, INT32 [16] x2.
inference::ModelConfig AddSub() {
  return Config(R"pb(
    name: "add_sub" backend: "builtin" max_batch_size: 8
    input { name: "INPUT0" data_type: TYPE_INT32 dims: 16 }
    input { name: "INPUT1" data_type: TYPE_INT32 dims: 16 }
    output { name: "OUTPUT0" data_type: TYPE_INT32 dims: 16 }
    output { name: "OUTPUT1" data_type: TYPE_INT32 dims: 16 }
  )pb");
}

InferInput Int32(const std::string& name, Shape shape, size_t count) {
  std::vector<int32_t> values(count, 1);
  return InferInput::Copy<int32_t>(name, DataType::kInt32, std::move(shape), values);
}

InferPayload Payload(std::vector<InferInput> inputs) {
  InferPayload p;
  p.request.model_name = "add_sub";
  p.request.inputs = std::move(inputs);
  return p;
}

absl::Status Validate(const inference::ModelConfig& config, InferPayload& payload) {
  return ValidateAndPrepare(config, payload);
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(RequestValidation, AcceptsAWellFormedBatchedRequest) {
  InferPayload p = Payload({Int32("INPUT1", {2, 16}, 32), Int32("INPUT0", {2, 16}, 32)});
  ASSERT_TRUE(Validate(AddSub(), p).ok());
  ASSERT_EQ(p.inputs.size(), 2u);
  EXPECT_EQ(p.inputs[0].name, "INPUT0");  // Config order.
  EXPECT_EQ(p.inputs[1].name, "INPUT1");
  EXPECT_EQ(p.batch_size, 2);
  EXPECT_THAT(p.requested_outputs, ::testing::ElementsAre("OUTPUT0", "OUTPUT1"));
}

TEST(RequestValidation, UnknownInput) {
  InferPayload p = Payload(
      {Int32("INPUT0", {1, 16}, 16), Int32("INPUT1", {1, 16}, 16), Int32("EXTRA", {1, 16}, 16)});
  absl::Status s = Validate(AddSub(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), AllOf(HasSubstr("unexpected inference input 'EXTRA'"),
                                HasSubstr("model 'add_sub'")));
}

TEST(RequestValidation, MissingInput) {
  InferPayload p = Payload({Int32("INPUT0", {1, 16}, 16)});
  absl::Status s = Validate(AddSub(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), AllOf(HasSubstr("expected 2 inputs but got 1"),
                                HasSubstr("missing input 'INPUT1'")));
}

TEST(RequestValidation, DuplicateInput) {
  InferPayload p = Payload({Int32("INPUT0", {1, 16}, 16), Int32("INPUT0", {1, 16}, 16)});
  absl::Status s = Validate(AddSub(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("'INPUT0' appears more than once"));
}

TEST(RequestValidation, WrongDatatype) {
  std::vector<float> values(16, 1.0f);
  InferPayload p = Payload({InferInput::Copy<float>("INPUT0", DataType::kFp32, {1, 16}, values),
                            Int32("INPUT1", {1, 16}, 16)});
  absl::Status s = Validate(AddSub(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), AllOf(HasSubstr("'INPUT0' data-type is 'FP32'"),
                                HasSubstr("expects 'INT32'")));
}

TEST(RequestValidation, ShapeThatDoesNotMatchDims) {
  InferPayload p = Payload({Int32("INPUT0", {1, 15}, 15), Int32("INPUT1", {1, 16}, 16)});
  absl::Status s = Validate(AddSub(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), AllOf(HasSubstr("unexpected shape for input 'INPUT0'"),
                                HasSubstr("Expected [-1,16], got [1,15]")));
}

TEST(RequestValidation, MissingBatchDimension) {
  InferPayload p = Payload({Int32("INPUT0", {16}, 16), Int32("INPUT1", {16}, 16)});
  absl::Status s = Validate(AddSub(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("Expected [-1,16], got [16]"));
}

TEST(RequestValidation, BatchLargerThanMax) {
  InferPayload p = Payload({Int32("INPUT0", {9, 16}, 144), Int32("INPUT1", {9, 16}, 144)});
  absl::Status s = Validate(AddSub(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("batch-size must be <= 8"));
}

TEST(RequestValidation, InputsWithDifferentBatchSizes) {
  InferPayload p = Payload({Int32("INPUT0", {2, 16}, 32), Int32("INPUT1", {1, 16}, 16)});
  absl::Status s = Validate(AddSub(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("must share one batch size"));
}

TEST(RequestValidation, ByteSizeThatDoesNotMatchShape) {
  InferPayload p = Payload({Int32("INPUT0", {1, 16}, 15), Int32("INPUT1", {1, 16}, 16)});
  absl::Status s = Validate(AddSub(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), AllOf(HasSubstr("input byte size mismatch for input 'INPUT0'"),
                                HasSubstr("Expected 64, got 60")));
}

TEST(RequestValidation, NegativeDimension) {
  InferPayload p = Payload({Int32("INPUT0", {1, -16}, 16), Int32("INPUT1", {1, 16}, 16)});
  absl::Status s = Validate(AddSub(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("negative dimension"));
}

TEST(RequestValidation, UnknownRequestedOutput) {
  InferPayload p = Payload({Int32("INPUT0", {1, 16}, 16), Int32("INPUT1", {1, 16}, 16)});
  p.request.outputs.push_back({"OUTPUT9", {}});
  absl::Status s = Validate(AddSub(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("unexpected inference output 'OUTPUT9'"));
}

TEST(RequestValidation, RepeatedRequestedOutput) {
  InferPayload p = Payload({Int32("INPUT0", {1, 16}, 16), Int32("INPUT1", {1, 16}, 16)});
  p.request.outputs = {{"OUTPUT1", {}}, {"OUTPUT1", {}}};
  absl::Status s = Validate(AddSub(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("'OUTPUT1' is requested more than once"));
}

TEST(RequestValidation, RequestedOutputsKeepTheirOrder) {
  InferPayload p = Payload({Int32("INPUT0", {1, 16}, 16), Int32("INPUT1", {1, 16}, 16)});
  p.request.outputs = {{"OUTPUT1", {}}};
  ASSERT_TRUE(Validate(AddSub(), p).ok());
  EXPECT_THAT(p.requested_outputs, ::testing::ElementsAre("OUTPUT1"));
}

TEST(RequestValidation, NonIntegerPriority) {
  InferPayload p = Payload({Int32("INPUT0", {1, 16}, 16), Int32("INPUT1", {1, 16}, 16)});
  p.request.parameters["priority"] = std::string("high");
  absl::Status s = Validate(AddSub(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("'priority' must be an integer"));
}

TEST(RequestValidation, PriorityAndTimeoutReachThePayload) {
  InferPayload p = Payload({Int32("INPUT0", {1, 16}, 16), Int32("INPUT1", {1, 16}, 16)});
  p.request.parameters["priority"] = int64_t{2};
  p.request.parameters["timeout"] = int64_t{1500};
  ASSERT_TRUE(Validate(AddSub(), p).ok());
  EXPECT_EQ(p.priority, 2);
  EXPECT_EQ(p.timeout_micros, 1500);
}

inference::ModelConfig Strings() {
  return Config(R"pb(
    name: "strings" backend: "builtin" max_batch_size: 0
    input { name: "INPUT0" data_type: TYPE_STRING dims: -1 }
    output { name: "OUTPUT0" data_type: TYPE_STRING dims: -1 }
  )pb");
}

TEST(RequestValidation, BytesInputWithWrongElementCount) {
  const std::vector<std::string> elements = {"a", "bc"};
  InferPayload p;
  p.request.inputs.push_back(
      InferInput::FromBytes("INPUT0", DataType::kBytes, {3}, SerializeBytesTensor(elements)));
  absl::Status s = Validate(Strings(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), AllOf(HasSubstr("input 'INPUT0' for model 'strings'"),
                                HasSubstr("2 elements but its shape needs 3")));
}

TEST(RequestValidation, BytesInputWithTruncatedElement) {
  std::string wire = SerializeBytesTensor(std::vector<std::string>{"hello"});
  wire.pop_back();
  InferPayload p;
  p.request.inputs.push_back(InferInput::FromBytes("INPUT0", DataType::kBytes, {1}, wire));
  absl::Status s = Validate(Strings(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("declares 5 bytes"));
}

TEST(RequestValidation, ReshapeGivesTheBackendItsShape) {
  inference::ModelConfig config = Config(R"pb(
    name: "flat" backend: "builtin" max_batch_size: 4
    input { name: "INPUT0" data_type: TYPE_INT32 dims: [ 2, 8 ] reshape { shape: [ 16 ] } }
    output { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] }
  )pb");
  InferPayload p;
  p.request.inputs.push_back(Int32("INPUT0", {3, 2, 8}, 48));
  ASSERT_TRUE(Validate(config, p).ok());
  EXPECT_EQ(ShapeToString(p.inputs[0].shape), "[3,16]");
}

TEST(RequestValidation, ClassificationParameterIsCheckedAndRecorded) {
  InferPayload p = Payload({Int32("INPUT0", {1, 16}, 16), Int32("INPUT1", {1, 16}, 16)});
  p.request.outputs.push_back({"OUTPUT0", {{"classification", int64_t{3}}}});
  p.request.outputs.push_back({"OUTPUT1", {{"classification", int64_t{0}}}});
  ASSERT_TRUE(Validate(AddSub(), p).ok());
  ASSERT_EQ(p.classifications.size(), 1u);  // 0 means no classification.
  EXPECT_EQ(p.classifications[0].first, "OUTPUT0");
  EXPECT_EQ(p.classifications[0].second, 3);

  p.request.outputs = {{"OUTPUT0", {{"classification", std::string("three")}}}};
  absl::Status s = Validate(AddSub(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), AllOf(HasSubstr("'OUTPUT0'"), HasSubstr("'add_sub'"),
                                HasSubstr("'classification' must be a non-negative integer")));

  p.request.outputs = {{"OUTPUT0",
                        {{"classification", int64_t{1}},
                         {"shared_memory_region", std::string("r")},
                         {"shared_memory_byte_size", int64_t{64}}}}};
  s = Validate(AddSub(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("can't set both 'shared_memory_region' and 'classification'"));
}

TEST(RequestValidation, ClassificationOfBoolOrBytesOutputIsRefused) {
  InferPayload p;
  p.request.inputs.push_back(InferInput::FromBytes(
      "INPUT0", DataType::kBytes, {1}, SerializeBytesTensor(std::vector<std::string>{"x"})));
  p.request.outputs.push_back({"OUTPUT0", {{"classification", int64_t{1}}}});
  absl::Status s = Validate(Strings(), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), AllOf(HasSubstr("class result not available for output 'OUTPUT0'"),
                                HasSubstr("unsupported type 'BYTES'")));
}

}  // namespace
}  // namespace inferd
