// SPDX-License-Identifier: Apache-2.0
#include "inferd/tensor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

namespace inferd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::span<const std::byte> AsBytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

TEST(Shape, ElementCount) {
  EXPECT_EQ(ElementCount(Shape{}), 1);
  EXPECT_EQ(ElementCount(Shape{1, 3, 224, 224}), 602112 / 4);
  EXPECT_EQ(ElementCount(Shape{4, 0}), 0);
  EXPECT_FALSE(ElementCount(Shape{-1, 3}).has_value());
  const int64_t big = std::numeric_limits<int64_t>::max() / 2;
  EXPECT_FALSE(ElementCount(Shape{big, 4}).has_value());
}

TEST(Shape, MatchesDimsWithVariableDimensions) {
  EXPECT_TRUE(ShapeMatchesDims(Shape{5}, Shape{-1}));
  EXPECT_TRUE(ShapeMatchesDims(Shape{2, 16}, Shape{-1, 16}));
  EXPECT_FALSE(ShapeMatchesDims(Shape{2, 15}, Shape{-1, 16}));
  EXPECT_FALSE(ShapeMatchesDims(Shape{16}, Shape{1, 16}));
  EXPECT_EQ(ShapeToString(Shape{1, -1, 3}), "[1,-1,3]");
}

TEST(Shape, FixedTensorByteSize) {
  EXPECT_EQ(*FixedTensorByteSize(DataType::kFp32, Shape{1, 3, 224, 224}), 602112u);
  EXPECT_EQ(*FixedTensorByteSize(DataType::kBool, Shape{7}), 7u);
  EXPECT_EQ(FixedTensorByteSize(DataType::kBytes, Shape{2}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FixedTensorByteSize(DataType::kFp32, Shape{-1}).status().message(),
              HasSubstr("[-1]"));
}

TEST(BytesTensor, LayoutIsLittleEndianLengthThenBytes) {
  std::string out;
  AppendBytesElement(out, "abc");
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out[0], 3);
  EXPECT_EQ(out[1], 0);
  EXPECT_EQ(out[2], 0);
  EXPECT_EQ(out[3], 0);
  EXPECT_EQ(out.substr(4), "abc");

  std::string long_element(300, 'x');
  std::string out2;
  AppendBytesElement(out2, long_element);
  EXPECT_EQ(static_cast<unsigned char>(out2[0]), 300 % 256);
  EXPECT_EQ(static_cast<unsigned char>(out2[1]), 1);
}

TEST(BytesTensor, RoundTripsIncludingEmptyAndBinaryElements) {
  std::vector<std::string> elements = {"hello", "", std::string("a\0b", 3), "world"};
  const std::string wire = SerializeBytesTensor(elements);
  EXPECT_EQ(wire.size(), 4 * 4 + 5 + 0 + 3 + 5u);
  auto parsed = ParseBytesTensor(AsBytes(wire), 4);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(*parsed, ElementsAre("hello", "", std::string_view("a\0b", 3), "world"));
}

TEST(BytesTensor, RejectsTruncatedPrefix) {
  std::string wire = SerializeBytesTensor(std::vector<std::string>{"ab"});
  wire.push_back('\x01');
  auto parsed = ParseBytesTensor(AsBytes(wire));
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr("truncated"));
}

TEST(BytesTensor, RejectsLengthPastTheEnd) {
  std::string wire = SerializeBytesTensor(std::vector<std::string>{"abcdef"});
  wire.resize(wire.size() - 2);
  auto parsed = ParseBytesTensor(AsBytes(wire));
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr("declares 6 bytes"));
}

TEST(BytesTensor, RejectsWrongElementCount) {
  const std::string wire = SerializeBytesTensor(std::vector<std::string>{"a", "b"});
  auto parsed = ParseBytesTensor(AsBytes(wire), 3);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr("2 elements but its shape needs 3"));
}

}  // namespace
}  // namespace inferd

namespace inferd {
namespace {

TEST(ParseBytesTensorHostile, AShapeFarLargerThanTheBufferIsAnErrorNotAnAllocation) {
  const std::string one("\x01\x00\x00\x00" "a", 5);
  auto parsed = ParseBytesTensor({reinterpret_cast<const std::byte*>(one.data()), one.size()},
                                 int64_t{1'000'000'000'000});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(),
            "BYTES tensor has 1 elements but its shape needs 1000000000000");
}

}  // namespace
}  // namespace inferd
