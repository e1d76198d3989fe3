// SPDX-License-Identifier: Apache-2.0
// Loads the real builtin plugin through BackendLoader and runs its models on fake batches.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "backends/backend_loader.h"
#include "backends/test_util/fake_execution_batch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inferd/backend.h"
#include "inferd/tensor.h"

namespace inferd {
namespace {

using ::inferd::testing::FakeExecutionBatch;
using ::inferd::testing::FakeTensor;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

class BuiltinBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<Backend*> backend = loader_.Get("builtin");
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = *backend;
  }

  absl::StatusOr<std::unique_ptr<BackendModel>> Load(const ModelSpec& spec) {
    return backend_->LoadModel(spec);
  }

  // Loads the model and creates instance 0; fails the test on error.
  std::unique_ptr<ModelInstance> Instance(const ModelSpec& spec) {
    absl::StatusOr<std::unique_ptr<BackendModel>> model = Load(spec);
    EXPECT_TRUE(model.ok()) << model.status();
    if (!model.ok()) return nullptr;
    models_.push_back(std::move(*model));
    absl::StatusOr<std::unique_ptr<ModelInstance>> instance = models_.back()->CreateInstance(0);
    EXPECT_TRUE(instance.ok()) << instance.status();
    return instance.ok() ? std::move(*instance) : nullptr;
  }

  BackendLoader loader_{{.backend_directory = INFERD_TEST_BACKEND_DIR}};
  Backend* backend_ = nullptr;
  std::vector<std::unique_ptr<BackendModel>> models_;
};

TensorSpec T(std::string name, DataType datatype, Shape dims) {
  TensorSpec spec;
  spec.name = std::move(name);
  spec.datatype = datatype;
  spec.dims = std::move(dims);
  return spec;
}

ModelSpec Spec(std::string name, std::vector<TensorSpec> inputs, std::vector<TensorSpec> outputs,
               std::map<std::string, std::string, std::less<>> parameters = {}) {
  ModelSpec spec;
  spec.name = std::move(name);
  spec.version = 1;
  spec.backend = "builtin";
  spec.max_batch_size = 8;
  spec.inputs = std::move(inputs);
  spec.outputs = std::move(outputs);
  spec.parameters = std::move(parameters);
  return spec;
}

ModelSpec AddSubSpec(DataType type) {
  return Spec("simple", {T("INPUT0", type, {16}), T("INPUT1", type, {16})},
              {T("OUTPUT0", type, {16}), T("OUTPUT1", type, {16})}, {{"builtin_model", "add_sub"}});
}

// ---- identity ----

TEST_F(BuiltinBackendTest, IdentityCopiesEveryFixedSizeDatatype) {
  const DataType types[] = {
      DataType::kBool, DataType::kUint8, DataType::kUint16, DataType::kUint32, DataType::kUint64,
      DataType::kInt8, DataType::kInt16, DataType::kInt32,  DataType::kInt64,  DataType::kFp16,
      DataType::kFp32, DataType::kFp64,  DataType::kBf16};
  for (DataType type : types) {
    SCOPED_TRACE(DataTypeName(type));
    auto instance = Instance(Spec("identity", {T("IN", type, {-1, 3})}, {T("OUT", type, {-1, 3})}));
    ASSERT_NE(instance, nullptr);
    FakeTensor in{"IN", type, {2, 2, 3}, {}};
    const size_t size = DataTypeByteSize(type) * 12;
    for (size_t i = 0; i < size; ++i) in.bytes.push_back(static_cast<std::byte>(i * 7 + 1));
    FakeExecutionBatch batch(2, {in}, {"OUT"});
    ASSERT_TRUE(instance->Execute(batch).ok());
    ASSERT_EQ(batch.outputs().count("OUT"), 1u);
    const FakeTensor& out = batch.outputs().at("OUT");
    EXPECT_EQ(out.datatype, type);
    EXPECT_THAT(out.shape, ElementsAre(2, 2, 3));
    EXPECT_EQ(out.bytes, in.bytes);
  }
}

