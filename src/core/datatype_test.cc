// SPDX-License-Identifier: Apache-2.0
#include "inferd/datatype.h"

#include <gtest/gtest.h>

namespace inferd {
namespace {

TEST(DataType, ByteSizesMatchTheProtocol) {
  EXPECT_EQ(DataTypeByteSize(DataType::kBool), 1u);
  EXPECT_EQ(DataTypeByteSize(DataType::kUint8), 1u);
  EXPECT_EQ(DataTypeByteSize(DataType::kUint16), 2u);
  EXPECT_EQ(DataTypeByteSize(DataType::kUint32), 4u);
  EXPECT_EQ(DataTypeByteSize(DataType::kUint64), 8u);
  EXPECT_EQ(DataTypeByteSize(DataType::kInt8), 1u);
  EXPECT_EQ(DataTypeByteSize(DataType::kInt16), 2u);
  EXPECT_EQ(DataTypeByteSize(DataType::kInt32), 4u);
  EXPECT_EQ(DataTypeByteSize(DataType::kInt64), 8u);
  EXPECT_EQ(DataTypeByteSize(DataType::kFp16), 2u);
  EXPECT_EQ(DataTypeByteSize(DataType::kBf16), 2u);
  EXPECT_EQ(DataTypeByteSize(DataType::kFp32), 4u);
  EXPECT_EQ(DataTypeByteSize(DataType::kFp64), 8u);
  EXPECT_EQ(DataTypeByteSize(DataType::kBytes), 0u);
  EXPECT_EQ(DataTypeByteSize(DataType::kInvalid), 0u);
}

TEST(DataType, NamesRoundTrip) {
  for (int v = 1; v <= 14; ++v) {
    auto type = DataTypeFromConfigValue(v);
    ASSERT_TRUE(type.has_value()) << v;
    auto back = DataTypeFromName(DataTypeName(*type));
    ASSERT_TRUE(back.has_value()) << DataTypeName(*type);
    EXPECT_EQ(*back, *type);
  }
}

TEST(DataType, ProtocolAndConfigNames) {
  EXPECT_EQ(DataTypeName(DataType::kBytes), "BYTES");
  EXPECT_EQ(DataTypeConfigName(DataType::kBytes), "TYPE_STRING");
  EXPECT_EQ(DataTypeName(DataType::kBf16), "BF16");
  EXPECT_EQ(DataTypeConfigName(DataType::kFp32), "TYPE_FP32");
  EXPECT_EQ(static_cast<int>(DataType::kBf16), 14);
  EXPECT_EQ(static_cast<int>(DataType::kBytes), 13);
}

TEST(DataType, RejectsUnknownNames) {
  EXPECT_FALSE(DataTypeFromName("FLOAT").has_value());
  EXPECT_FALSE(DataTypeFromName("fp32").has_value());
  EXPECT_FALSE(DataTypeFromName("INVALID").has_value());
  EXPECT_FALSE(DataTypeFromName("").has_value());
  EXPECT_FALSE(DataTypeFromConfigValue(0).has_value());
  EXPECT_FALSE(DataTypeFromConfigValue(15).has_value());
  EXPECT_FALSE(DataTypeFromConfigValue(-1).has_value());
}

}  // namespace
}  // namespace inferd
