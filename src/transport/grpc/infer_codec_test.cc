// SPDX-License-Identifier: Apache-2.0
#include "transport/grpc/infer_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

namespace inferd::grpc_transport {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

inference::ModelInferRequest RawRequest() {
  inference::ModelInferRequest m;
  m.set_model_name("identity");
  auto* in = m.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("FP32");
  in->add_shape(2);
  const float values[2] = {1.5f, -2.0f};
  m.add_raw_input_contents(std::string(reinterpret_cast<const char*>(values), sizeof(values)));
  return m;
}

TEST(InferCodec, RawInputsAreViewsIntoTheMessage) {
  const inference::ModelInferRequest m = RawRequest();
  auto decoded = DecodeInferRequest(m);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->request.inputs.size(), 1u);
  const InferInput& in = decoded->request.inputs[0];
  EXPECT_EQ(in.data, reinterpret_cast<const std::byte*>(m.raw_input_contents(0).data()));
  EXPECT_EQ(in.byte_size, 8u);
  EXPECT_EQ(in.datatype, DataType::kFp32);
  EXPECT_FALSE(decoded->typed_contents);
}

TEST(InferCodec, TypedContentsArePackedLittleEndian) {
  inference::ModelInferRequest m;
  m.set_model_name("m");
  auto* in = m.add_inputs();
  in->set_name("X");
  in->set_datatype("INT16");
  in->add_shape(3);
  for (int v : {1, -2, 300}) in->mutable_contents()->add_int_contents(v);
  auto decoded = DecodeInferRequest(m);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->typed_contents);
  std::span<const int16_t> values{reinterpret_cast<const int16_t*>(decoded->request.inputs[0].data),
                                  3};
  EXPECT_THAT(values, ElementsAre(1, -2, 300));
}

TEST(InferCodec, TypedValueOutOfRangeIsRejected) {
  inference::ModelInferRequest m;
  m.set_model_name("m");
  auto* in = m.add_inputs();
  in->set_name("X");
  in->set_datatype("UINT8");
  in->add_shape(1);
  in->mutable_contents()->add_uint_contents(256);
  auto decoded = DecodeInferRequest(m);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(decoded.status().message()),
              AllOf(HasSubstr("'X'"), HasSubstr("256"), HasSubstr("UINT8")));
}

TEST(InferCodec, BadModelVersionNamesTheField) {
  inference::ModelInferRequest m = RawRequest();
  m.set_model_version("latest");
  auto decoded = DecodeInferRequest(m);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(decoded.status().message()),
              AllOf(HasSubstr("model_version"), HasSubstr("latest")));
}

TEST(InferCodec, Uint64ParameterTooLargeIsRejected) {
  inference::ModelInferRequest m = RawRequest();
  (*m.mutable_parameters())["big"].set_uint64_param(~uint64_t{0});
  auto decoded = DecodeInferRequest(m);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("'big'"));
}

TEST(InferCodec, ResponsePutsAllocatedBytesInOutputOrderWithoutCopying) {
  inference::ModelInferResponse message;
  ResponseOutputAllocator allocator(&message);
  // 64 bytes: heap buffers, whose address a move keeps; 4 bytes: kept inline in the string.
  auto a = allocator.Allocate("A", DataType::kInt32, {}, 64);
  auto b = allocator.Allocate("B", DataType::kInt32, {}, 64);
  auto c = allocator.Allocate("C", DataType::kInt32, {}, 4);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  std::memset(a->data, 'a', 64);
  std::memset(b->data, 'b', 64);
  std::memset(c->data, 'c', 4);
  const void* b_buffer = b->data;
  InferResponse response;
  response.model_name = "m";
  response.model_version = 3;
  response.id = "r1";
  for (auto [name, data, size] :
       {std::tuple{"C", c->data, 4}, std::tuple{"B", b->data, 64}, std::tuple{"A", a->data, 64}}) {
    InferOutput out;
    out.name = name;
    out.datatype = DataType::kInt32;
    out.shape = {size / 4};
    out.data = data;
    out.byte_size = static_cast<size_t>(size);
    response.outputs.push_back(out);
  }
  ASSERT_TRUE(EncodeInferResponse(std::move(response), false, message).ok());
  EXPECT_EQ(message.model_version(), "3");
  EXPECT_EQ(message.id(), "r1");
  ASSERT_EQ(message.raw_output_contents_size(), 3);
  EXPECT_EQ(message.outputs(0).name(), "C");
  EXPECT_EQ(message.raw_output_contents(0), "cccc");
  EXPECT_EQ(message.raw_output_contents(1), std::string(64, 'b'));
  EXPECT_EQ(message.raw_output_contents(2), std::string(64, 'a'));
  EXPECT_EQ(static_cast<const void*>(message.raw_output_contents(1).data()), b_buffer);
}

TEST(InferCodec, TypedResponseForTypedRequest) {
  inference::ModelInferResponse message;
  std::string bytes = SerializeBytesTensor(std::vector<std::string>{"ab", ""});
  InferResponse response;
  InferOutput out;
  out.name = "S";
  out.datatype = DataType::kBytes;
  out.shape = {2};
  out.data = reinterpret_cast<const std::byte*>(bytes.data());
  out.byte_size = bytes.size();
  response.outputs.push_back(out);
  ASSERT_TRUE(EncodeInferResponse(std::move(response), true, message).ok());
  EXPECT_EQ(message.raw_output_contents_size(), 0);
  EXPECT_THAT(message.outputs(0).contents().bytes_contents(), ElementsAre("ab", ""));
}

}  // namespace
}  // namespace inferd::grpc_transport
