// SPDX-License-Identifier: Apache-2.0
#include "codec/json_tensor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "inferd/tensor.h"

namespace inferd::codec {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<std::string> Decode(const char* json, DataType type, int64_t count) {
  rapidjson::Document doc;
  doc.Parse(json);
  return DecodeJsonTensorData(doc, type, count, "input 'x'");
}

std::string Encode(DataType type, const std::string& bytes) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  EXPECT_TRUE(WriteJsonTensorData(w, type, reinterpret_cast<const std::byte*>(bytes.data()),
                                  bytes.size(), "output 'y'")
                  .ok());
  return std::string(buffer.GetString(), buffer.GetSize());
}

TEST(JsonTensor, NestedAndFlatArraysDecodeToTheSameBytes) {
  auto nested = Decode("[[1,2],[3,4]]", DataType::kInt32, 4);
  auto flat = Decode("[1,2,3,4]", DataType::kInt32, 4);
  ASSERT_TRUE(nested.ok());
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(*nested, *flat);
  int32_t values[4];
  std::memcpy(values, nested->data(), sizeof(values));
  EXPECT_EQ(values[3], 4);
}

TEST(JsonTensor, IntegersAreAcceptedForFloatTensors) {
  auto bytes = Decode("[1, 2.5]", DataType::kFp32, 2);
  ASSERT_TRUE(bytes.ok());
  float values[2];
  std::memcpy(values, bytes->data(), sizeof(values));
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_EQ(values[1], 2.5f);
}

TEST(JsonTensor, OutOfRangeIntegerIsRejectedWithItsIndex) {
  auto bytes = Decode("[1, 300]", DataType::kUint8, 2);
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bytes.status().message()),
              HasSubstr("input 'x' data element 1 is not a valid UINT8 value"));
}

TEST(JsonTensor, CountMismatchSaysBothCounts) {
  auto bytes = Decode("[1,2,3]", DataType::kInt64, 4);
  EXPECT_THAT(std::string(bytes.status().message()), HasSubstr("has 3 data elements, but its shape needs 4"));
}

TEST(JsonTensor, AShapeFarLargerThanTheDataIsAnErrorNotAnAllocation) {
  for (DataType type : {DataType::kFp32, DataType::kFp64, DataType::kInt8}) {
    auto decoded = Decode("[1]", type, 1'000'000'000'000);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().message(),
              "input 'x' has 1 data elements, but its shape needs 1000000000000");
  }
}

TEST(JsonTensor, Fp16HasNoJsonForm) {
  auto bytes = Decode("[1]", DataType::kFp16, 1);
  EXPECT_THAT(std::string(bytes.status().message()), HasSubstr("no JSON representation"));
}

TEST(JsonTensor, BytesAreStringsInTheLengthPrefixedLayout) {
  auto bytes = Decode(R"(["ab", ""])", DataType::kBytes, 2);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, std::string("\x02\0\0\0ab\0\0\0\0", 10));
  EXPECT_EQ(Encode(DataType::kBytes, *bytes), R"(["ab",""])");
}

TEST(JsonTensor, BoolAndIntegersRoundTrip) {
  auto b = Decode("[true,false]", DataType::kBool, 2);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Encode(DataType::kBool, *b), "[true,false]");
  auto i = Decode("[-5, 7]", DataType::kInt16, 2);
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(Encode(DataType::kInt16, *i), "[-5,7]");
  auto u = Decode("[18446744073709551615]", DataType::kUint64, 1);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(Encode(DataType::kUint64, *u), "[18446744073709551615]");
}

}  // namespace
}  // namespace inferd::codec
