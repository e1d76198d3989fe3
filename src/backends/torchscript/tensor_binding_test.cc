// SPDX-License-Identifier: Apache-2.0
#include "backends/torchscript/tensor_binding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace inferd::torchscript {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<TensorSpec> Tensors(std::initializer_list<const char*> names) {
  std::vector<TensorSpec> tensors;
  for (const char* name : names) tensors.push_back(TensorSpec{name, DataType::kFp32, {4}, {}});
  return tensors;
}

TEST(TensorBinding, TritonIndexParsesTheSuffix) {
  EXPECT_EQ(TritonIndex("INPUT__0"), 0u);
  EXPECT_EQ(TritonIndex("x__12"), 12u);
  EXPECT_EQ(TritonIndex("INPUT0"), std::nullopt);
  EXPECT_EQ(TritonIndex("__1"), std::nullopt);
  EXPECT_EQ(TritonIndex("INPUT__"), std::nullopt);
  EXPECT_EQ(TritonIndex("INPUT__1a"), std::nullopt);
}

TEST(TensorBinding, TritonNamingPicksArgumentsByIndex) {
  auto binding = BindInputs(Tensors({"INPUT__1", "INPUT__0"}), {{"a", false}, {"b", false}});
  ASSERT_TRUE(binding.ok()) << binding.status();
  EXPECT_THAT(binding->position, ElementsAre(1, 0));
  EXPECT_EQ(binding->argument_count, 2u);
  EXPECT_THAT(binding->rule, HasSubstr("Triton"));
}

TEST(TensorBinding, ArgumentNamesPickArgumentsByName) {
  auto binding = BindInputs(Tensors({"b", "a"}), {{"a", false}, {"b", false}});
  ASSERT_TRUE(binding.ok()) << binding.status();
  EXPECT_THAT(binding->position, ElementsAre(1, 0));
}

TEST(TensorBinding, OtherNamesBindInConfigOrder) {
  auto binding = BindInputs(Tensors({"images", "mask"}), {{"x", false}, {"m", false}});
  ASSERT_TRUE(binding.ok()) << binding.status();
  EXPECT_THAT(binding->position, ElementsAre(0, 1));
  EXPECT_EQ(binding->rule, "config order");
}

TEST(TensorBinding, UnfedArgumentsNeedDefaults) {
  auto ok = BindInputs(Tensors({"INPUT__1"}), {{"a", true}, {"b", false}, {"c", true}});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->argument_count, 2u);
  EXPECT_THAT(ok->default_filled, ElementsAre(0));

  auto missing = BindInputs(Tensors({"a"}), {{"a", false}, {"b", false}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()),
              AllOf(HasSubstr("argument 'b'"), HasSubstr("no default")));
}

TEST(TensorBinding, MoreInputsThanArgumentsIsAnError) {
  auto binding = BindInputs(Tensors({"x", "y"}), {{"x", false}});
  ASSERT_FALSE(binding.ok());
  EXPECT_THAT(std::string(binding.status().message()),
              AllOf(HasSubstr("2 input(s)"), HasSubstr("takes 1 argument(s) (x)")));
}

TEST(TensorBinding, TritonIndexPastTheArgumentsIsAnError) {
  auto binding = BindInputs(Tensors({"INPUT__0", "INPUT__5"}), {{"a", false}, {"b", false}});
  ASSERT_FALSE(binding.ok());
  EXPECT_THAT(std::string(binding.status().message()),
              AllOf(HasSubstr("'INPUT__5'"), HasSubstr("argument 5")));
}

TEST(TensorBinding, TwoInputsFeedingOneArgumentIsAnError) {
  auto binding = BindInputs(Tensors({"INPUT__0", "X__0"}), {{"a", false}, {"b", true}});
  ASSERT_FALSE(binding.ok());
  EXPECT_THAT(std::string(binding.status().message()), HasSubstr("another input feeds"));
}

TEST(TensorBinding, OutputsByTritonIndexOrOrder) {
  EXPECT_THAT(*BindOutputs(Tensors({"OUTPUT__1", "OUTPUT__0"}), 2), ElementsAre(1, 0));
  EXPECT_THAT(*BindOutputs(Tensors({"sum", "diff"}), std::nullopt), ElementsAre(0, 1));
  auto too_many = BindOutputs(Tensors({"OUTPUT__0", "OUTPUT__1"}), 1);
  ASSERT_FALSE(too_many.ok());
  EXPECT_THAT(std::string(too_many.status().message()),
              AllOf(HasSubstr("'OUTPUT__1'"), HasSubstr("returns 1 tensor(s)")));
}

}  // namespace
}  // namespace inferd::torchscript