TEST_F(BuiltinBackendTest, IdentityCopiesBytesTensorsAsIs) {
  auto instance = Instance(
      Spec("identity", {T("TEXT", DataType::kBytes, {-1})}, {T("ECHO", DataType::kBytes, {-1})}));
  ASSERT_NE(instance, nullptr);
  const std::vector<std::string> elements = {"hello", "", std::string("\0bin\xff", 5)};
  const std::string raw = SerializeBytesTensor(elements);
  FakeExecutionBatch batch(1, {FakeTensor::OfBytes("TEXT", DataType::kBytes, {3}, raw)}, {"ECHO"});
  ASSERT_TRUE(instance->Execute(batch).ok());
  const FakeTensor& out = batch.outputs().at("ECHO");
  EXPECT_EQ(out.datatype, DataType::kBytes);
  EXPECT_THAT(out.shape, ElementsAre(3));
  EXPECT_EQ(out.Raw(), raw);
}

TEST_F(BuiltinBackendTest, IdentityPairsOutputsByPositionAndSkipsUnrequested) {
  auto instance =
      Instance(Spec("echo_two", {T("A", DataType::kInt32, {-1}), T("B", DataType::kFp64, {-1})},
                    {T("X", DataType::kInt32, {-1}), T("Y", DataType::kFp64, {-1})},
                    {{"builtin_model", "identity"}}));
  ASSERT_NE(instance, nullptr);
  FakeExecutionBatch batch(1,
                           {FakeTensor::Of<int32_t>("A", DataType::kInt32, {2}, {7, -8}),
                            FakeTensor::Of<double>("B", DataType::kFp64, {3}, {0.5, 1.5, -2.5})},
                           {"Y"});
  ASSERT_TRUE(instance->Execute(batch).ok());
  EXPECT_EQ(batch.outputs().count("X"), 0u);
  EXPECT_THAT(batch.outputs().at("Y").Values<double>(), ElementsAre(0.5, 1.5, -2.5));
}

TEST_F(BuiltinBackendTest, IdentityWithEmptyTensor) {
  auto instance = Instance(
      Spec("identity", {T("IN", DataType::kFp32, {-1})}, {T("OUT", DataType::kFp32, {-1})}));
  ASSERT_NE(instance, nullptr);
  FakeExecutionBatch batch(1, {FakeTensor::Of<float>("IN", DataType::kFp32, {0}, {})}, {"OUT"});
  ASSERT_TRUE(instance->Execute(batch).ok());
  EXPECT_THAT(batch.outputs().at("OUT").shape, ElementsAre(0));
  EXPECT_TRUE(batch.outputs().at("OUT").bytes.empty());
}

TEST_F(BuiltinBackendTest, IdentityInputOutputCountMismatchFailsLoad) {
  absl::StatusOr<std::unique_ptr<BackendModel>> model =
      Load(Spec("identity", {T("A", DataType::kFp32, {1}), T("B", DataType::kFp32, {1})},
                {T("OUT", DataType::kFp32, {1})}));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(),
              AllOf(HasSubstr("model 'identity'"), HasSubstr("2 inputs and 1 outputs")));
}

TEST_F(BuiltinBackendTest, IdentityDatatypeMismatchFailsLoad) {
  absl::StatusOr<std::unique_ptr<BackendModel>> model =
      Load(Spec("identity", {T("IN", DataType::kFp32, {1})}, {T("OUT", DataType::kInt32, {1})}));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(), AllOf(HasSubstr("FP32"), HasSubstr("INT32")));
}

// ---- add_sub ----

TEST_F(BuiltinBackendTest, AddSubInt32SumAndDifference) {
  auto instance = Instance(AddSubSpec(DataType::kInt32));
  ASSERT_NE(instance, nullptr);
  std::vector<int32_t> a(16);
  std::vector<int32_t> b(16);
  std::vector<int32_t> sum(16);
  std::vector<int32_t> diff(16);
  for (int i = 0; i < 16; ++i) {
    a[i] = i;
    b[i] = 1;
    sum[i] = i + 1;
    diff[i] = i - 1;
  }
  FakeExecutionBatch batch(1,
                           {FakeTensor::Of("INPUT0", DataType::kInt32, {1, 16}, a),
                            FakeTensor::Of("INPUT1", DataType::kInt32, {1, 16}, b)},
                           {"OUTPUT0", "OUTPUT1"});
  ASSERT_TRUE(instance->Execute(batch).ok());
  const FakeTensor& out0 = batch.outputs().at("OUTPUT0");
  const FakeTensor& out1 = batch.outputs().at("OUTPUT1");
  EXPECT_EQ(out0.datatype, DataType::kInt32);
  EXPECT_THAT(out0.shape, ElementsAre(1, 16));
  EXPECT_THAT(out0.Values<int32_t>(), ElementsAreArray(sum));
  EXPECT_THAT(out1.shape, ElementsAre(1, 16));
  EXPECT_THAT(out1.Values<int32_t>(), ElementsAreArray(diff));
}

