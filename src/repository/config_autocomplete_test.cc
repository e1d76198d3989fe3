// SPDX-License-Identifier: Apache-2.0
#include "repository/config_autocomplete.h"

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace inferd {
namespace {

using Group = inference::ModelInstanceGroup;

inference::ModelConfig Completed(const std::string& text) {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  CompleteModelConfig(config);
  return config;
}

TEST(CompleteModelConfig, OnnxModelGetsTritonsBackendPlatformFileAndTwoCpuInstances) {
  const auto c = Completed(R"pb(name: "net" platform: "onnxruntime_onnx" max_batch_size: 4)pb");
  EXPECT_EQ(c.backend(), "onnxruntime");
  EXPECT_EQ(c.platform(), "onnxruntime_onnx");
  EXPECT_EQ(c.default_model_filename(), "model.onnx");
  ASSERT_EQ(c.instance_group_size(), 1);
  EXPECT_EQ(c.instance_group(0).name(), "net");  // The default group is named after the model.
  EXPECT_EQ(c.instance_group(0).kind(), Group::KIND_CPU);
  EXPECT_EQ(c.instance_group(0).count(), 2);
  EXPECT_EQ(c.version_policy().latest().num_versions(), 1u);
  EXPECT_TRUE(c.optimization().input_pinned_memory().enable());
  EXPECT_TRUE(c.optimization().output_pinned_memory().enable());
  EXPECT_EQ(c.optimization().priority(), inference::ModelOptimizationPolicy::PRIORITY_DEFAULT);
}

TEST(CompleteModelConfig, BackendNamesGetTheirPlatform) {
  EXPECT_EQ(Completed(R"pb(name: "a" backend: "onnxruntime")pb").platform(), "onnxruntime_onnx");
  EXPECT_EQ(Completed(R"pb(name: "a" backend: "onnx")pb").platform(), "onnxruntime_onnx");
  const auto torch = Completed(R"pb(name: "a" backend: "pytorch")pb");
  EXPECT_EQ(torch.platform(), "pytorch_libtorch");
  EXPECT_EQ(torch.default_model_filename(), "model.pt");
  EXPECT_EQ(torch.instance_group(0).count(), 1);  // PyTorch does not opt into 2 CPU instances.
  const auto ts = Completed(R"pb(name: "a" platform: "pytorch_libtorch")pb");
  EXPECT_EQ(ts.backend(), "pytorch");
  EXPECT_EQ(Completed(R"pb(name: "a" platform: "onnx_onnxv1")pb").backend(), "onnxruntime");
}

TEST(CompleteModelConfig, BuiltinKeepsAnEmptyPlatformLikeTritonsCustomBackends) {
  const auto c = Completed(R"pb(name: "identity" backend: "builtin")pb");
  EXPECT_EQ(c.platform(), "");
  EXPECT_EQ(c.default_model_filename(), "");
  ASSERT_EQ(c.instance_group_size(), 1);
  EXPECT_EQ(c.instance_group(0).name(), "identity");
  EXPECT_EQ(c.instance_group(0).count(), 1);
  EXPECT_EQ(c.instance_group(0).kind(), Group::KIND_CPU);
}

TEST(CompleteModelConfig, GivenValuesAreKeptAndUnnamedGroupsAreNumbered) {
  const auto c = Completed(R"pb(
    name: "m"
    backend: "onnxruntime"
    platform: "onnxruntime_onnx"
    default_model_filename: "net.onnx"
    version_policy { all {} } instance_group
    [ { count: 3 kind: KIND_CPU }
      , { name: "mine" kind: KIND_AUTO }
      , { kind: KIND_CPU }]
    optimization { input_pinned_memory { enable: false } }
  )pb");
  EXPECT_EQ(c.default_model_filename(), "net.onnx");
  EXPECT_TRUE(c.version_policy().has_all());
  ASSERT_EQ(c.instance_group_size(), 3);
  EXPECT_EQ(c.instance_group(0).name(), "m_0");
  EXPECT_EQ(c.instance_group(0).count(), 3);
  EXPECT_EQ(c.instance_group(1).name(), "mine");
  EXPECT_EQ(c.instance_group(1).kind(), Group::KIND_CPU);
  EXPECT_EQ(c.instance_group(1).count(), 2);
  EXPECT_EQ(c.instance_group(2).name(), "m_2");
  EXPECT_FALSE(c.optimization().input_pinned_memory().enable());
  EXPECT_TRUE(c.optimization().output_pinned_memory().enable());
}

TEST(CompleteModelConfig, BatchingDefaults) {
  const auto c = Completed(R"pb(name: "m"
                                backend: "builtin"
                                max_batch_size: 8
                                dynamic_batching { max_queue_delay_microseconds: 100 })pb");
  EXPECT_THAT(c.dynamic_batching().preferred_batch_size(), ::testing::ElementsAre(8));
  const auto kept = Completed(R"pb(name: "m"
                                   backend: "builtin"
                                   max_batch_size: 8
                                   dynamic_batching { preferred_batch_size: [ 2, 4 ] })pb");
  EXPECT_THAT(kept.dynamic_batching().preferred_batch_size(), ::testing::ElementsAre(2, 4));
  const auto seq = Completed(R"pb(name: "m"
                                  backend: "builtin"
                                  max_batch_size: 8
                                  sequence_batching {})pb");
  EXPECT_EQ(seq.sequence_batching().max_sequence_idle_microseconds(), 1000000u);
}

TEST(CompleteModelConfig, IsIdempotent) {
  inference::ModelConfig once = Completed(R"pb(name: "m"
                                               platform: "onnxruntime_onnx"
                                               max_batch_size: 2
                                               dynamic_batching {})pb");
  inference::ModelConfig twice = once;
  CompleteModelConfig(twice);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(once, twice));
}

}  // namespace
}  // namespace inferd
