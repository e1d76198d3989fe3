// SPDX-License-Identifier: Apache-2.0
#include "server/classification.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "inferd/tensor.h"

namespace inferd {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

template <typename T>
InferOutput Output(DataType type, Shape shape, std::vector<T> values) {
  auto storage = std::make_shared<std::vector<T>>(std::move(values));
  InferOutput out;
  out.name = "OUT";
  out.datatype = type;
  out.shape = std::move(shape);
  out.data = reinterpret_cast<const std::byte*>(storage->data());
  out.byte_size = storage->size() * sizeof(T);
  out.owner = storage;
  return out;
}

std::vector<std::string> Strings(const InferOutput& out) {
  auto parsed = ParseBytesTensor({out.data, out.byte_size});
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  std::vector<std::string> strings;
  for (std::string_view s : parsed.value_or(std::vector<std::string_view>{}))
    strings.emplace_back(s);
  return strings;
}

TEST(Classification, TopClassesOfAnUnbatchedFp32OutputAsTritonPrintsThem) {
  // The protocol document's example: [1.1, 3.3, 0.5, 2.4], top 2.
  auto out = Classify(Output<float>(DataType::kFp32, {4}, {1.1f, 3.3f, 0.5f, 2.4f}), 2,
                      /*batched=*/false, nullptr);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->name, "OUT");
  EXPECT_EQ(out->datatype, DataType::kBytes);
  EXPECT_THAT(out->shape, ElementsAre(2));
  // std::to_string(float): six decimals of the float's value.
  EXPECT_THAT(Strings(*out), ElementsAre("3.300000:1", "2.400000:3"));
}

TEST(Classification, BatchedOutputGivesTopClassesPerItem) {
  auto out =
      Classify(Output<float>(DataType::kFp32, {2, 3}, {0.1f, 0.7f, 0.2f, 0.9f, 0.05f, 0.05f}), 2,
               /*batched=*/true, nullptr);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->shape, ElementsAre(2, 2));
  EXPECT_THAT(Strings(*out), ElementsAre("0.700000:1", "0.200000:2", "0.900000:0", "0.050000:1"));
}

TEST(Classification, CountLargerThanTheClassesIsClamped) {
  auto out =
      Classify(Output<float>(DataType::kFp32, {1, 3}, {3, 1, 2}), 10, /*batched=*/true, nullptr);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->shape, ElementsAre(1, 3));
  EXPECT_THAT(Strings(*out), ElementsAre("3.000000:0", "2.000000:2", "1.000000:1"));
}

TEST(Classification, UnbatchedModelTreatsEveryDimensionAsClasses) {
  // A non-batching model's [2, 2] output is one set of 4 classes.
  auto out = Classify(Output<int32_t>(DataType::kInt32, {2, 2}, {1, 5, 10, 4}), 3,
                      /*batched=*/false, nullptr);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->shape, ElementsAre(3));
  EXPECT_THAT(Strings(*out), ElementsAre("10:2", "5:1", "4:3"));
}

TEST(Classification, LabelsAreAppendedWhereTheFileHasThem) {
  const std::vector<std::string> labels = {"cat", "", "dog"};
  auto out = Classify(Output<float>(DataType::kFp32, {4}, {0.5f, 0.25f, 0.125f, 1.0f}), 4,
                      /*batched=*/false, &labels);
  ASSERT_TRUE(out.ok()) << out.status();
  // Index 3 is beyond the file and index 1's line is empty: no label.
  EXPECT_THAT(Strings(*out),
              ElementsAre("1.000000:3", "0.500000:0:cat", "0.250000:1", "0.125000:2:dog"));
}

TEST(Classification, IntegerTypesCompareInTheirOwnType) {
  const uint64_t big = std::numeric_limits<uint64_t>::max();
  auto u64 =
      Classify(Output<uint64_t>(DataType::kUint64, {3}, {big - 1, big, 7}), 2, false, nullptr);
  ASSERT_TRUE(u64.ok());
  EXPECT_THAT(Strings(*u64), ElementsAre("18446744073709551615:1", "18446744073709551614:0"));
  auto i8 = Classify(Output<int8_t>(DataType::kInt8, {3}, {-5, -1, -128}), 3, false, nullptr);
  ASSERT_TRUE(i8.ok());
  EXPECT_THAT(Strings(*i8), ElementsAre("-1:1", "-5:0", "-128:2"));
  auto u8 = Classify(Output<uint8_t>(DataType::kUint8, {2}, {200, 3}), 1, false, nullptr);
  ASSERT_TRUE(u8.ok());
  EXPECT_THAT(Strings(*u8), ElementsAre("200:0"));
}

