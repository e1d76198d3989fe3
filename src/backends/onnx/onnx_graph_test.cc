// SPDX-License-Identifier: Apache-2.0
#include "backends/onnx/onnx_graph.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "onnx_graph.pb.h"

namespace inferd::onnx {
namespace {

using ::testing::HasSubstr;
namespace pb = ::inferd::onnx_graph;

void AddValue(google::protobuf::RepeatedPtrField<pb::ValueInfoProto>* list, const std::string& name,
              int elem_type, std::vector<int64_t> dims, bool batch_param) {
  pb::ValueInfoProto* value = list->Add();
  value->set_name(name);
  auto* tensor = value->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(elem_type);
  auto* shape = tensor->mutable_shape();
  if (batch_param) shape->add_dim()->set_dim_param("batch");
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

// input -> Add(input, c_dup) -> output, where c_dup = Identity(c): the torch exporter's pattern.
// The initializer also carries raw_data (field 9), a field the subset schema does not declare.
std::string ModelWithIdentityOnInitializer() {
  pb::ModelProto model;
  model.set_ir_version(7);
  model.set_producer_name("test");
  auto* opset = model.add_opset_import();
  opset->set_version(13);
  pb::GraphProto* graph = model.mutable_graph();
  AddValue(graph->mutable_input(), "input", 1, {4}, true);
  AddValue(graph->mutable_output(), "output", 1, {4}, true);
  pb::TensorProto* init = graph->add_initializer();
  init->set_name("c");
  // Unknown field 9 (raw_data, length-delimited): tag (9 << 3 | 2) = 0x4a, length 4, bytes.
  std::string serialized_init = init->SerializeAsString() + std::string(
                                                                "\x4a\x04"
                                                                "abcd",
                                                                6);
  init->ParseFromString(serialized_init);
  pb::NodeProto* identity = graph->add_node();
  identity->set_op_type("Identity");
  identity->add_input("c");
  identity->add_output("c_dup");
  pb::NodeProto* add = graph->add_node();
  add->set_op_type("Add");
  add->add_input("input");
  add->add_input("c_dup");
  add->add_output("output");
  return model.SerializeAsString();
}

TEST(OnnxGraph, ReadsInputsOutputsAndThePattern) {
  absl::StatusOr<OnnxModelInfo> info = ReadOnnxModelInfo(ModelWithIdentityOnInitializer());
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_EQ(info->inputs.size(), 1u);
  EXPECT_EQ(info->inputs[0].name, "input");
  EXPECT_EQ(info->inputs[0].elem_type, 1);
  EXPECT_EQ(info->inputs[0].dims, (std::vector<int64_t>{-1, 4}));
  ASSERT_EQ(info->outputs.size(), 1u);
  EXPECT_EQ(info->outputs[0].name, "output");
  EXPECT_EQ(info->opset, 13);
  EXPECT_EQ(info->identity_on_initializer, 1);
}

TEST(OnnxGraph, RewriteTurnsIdentityIntoACopiedInitializerKeepingUnknownFields) {
  std::string bytes = ModelWithIdentityOnInitializer();
  absl::StatusOr<int> rewritten = RewriteIdentityOnInitializer(bytes);
  ASSERT_TRUE(rewritten.ok()) << rewritten.status();
  EXPECT_EQ(*rewritten, 1);

  pb::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(bytes));
  ASSERT_EQ(model.graph().node_size(), 1);
  EXPECT_EQ(model.graph().node(0).op_type(), "Add");
  ASSERT_EQ(model.graph().initializer_size(), 2);
  EXPECT_EQ(model.graph().initializer(1).name(), "c_dup");
  // The copy carries the original's data (the field unknown to the subset schema).
  EXPECT_THAT(model.graph().initializer(1).SerializeAsString(), HasSubstr("abcd"));
  EXPECT_EQ(ReadOnnxModelInfo(bytes)->identity_on_initializer, 0);
}

TEST(OnnxGraph, RewriteLeavesAModelWithoutThePatternUnchanged) {
  std::string bytes = ModelWithIdentityOnInitializer();
  ASSERT_TRUE(RewriteIdentityOnInitializer(bytes).ok());
  const std::string once = bytes;
  absl::StatusOr<int> again = RewriteIdentityOnInitializer(bytes);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(bytes, once);
}

TEST(OnnxGraph, GarbageIsNotAModel) {
  absl::StatusOr<OnnxModelInfo> info = ReadOnnxModelInfo("this is not an onnx model\xff\xff");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(info.status().message()), HasSubstr("ONNX"));
  absl::StatusOr<OnnxModelInfo> empty = ReadOnnxModelInfo("");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("no graph"));
}

TEST(OnnxGraph, ElementTypeNames) {
  EXPECT_EQ(DataTypeFromOnnx(1), DataType::kFp32);
  EXPECT_EQ(DataTypeFromOnnx(7), DataType::kInt64);
  EXPECT_EQ(DataTypeFromOnnx(14), std::nullopt);  // COMPLEX128
  EXPECT_EQ(OnnxElemTypeName(1), "FLOAT");
  EXPECT_EQ(OnnxElemTypeName(99), "type 99");
}

}  // namespace
}  // namespace inferd::onnx