TEST_F(BuiltinBackendTest, AddSubFp32SumAndDifference) {
  auto instance = Instance(AddSubSpec(DataType::kFp32));
  ASSERT_NE(instance, nullptr);
  FakeExecutionBatch batch(
      2,
      {FakeTensor::Of<float>("INPUT0", DataType::kFp32, {2, 2}, {1.5f, 2, -3, 0}),
       FakeTensor::Of<float>("INPUT1", DataType::kFp32, {2, 2}, {0.25f, 4, 1, -0.5f})},
      {"OUTPUT0", "OUTPUT1"});
  ASSERT_TRUE(instance->Execute(batch).ok());
  EXPECT_THAT(batch.outputs().at("OUTPUT0").Values<float>(), ElementsAre(1.75f, 6, -2, -0.5f));
  EXPECT_THAT(batch.outputs().at("OUTPUT1").Values<float>(), ElementsAre(1.25f, -2, -4, 0.5f));
}

TEST_F(BuiltinBackendTest, AddSubInt32WrapsOnOverflow) {
  auto instance = Instance(AddSubSpec(DataType::kInt32));
  ASSERT_NE(instance, nullptr);
  FakeExecutionBatch batch(1,
                           {FakeTensor::Of<int32_t>("INPUT0", DataType::kInt32, {1}, {INT32_MAX}),
                            FakeTensor::Of<int32_t>("INPUT1", DataType::kInt32, {1}, {-1})},
                           {"OUTPUT0", "OUTPUT1"});
  ASSERT_TRUE(instance->Execute(batch).ok());
  EXPECT_THAT(batch.outputs().at("OUTPUT0").Values<int32_t>(), ElementsAre(INT32_MAX - 1));
  EXPECT_THAT(batch.outputs().at("OUTPUT1").Values<int32_t>(), ElementsAre(INT32_MIN));
}

TEST_F(BuiltinBackendTest, AddSubAllocatesOnlyRequestedOutputs) {
  auto instance = Instance(AddSubSpec(DataType::kInt32));
  ASSERT_NE(instance, nullptr);
  FakeExecutionBatch batch(1,
                           {FakeTensor::Of<int32_t>("INPUT0", DataType::kInt32, {3}, {5, 6, 7}),
                            FakeTensor::Of<int32_t>("INPUT1", DataType::kInt32, {3}, {1, 2, 3})},
                           {"OUTPUT1"});
  ASSERT_TRUE(instance->Execute(batch).ok());
  ASSERT_EQ(batch.outputs().size(), 1u);
  EXPECT_THAT(batch.outputs().at("OUTPUT1").Values<int32_t>(), ElementsAre(4, 4, 4));
}

TEST_F(BuiltinBackendTest, AddSubMatchesInputsByName) {
  // Config order INPUT1, INPUT0: the names decide which is subtracted.
  auto instance = Instance(
      Spec("simple", {T("INPUT1", DataType::kInt32, {2}), T("INPUT0", DataType::kInt32, {2})},
           {T("OUTPUT1", DataType::kInt32, {2}), T("OUTPUT0", DataType::kInt32, {2})},
           {{"builtin_model", "add_sub"}}));
  ASSERT_NE(instance, nullptr);
  FakeExecutionBatch batch(1,
                           {FakeTensor::Of<int32_t>("INPUT1", DataType::kInt32, {2}, {1, 2}),
                            FakeTensor::Of<int32_t>("INPUT0", DataType::kInt32, {2}, {10, 20})},
                           {"OUTPUT0", "OUTPUT1"});
  ASSERT_TRUE(instance->Execute(batch).ok());
  EXPECT_THAT(batch.outputs().at("OUTPUT0").Values<int32_t>(), ElementsAre(11, 22));
  EXPECT_THAT(batch.outputs().at("OUTPUT1").Values<int32_t>(), ElementsAre(9, 18));
}

TEST_F(BuiltinBackendTest, AddSubMatchesOtherNamesByPosition) {
  auto instance =
      Instance(Spec("add_sub", {T("x", DataType::kFp32, {2}), T("y", DataType::kFp32, {2})},
                    {T("sum", DataType::kFp32, {2}), T("diff", DataType::kFp32, {2})}));
  ASSERT_NE(instance, nullptr);
  FakeExecutionBatch batch(1,
                           {FakeTensor::Of<float>("x", DataType::kFp32, {2}, {3, 4}),
                            FakeTensor::Of<float>("y", DataType::kFp32, {2}, {1, 1})},
                           {"sum", "diff"});
  ASSERT_TRUE(instance->Execute(batch).ok());
  EXPECT_THAT(batch.outputs().at("sum").Values<float>(), ElementsAre(4, 5));
  EXPECT_THAT(batch.outputs().at("diff").Values<float>(), ElementsAre(2, 3));
}

