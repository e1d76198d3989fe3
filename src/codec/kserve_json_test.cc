// SPDX-License-Identifier: Apache-2.0
#include "codec/kserve_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

namespace inferd::codec {
namespace {

using ::testing::HasSubstr;

std::span<const std::byte> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

TEST(KserveJson, BinaryInputsAreViewsIntoTheBody) {
  const std::string body = std::string(8, '\x01');
  auto request = DecodeInferRequest(
      R"({"id":"r1","inputs":[{"name":"a","datatype":"FP32","shape":[2],
          "parameters":{"binary_data_size":8}}],"outputs":[{"name":"o","parameters":{"binary_data":true}}]})",
      Bytes(body), nullptr);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->id, "r1");
  ASSERT_EQ(request->inputs.size(), 1u);
  EXPECT_EQ(request->inputs[0].data, Bytes(body).data());
  EXPECT_EQ(request->inputs[0].byte_size, 8u);
  EXPECT_TRUE(BinarySelectionOf(*request).IsBinary("o"));
  EXPECT_FALSE(BinarySelectionOf(*request).IsBinary("p"));
}

TEST(KserveJson, BinaryDataSizePastTheBodyIsAnError) {
  const std::string body(4, '\0');
  auto request = DecodeInferRequest(
      R"({"inputs":[{"name":"a","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}]})",
      Bytes(body), nullptr);
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(request.status().message()),
              HasSubstr("binary_data_size 8, but only 4 bytes"));
}

TEST(KserveJson, MalformedAndNonObjectJsonAreErrors) {
  auto bad = DecodeInferRequest("{\"inputs\": [", {}, nullptr);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("failed to parse the request JSON"));
  auto array = DecodeInferRequest("[1]", {}, nullptr);
  EXPECT_THAT(std::string(array.status().message()), HasSubstr("must be a JSON object"));
}

TEST(KserveJson, ResponseRoundTripsThroughTheClientDecoder) {
  InferResponse response;
  response.model_name = "m";
  response.model_version = 3;
  response.id = "x";
  const float values[2] = {1.5f, -2.0f};
  InferOutput a;
  a.name = "A";
  a.datatype = DataType::kFp32;
  a.shape = {2};
  a.data = reinterpret_cast<const std::byte*>(values);
  a.byte_size = sizeof(values);
  InferOutput b = a;
  b.name = "B";
  response.outputs = {a, b};
  OutputBinarySelection selection;
  selection.per_output = {{"A", true}};
  auto encoded = EncodeInferResponse(response, selection);
  ASSERT_TRUE(encoded.ok());
  EXPECT_THAT(encoded->json, HasSubstr(R"("data":[1.5,-2.0])"));
  ASSERT_EQ(encoded->binary.size(), 1u);
  std::string binary(reinterpret_cast<const char*>(encoded->binary[0].data()),
                     encoded->binary[0].size());
  auto decoded = DecodeInferResponse(encoded->json, Bytes(binary), nullptr);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->model_version, 3);
  EXPECT_EQ(decoded->id, "x");
  ASSERT_EQ(decoded->outputs.size(), 2u);
  EXPECT_EQ(decoded->outputs[0].As<float>()[1], -2.0f);
  EXPECT_EQ(decoded->outputs[1].As<float>()[0], 1.5f);
}

TEST(KserveJson, StatisticsUseJsonNumbers) {
  ModelStatistics s;
  s.name = "m";
  s.version = "1";
  s.inference_count = 5;
  s.inference_stats.success = {5, 1000};
  s.batch_stats.push_back({1, {5, 10}, {5, 20}, {5, 30}});
  const std::string json = EncodeModelStatistics({s});
  EXPECT_THAT(json, HasSubstr(R"("inference_count":5)"));
  EXPECT_THAT(json, HasSubstr(R"("success":{"count":5,"ns":1000})"));
  auto decoded = DecodeModelStatistics(json);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ((*decoded)[0].batch_stats[0].compute_infer.ns, 20u);
}

}  // namespace
}  // namespace inferd::codec