TEST(Classification, Fp64Fp16AndBf16) {
  auto f64 = Classify(Output<double>(DataType::kFp64, {2}, {-0.5, 0.125}), 1, false, nullptr);
  ASSERT_TRUE(f64.ok());
  EXPECT_THAT(Strings(*f64), ElementsAre("0.125000:1"));
  // FP16 0x3C00 = 1.0, 0x4000 = 2.0, 0xBC00 = -1.0, 0x0001 = the smallest subnormal.
  auto f16 = Classify(Output<uint16_t>(DataType::kFp16, {4}, {0x3C00, 0x4000, 0xBC00, 0x0001}), 4,
                      false, nullptr);
  ASSERT_TRUE(f16.ok());
  EXPECT_THAT(Strings(*f16), ElementsAre("2.000000:1", "1.000000:0", "0.000000:3", "-1.000000:2"));
  // BF16 0x3F80 = 1.0, 0x4040 = 3.0.
  auto bf16 = Classify(Output<uint16_t>(DataType::kBf16, {2}, {0x3F80, 0x4040}), 2, false, nullptr);
  ASSERT_TRUE(bf16.ok());
  EXPECT_THAT(Strings(*bf16), ElementsAre("3.000000:1", "1.000000:0"));
}

TEST(Classification, TiesKeepTheLowerIndexFirstAndNanSortsLast) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto out = Classify(Output<float>(DataType::kFp32, {5}, {nan, 1, 2, 1, 2}), 5, false, nullptr);
  ASSERT_TRUE(out.ok());
  const auto strings = Strings(*out);
  ASSERT_EQ(strings.size(), 5u);
  EXPECT_THAT(std::vector<std::string>(strings.begin(), strings.begin() + 4),
              ElementsAre("2.000000:2", "2.000000:4", "1.000000:1", "1.000000:3"));
  EXPECT_THAT(strings[4], HasSubstr("nan"));
}

TEST(Classification, BoolAndBytesAreRefused) {
  auto b = Classify(Output<uint8_t>(DataType::kBool, {2}, {0, 1}), 1, false, nullptr);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(b.status().message()), AllOf(HasSubstr("'OUT'"), HasSubstr("BOOL")));
  EXPECT_FALSE(IsClassifiable(DataType::kBytes));
  EXPECT_TRUE(IsClassifiable(DataType::kFp16));
}

TEST(Classification, CountParameter) {
  RequestedOutput out{"OUT", {}};
  EXPECT_EQ(ClassificationCount(out, "m").value(), 0);
  out.parameters["classification"] = int64_t{3};
  EXPECT_EQ(ClassificationCount(out, "m").value(), 3);
  out.parameters["classification"] = 2.0;
  EXPECT_EQ(ClassificationCount(out, "m").value(), 2);
  for (ParameterValue bad : {ParameterValue(int64_t{-1}), ParameterValue(1.5), ParameterValue(true),
                             ParameterValue(std::string("3"))}) {
    out.parameters["classification"] = bad;
    auto count = ClassificationCount(out, "m");
    EXPECT_EQ(count.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(count.status().message()),
                AllOf(HasSubstr("'OUT'"), HasSubstr("'m'"), HasSubstr("classification")));
  }
}

class LabelFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("inferd_labels_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "model" / "sub");
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  std::string Dir() const { return (root_ / "model").string(); }
  fs::path root_;
};

TEST_F(LabelFileTest, ReadsOneLabelPerLine) {
  Write(root_ / "model" / "labels.txt", "cat\r\ndog\n\nbird");
  auto labels = ReadLabelFile(Dir(), "labels.txt", "m", "OUT");
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_THAT(*labels, ElementsAre("cat", "dog", "", "bird"));
  Write(root_ / "model" / "sub" / "l.txt", "x\n");
  EXPECT_THAT(ReadLabelFile(Dir(), "sub/l.txt", "m", "OUT").value(), ElementsAre("x"));
}

TEST_F(LabelFileTest, RefusesFilesOutsideTheModelDirectory) {
  Write(root_ / "secret.txt", "no\n");
  fs::create_symlink(root_ / "secret.txt", root_ / "model" / "link.txt");
  for (const char* name : {"../secret.txt", "sub/../../secret.txt", "link.txt"}) {
    auto labels = ReadLabelFile(Dir(), name, "m", "OUT");
    EXPECT_EQ(labels.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(std::string(labels.status().message()),
                AllOf(HasSubstr("model 'm'"), HasSubstr("'OUT'"), HasSubstr("outside")))
        << name;
  }
  auto absolute = ReadLabelFile(Dir(), (root_ / "secret.txt").string(), "m", "OUT");
  EXPECT_EQ(absolute.status().code(), absl::StatusCode::kInvalidArgument);
  auto missing = ReadLabelFile(Dir(), "nope.txt", "m", "OUT");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("nope.txt"));
  auto directory = ReadLabelFile(Dir(), "sub", "m", "OUT");
  EXPECT_EQ(directory.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace inferd