TEST_F(BuiltinBackendTest, AddSubDifferentShapesIsInvalidArgument) {
  auto instance = Instance(AddSubSpec(DataType::kInt32));
  ASSERT_NE(instance, nullptr);
  FakeExecutionBatch batch(1,
                           {FakeTensor::Of<int32_t>("INPUT0", DataType::kInt32, {2}, {1, 2}),
                            FakeTensor::Of<int32_t>("INPUT1", DataType::kInt32, {1, 2}, {1, 2})},
                           {"OUTPUT0", "OUTPUT1"});
  absl::Status status = instance->Execute(batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("same shape"), HasSubstr("[2]"), HasSubstr("[1,2]")));
  EXPECT_TRUE(batch.outputs().empty());
}

TEST_F(BuiltinBackendTest, AddSubWrongDatatypeFailsLoad) {
  absl::StatusOr<std::unique_ptr<BackendModel>> model = Load(AddSubSpec(DataType::kFp64));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(),
              AllOf(HasSubstr("model 'simple'"), HasSubstr("FP64"), HasSubstr("INT32 and FP32")));
}

TEST_F(BuiltinBackendTest, AddSubMixedDatatypesFailLoad) {
  ModelSpec spec = AddSubSpec(DataType::kInt32);
  spec.outputs[1].datatype = DataType::kFp32;
  absl::StatusOr<std::unique_ptr<BackendModel>> model = Load(spec);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(),
              AllOf(HasSubstr("model 'simple'"), HasSubstr("one datatype"), HasSubstr("OUTPUT1")));
}

TEST_F(BuiltinBackendTest, AddSubWrongTensorCountFailsLoad) {
  ModelSpec spec = AddSubSpec(DataType::kInt32);
  spec.outputs.pop_back();
  absl::StatusOr<std::unique_ptr<BackendModel>> model = Load(spec);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(),
              AllOf(HasSubstr("model 'simple'"), HasSubstr("exactly 2 inputs and 2 outputs")));
}

TEST_F(BuiltinBackendTest, AllocationErrorPropagates) {
  auto instance = Instance(AddSubSpec(DataType::kInt32));
  ASSERT_NE(instance, nullptr);
  FakeExecutionBatch batch(1,
                           {FakeTensor::Of<int32_t>("INPUT0", DataType::kInt32, {1}, {1}),
                            FakeTensor::Of<int32_t>("INPUT1", DataType::kInt32, {1}, {1})},
                           {"OUTPUT0"});
  batch.FailAllocationsWith(absl::ResourceExhaustedError("shared memory region too small"));
  absl::Status status = instance->Execute(batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("region too small"));
}

// ---- busy ----

ModelSpec BusySpec(std::map<std::string, std::string, std::less<>> parameters) {
  return Spec("busy", {T("IN", DataType::kFp32, {-1}), T("IDS", DataType::kBytes, {-1})},
              {T("OUT", DataType::kFp32, {-1}), T("IDS_OUT", DataType::kBytes, {-1})},
              std::move(parameters));
}

void ExpectBusyTakesAtLeast(ModelInstance& instance, int batch_size,
                            std::chrono::microseconds minimum) {
  std::vector<float> values(batch_size);
  std::vector<std::string> ids(batch_size);
  for (int i = 0; i < batch_size; ++i) {
    values[i] = static_cast<float>(i) + 0.5f;
    ids[i] = "id" + std::to_string(i);
  }
  const std::string raw_ids = SerializeBytesTensor(ids);
  FakeExecutionBatch batch(batch_size,
                           {FakeTensor::Of("IN", DataType::kFp32, {batch_size}, values),
                            FakeTensor::OfBytes("IDS", DataType::kBytes, {batch_size}, raw_ids)},
                           {"OUT", "IDS_OUT"});
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(instance.Execute(batch).ok());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, minimum);
  EXPECT_THAT(batch.outputs().at("OUT").Values<float>(), ElementsAreArray(values));
  EXPECT_THAT(batch.outputs().at("OUT").shape, ElementsAre(batch_size));
  EXPECT_EQ(batch.outputs().at("IDS_OUT").Raw(), raw_ids);
}

TEST_F(BuiltinBackendTest, BusySleepsAPlusBTimesBatchAndEchoesInputs) {
  auto instance = Instance(BusySpec({{"busy_a_us", "2000"}, {"busy_b_us", "1500"}}));
  ASSERT_NE(instance, nullptr);
  ExpectBusyTakesAtLeast(*instance, 1, std::chrono::microseconds(3500));
  ExpectBusyTakesAtLeast(*instance, 4, std::chrono::microseconds(8000));
}

TEST_F(BuiltinBackendTest, BusySpinsWhenAsked) {
  auto instance =
      Instance(BusySpec({{"busy_a_us", "1000"}, {"busy_b_us", "500"}, {"busy_mode", "spin"}}));
  ASSERT_NE(instance, nullptr);
  ExpectBusyTakesAtLeast(*instance, 3, std::chrono::microseconds(2500));
}

TEST_F(BuiltinBackendTest, BusyDefaultsToNoDelay) {
  auto instance = Instance(BusySpec({}));
  ASSERT_NE(instance, nullptr);
  ExpectBusyTakesAtLeast(*instance, 2, std::chrono::microseconds(0));
}

TEST_F(BuiltinBackendTest, BusyBadParametersFailLoad) {
  const std::map<std::string, std::string, std::less<>> bad[] = {
      {{"busy_a_us", "fast"}},
      {{"busy_b_us", "-5"}},
      {{"busy_a_us", "1.5"}},
      {{"busy_b_us", ""}},
      {{"busy_a_us", "99999999999999999999"}},
      {{"busy_mode", "nap"}},
  };
  for (const auto& parameters : bad) {
    SCOPED_TRACE(parameters.begin()->first + "=" + parameters.begin()->second);
    absl::StatusOr<std::unique_ptr<BackendModel>> model = Load(BusySpec(parameters));
    ASSERT_FALSE(model.ok());
    EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(model.status().message(),
                AllOf(HasSubstr("model 'busy'"), HasSubstr(parameters.begin()->first),
                      HasSubstr("'" + parameters.begin()->second + "'")));
  }
}

TEST_F(BuiltinBackendTest, BusyInputOutputCountMismatchFailsLoad) {
  ModelSpec spec = BusySpec({});
  spec.outputs.pop_back();
  absl::StatusOr<std::unique_ptr<BackendModel>> model = Load(spec);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(), AllOf(HasSubstr("model 'busy'"), HasSubstr("2 inputs")));
}

// ---- model selection ----

TEST_F(BuiltinBackendTest, UnknownBuiltinModelFailsLoad) {
  absl::StatusOr<std::unique_ptr<BackendModel>> model =
      Load(Spec("resnet", {T("IN", DataType::kFp32, {1})}, {T("OUT", DataType::kFp32, {1})}));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(model.status().message(),
            "model 'resnet': the builtin backend has no model 'resnet' (expected identity, add_sub "
            "or busy; set parameter builtin_model)");

  model = Load(Spec("mine", {T("IN", DataType::kFp32, {1})}, {T("OUT", DataType::kFp32, {1})},
                    {{"builtin_model", "idenity"}}));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(),
              AllOf(HasSubstr("model 'mine'"), HasSubstr("no model 'idenity'")));
}

TEST_F(BuiltinBackendTest, InstancesOfOneModelRunIndependently) {
  absl::StatusOr<std::unique_ptr<BackendModel>> model = Load(AddSubSpec(DataType::kInt32));
  ASSERT_TRUE(model.ok()) << model.status();
  auto first = (*model)->CreateInstance(0);
  auto second = (*model)->CreateInstance(1);
  ASSERT_TRUE(first.ok() && second.ok());
  model->reset();  // instances keep what they need
  for (auto* instance : {first->get(), second->get()}) {
    FakeExecutionBatch batch(1,
                             {FakeTensor::Of<int32_t>("INPUT0", DataType::kInt32, {1}, {3}),
                              FakeTensor::Of<int32_t>("INPUT1", DataType::kInt32, {1}, {2})},
                             {"OUTPUT0"});
    ASSERT_TRUE(instance->Execute(batch).ok());
    EXPECT_THAT(batch.outputs().at("OUTPUT0").Values<int32_t>(), ElementsAre(5));
  }
}

}  // namespace
}  // namespace inferd
