// SPDX-License-Identifier: Apache-2.0
// The onnxruntime backend plugin (libinferd_backend_onnxruntime.so): ONNX models (model.onnx) on
// ONNX Runtime 1.20.1's C API, reached through OrtGetApiBase (ort_api.h, ort_runtime.h). The
// library is opened at the first model load, never at plugin load.
//
// What it serves: every ONNX tensor element type with a KServe datatype (FP32, FP16, BF16, FP64,
// INT8-INT64, UINT8-UINT64, BOOL, STRING as BYTES); inputs by name in any number, variable
// dimensions, a batch dimension first when max_batch_size > 0; only the requested outputs are
// computed. Inputs reach the runtime as views of the request's memory (no copy; a misaligned
// buffer or a BYTES input is copied). An output whose shape is known before the run (all dims
// fixed but the batch dimension) is written by the runtime straight into the memory
// AllocateOutput gives; any other output is copied there once after the run.
//
// Config parameters (string values):
//   intra_op_thread_count   threads inside one operator (default: the CPUs the process may run on divided by
//                           the model's instance count, at least 1, so instances do not
//                           oversubscribe the machine)
//   inter_op_thread_count   threads running independent operators in parallel (default 1:
//                           sequential execution)
//   graph_optimization_level  disable_all | basic | extended | all (default all)
//   allow_spinning          whether idle intra-op threads spin before they sleep (default true,
//                           ONNX Runtime's default; false saves CPU on a shared machine)
//   LOAD_TRIAL_RUN          run the model once at load on zero-filled inputs of the config's
//                           shapes, where they are fixed (default true): checks the config and
//                           warms the session up
// Each instance has its own session; instance 0 gets the session the load checked.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/backend_parameters.h"
#include "backends/onnxruntime/ort_api.h"
#include "backends/onnxruntime/ort_runtime.h"
#include "backends/trial_batch.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "inferd/backend.h"
#include "inferd/tensor.h"
#include "spdlog/spdlog.h"

namespace inferd::onnxruntime {
namespace {

using ort::Handle;
using ort::OrtApi;
using ort::OrtSession;
using ort::OrtValue;
using ort::Runtime;

constexpr std::string_view kDefaultFilename = "model.onnx";

std::optional<ort::ONNXTensorElementDataType> OrtTypeOf(DataType type) {
  switch (type) {
    case DataType::kBool: return ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;
    case DataType::kUint8: return ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
    case DataType::kUint16: return ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16;
    case DataType::kUint32: return ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32;
    case DataType::kUint64: return ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64;
    case DataType::kInt8: return ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    case DataType::kInt16: return ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16;
    case DataType::kInt32: return ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    case DataType::kInt64: return ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
    case DataType::kFp16: return ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
    case DataType::kFp32: return ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    case DataType::kFp64: return ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;
    case DataType::kBytes: return ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING;
    case DataType::kBf16: return ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16;
    default: return std::nullopt;
  }
}

std::string OrtTypeName(ort::ONNXTensorElementDataType type) {
  static constexpr const char* kNames[] = {
      "UNDEFINED", "FLOAT",  "UINT8",  "INT8",   "UINT16",    "INT16",      "INT32",   "INT64",
      "STRING",    "BOOL",   "FLOAT16", "DOUBLE", "UINT32",   "UINT64",     "COMPLEX64",
      "COMPLEX128", "BFLOAT16"};
  const int index = static_cast<int>(type);
  if (index >= 0 && index < static_cast<int>(std::size(kNames))) return kNames[index];
  return fmt::format("element type {}", index);
}

// A model input or output as the session describes it.
struct OrtTensorInfo {
  std::string name;
  bool is_tensor = false;
  ort::ONNXTensorElementDataType elem_type = ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  std::vector<int64_t> dims;           // -1 for a symbolic or unknown dimension
  std::vector<std::string> dim_names;  // the symbolic names ("" where none)

  std::string Describe() const {
    if (!is_tensor) return fmt::format("'{}' (not a tensor)", name);
    std::string shape = "[";
    for (size_t i = 0; i < dims.size(); ++i) {
      if (i > 0) shape += ",";
      shape += dims[i] >= 0 ? std::to_string(dims[i])
                            : (dim_names[i].empty() ? std::string("?") : dim_names[i]);
    }
    return fmt::format("'{}' {} {}]", name, OrtTypeName(elem_type), shape);
  }
};

absl::StatusOr<OrtTensorInfo> DescribeTypeInfo(const Runtime& rt, std::string name,
                                               ort::OrtTypeInfo* raw) {
  const OrtApi& api = rt.api();
  Handle<ort::OrtTypeInfo> type_info(raw, ort::Releaser<ort::OrtTypeInfo>{api.ReleaseTypeInfo});
  OrtTensorInfo info;
  info.name = std::move(name);
  ort::ONNXType onnx_type = ort::ONNX_TYPE_UNKNOWN;
  if (absl::Status s = rt.Check(api.GetOnnxTypeFromTypeInfo(raw, &onnx_type), "GetOnnxType");
      !s.ok()) {
    return s;
  }
  if (onnx_type != ort::ONNX_TYPE_TENSOR) return info;
  info.is_tensor = true;
  const ort::OrtTensorTypeAndShapeInfo* tensor = nullptr;
  if (absl::Status s = rt.Check(api.CastTypeInfoToTensorInfo(raw, &tensor), "CastToTensorInfo");
      !s.ok()) {
    return s;
  }
  size_t rank = 0;
  absl::Status s = rt.Check(api.GetTensorElementType(tensor, &info.elem_type), "element type");
  if (s.ok()) s = rt.Check(api.GetDimensionsCount(tensor, &rank), "rank");
  if (!s.ok()) return s;
  info.dims.resize(rank);
  std::vector<const char*> names(rank, nullptr);
  s = rt.Check(api.GetDimensions(tensor, info.dims.data(), rank), "dims");
  if (s.ok()) s = rt.Check(api.GetSymbolicDimensions(tensor, names.data(), rank), "dim names");
  if (!s.ok()) return s;
  for (size_t i = 0; i < rank; ++i) {
    info.dim_names.emplace_back(names[i] != nullptr ? names[i] : "");
    if (info.dims[i] < 0) info.dims[i] = -1;
  }
  return info;
}

// The inputs (`inputs` true) or outputs of a session.
absl::StatusOr<std::vector<OrtTensorInfo>> DescribeSession(const Runtime& rt,
                                                           const OrtSession* session,
                                                           bool inputs) {
  const OrtApi& api = rt.api();
  size_t count = 0;
  absl::Status s = rt.Check(inputs ? api.SessionGetInputCount(session, &count)
                                   : api.SessionGetOutputCount(session, &count),
                            "count");
  if (!s.ok()) return s;
  std::vector<OrtTensorInfo> result;
  for (size_t i = 0; i < count; ++i) {
    char* raw_name = nullptr;
    s = rt.Check(inputs ? api.SessionGetInputName(session, i, rt.allocator(), &raw_name)
                        : api.SessionGetOutputName(session, i, rt.allocator(), &raw_name),
                 "name");
    if (!s.ok()) return s;
    std::string name = raw_name;
    rt.Check(api.AllocatorFree(rt.allocator(), raw_name), "free").IgnoreError();
    ort::OrtTypeInfo* type_info = nullptr;
    s = rt.Check(inputs ? api.SessionGetInputTypeInfo(session, i, &type_info)
                        : api.SessionGetOutputTypeInfo(session, i, &type_info),
                 "type info");
    if (!s.ok()) return s;
    absl::StatusOr<OrtTensorInfo> info = DescribeTypeInfo(rt, std::move(name), type_info);
    if (!info.ok()) return info.status();
    result.push_back(*std::move(info));
  }
  return result;
}

struct ModelData {
  std::string name;
  int max_batch_size = 0;
  std::string path;
  int64_t file_bytes = 0;
  const Runtime* runtime = nullptr;
  Handle<ort::OrtSessionOptions> options;
  std::vector<TensorSpec> inputs;   // config order: the order of ExecutionBatch::inputs()
  std::vector<TensorSpec> outputs;  // config order
  // Per config output: the model's dims with the batch dimension as -1, when every other
  // dimension is fixed; the runtime then writes the output into AllocateOutput's memory.
  std::vector<std::optional<std::vector<int64_t>>> known_output_dims;
};

// Element size in bytes (0 for STRING).
size_t ElementBytes(DataType type) { return type == DataType::kBytes ? 0 : DataTypeByteSize(type); }

bool Aligned(const void* p, size_t alignment) {
  return alignment <= 1 || reinterpret_cast<uintptr_t>(p) % alignment == 0;
}

class OrtInstance final : public ModelInstance {
 public:
  OrtInstance(std::shared_ptr<const ModelData> data, Handle<OrtSession> session)
      : data_(std::move(data)), session_(std::move(session)) {
    for (const TensorSpec& t : data_->inputs) input_names_.push_back(t.name.c_str());
  }

  absl::Status Execute(ExecutionBatch& batch) override {
    absl::Status status = Run(batch);
    if (status.ok()) return status;
    return absl::Status(status.code(),
                        fmt::format("model '{}': {}", data_->name, std::string(status.message())));
  }

  absl::Status Run(ExecutionBatch& batch) {
    const Runtime& rt = *data_->runtime;
    const OrtApi& api = rt.api();
    const auto views = batch.inputs();
    if (views.size() != data_->inputs.size()) {
      return absl::InvalidArgumentError(fmt::format(
          "the batch has {} inputs, the model takes {}", views.size(), data_->inputs.size()));
    }
    std::vector<Handle<OrtValue>> input_values;
    std::vector<const OrtValue*> input_ptrs;
    copies_.clear();
    for (const TensorView& view : views) {
      absl::StatusOr<Handle<OrtValue>> value = MakeInput(rt, view);
      if (!value.ok()) return value.status();
      input_ptrs.push_back(value->get());
      input_values.push_back(*std::move(value));
    }

    // Requested outputs; those of known shape get the memory they will be sent from.
    const int64_t batch_dim = data_->max_batch_size > 0 && !views.empty() && !views[0].shape.empty()
                                  ? views[0].shape[0]
                                  : -1;
    std::vector<size_t> wanted;  // indices into data_->outputs
    std::vector<const char*> output_names;
    std::vector<OrtValue*> output_ptrs;
    std::vector<Handle<OrtValue>> output_values;
    std::vector<bool> written_in_place;
    for (size_t j = 0; j < data_->outputs.size(); ++j) {
      const TensorSpec& spec = data_->outputs[j];
      if (!batch.OutputRequested(spec.name)) continue;
      wanted.push_back(j);
      output_names.push_back(spec.name.c_str());
      OrtValue* preset = nullptr;
      if (const auto& dims = data_->known_output_dims[j]; dims.has_value()) {
        std::vector<int64_t> shape = *dims;
        if (data_->max_batch_size > 0) shape[0] = batch_dim;
        if (std::none_of(shape.begin(), shape.end(), [](int64_t d) { return d < 0; })) {
          absl::StatusOr<size_t> bytes = FixedTensorByteSize(spec.datatype, shape);
          if (!bytes.ok()) return bytes.status();
          absl::StatusOr<std::byte*> out =
              batch.AllocateOutput(spec.name, spec.datatype, shape, *bytes);
          if (!out.ok()) return out.status();
          std::byte* memory = *out;
          static std::byte empty[16];
          if (*bytes == 0) memory = empty;
          if (Aligned(memory, ElementBytes(spec.datatype))) {
            absl::Status s = rt.Check(
                api.CreateTensorWithDataAsOrtValue(rt.cpu_memory(), memory, *bytes, shape.data(),
                                                   shape.size(), *OrtTypeOf(spec.datatype),
                                                   &preset),
                fmt::format("output '{}'", spec.name));
            if (!s.ok()) return s;
          }
        }
      }
      written_in_place.push_back(preset != nullptr);
      output_values.push_back(ort::MakeValueHandle(api, preset));
      output_ptrs.push_back(preset);
    }
    if (wanted.empty()) return absl::OkStatus();

    absl::Status run = rt.Check(
        api.Run(session_.get(), nullptr, input_names_.data(), input_ptrs.data(), input_ptrs.size(),
                output_names.data(), output_names.size(), output_ptrs.data()),
        "ONNX Runtime Run() failed");
    if (!run.ok()) return run;
    for (size_t k = 0; k < wanted.size(); ++k) {
      if (written_in_place[k]) continue;
      output_values[k].reset(output_ptrs[k]);
      absl::Status s = CopyOutput(rt, data_->outputs[wanted[k]], output_ptrs[k], batch_dim, batch);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<Handle<OrtValue>> MakeInput(const Runtime& rt, const TensorView& view) {
    const OrtApi& api = rt.api();
    std::optional<ort::ONNXTensorElementDataType> type = OrtTypeOf(view.datatype);
    if (!type) {
      return absl::InvalidArgumentError(
          fmt::format("input '{}': datatype {} has no ONNX element type", view.name,
                      DataTypeName(view.datatype)));
    }
    OrtValue* value = nullptr;
    if (view.datatype == DataType::kBytes) {
      std::optional<int64_t> count = ElementCount(view.shape);
      absl::StatusOr<std::vector<std::string_view>> elements =
          ParseBytesTensor(std::span<const std::byte>(view.data, view.byte_size), count);
      if (!elements.ok()) {
        return absl::InvalidArgumentError(fmt::format("input '{}': {}", view.name,
                                                      std::string(elements.status().message())));
      }
      absl::Status s = rt.Check(api.CreateTensorAsOrtValue(rt.allocator(), view.shape.data(),
                                                           view.shape.size(), *type, &value),
                                fmt::format("input '{}'", view.name));
      if (!s.ok()) return s;
      Handle<OrtValue> handle = ort::MakeValueHandle(api, value);
      // ONNX Runtime copies the strings; it takes them NUL-terminated.
      std::vector<std::string> strings(elements->begin(), elements->end());
      std::vector<const char*> pointers;
      for (const std::string& text : strings) pointers.push_back(text.c_str());
      s = rt.Check(api.FillStringTensor(value, pointers.data(), pointers.size()),
                   fmt::format("input '{}'", view.name));
      if (!s.ok()) return s;
      return handle;
    }
    void* data = const_cast<std::byte*>(view.data);
    static std::byte empty[16];
    if (view.byte_size == 0) data = empty;
    if (!Aligned(data, ElementBytes(view.datatype))) {
      // The runtime's kernels expect element-aligned memory: copy into an aligned buffer.
      auto& copy = copies_.emplace_back((view.byte_size + 7) / 8);
      std::memcpy(copy.data(), view.data, view.byte_size);
      data = copy.data();
    }
    absl::Status s = rt.Check(
        api.CreateTensorWithDataAsOrtValue(rt.cpu_memory(), data, view.byte_size,
                                           view.shape.data(), view.shape.size(), *type, &value),
        fmt::format("input '{}'", view.name));
    if (!s.ok()) return s;
    return ort::MakeValueHandle(api, value);
  }

  // An output the runtime allocated: checked and copied into AllocateOutput's memory.
  static absl::Status CopyOutput(const Runtime& rt, const TensorSpec& spec, OrtValue* value,
                                 int64_t batch_dim, ExecutionBatch& batch) {
    const OrtApi& api = rt.api();
    ort::OrtTensorTypeAndShapeInfo* raw_info = nullptr;
    absl::Status s = rt.Check(api.GetTensorTypeAndShape(value, &raw_info),
                              fmt::format("output '{}'", spec.name));
    if (!s.ok()) return s;
    Handle<ort::OrtTensorTypeAndShapeInfo> info(
        raw_info, ort::Releaser<ort::OrtTensorTypeAndShapeInfo>{api.ReleaseTensorTypeAndShapeInfo});
    ort::ONNXTensorElementDataType type = ort::ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    size_t rank = 0;
    s = rt.Check(api.GetTensorElementType(raw_info, &type), "output type");
    if (s.ok()) s = rt.Check(api.GetDimensionsCount(raw_info, &rank), "output rank");
    std::vector<int64_t> shape(rank);
    if (s.ok()) s = rt.Check(api.GetDimensions(raw_info, shape.data(), rank), "output shape");
    if (!s.ok()) return s;
    if (OrtTypeOf(spec.datatype) != type) {
      return absl::InternalError(fmt::format("output '{}' came back as {}, the config says {}",
                                             spec.name, OrtTypeName(type),
                                             DataTypeConfigName(spec.datatype)));
    }
    std::span<const int64_t> dims = shape;
    if (batch_dim >= 0) {
      if (shape.empty() || shape[0] != batch_dim) {
        return absl::InvalidArgumentError(
            fmt::format("output '{}' has shape {}, whose first dimension is not the batch size {}",
                        spec.name, ShapeToString(shape), batch_dim));
      }
      dims = dims.subspan(1);
    }
    const Shape& expected = spec.reshape ? *spec.reshape : spec.dims;
    if (!ShapeMatchesDims(dims, expected)) {
      return absl::InvalidArgumentError(
          fmt::format("output '{}' has shape {}, but the config declares dims {}", spec.name,
                      ShapeToString(shape), ShapeToString(expected)));
    }
    if (spec.datatype == DataType::kBytes) {
      std::optional<int64_t> count = ElementCount(shape);
      size_t total = 0;
      s = rt.Check(api.GetStringTensorDataLength(value, &total), "string output length");
      if (!s.ok()) return s;
      std::string chars(total, '\0');
      std::vector<size_t> offsets(static_cast<size_t>(count.value_or(0)));
      s = rt.Check(api.GetStringTensorContent(value, chars.data(), total, offsets.data(),
                                              offsets.size()),
                   "string output");
      if (!s.ok()) return s;
      std::string serialized;
      for (size_t i = 0; i < offsets.size(); ++i) {
        const size_t end = i + 1 < offsets.size() ? offsets[i + 1] : total;
        AppendBytesElement(serialized, std::string_view(chars).substr(offsets[i], end - offsets[i]));
      }
      absl::StatusOr<std::byte*> out =
          batch.AllocateOutput(spec.name, spec.datatype, shape, serialized.size());
      if (!out.ok()) return out.status();
      if (!serialized.empty()) std::memcpy(*out, serialized.data(), serialized.size());
      return absl::OkStatus();
    }
    absl::StatusOr<size_t> bytes = FixedTensorByteSize(spec.datatype, shape);
    if (!bytes.ok()) return bytes.status();
    void* source = nullptr;
    s = rt.Check(api.GetTensorMutableData(value, &source), "output data");
    if (!s.ok()) return s;
    absl::StatusOr<std::byte*> out = batch.AllocateOutput(spec.name, spec.datatype, shape, *bytes);
    if (!out.ok()) return out.status();
    if (*bytes > 0) std::memcpy(*out, source, *bytes);
    return absl::OkStatus();
  }

  std::shared_ptr<const ModelData> data_;
  Handle<OrtSession> session_;
  std::vector<const char*> input_names_;
  std::vector<std::vector<uint64_t>> copies_;  // aligned copies of misaligned inputs
};

absl::StatusOr<Handle<OrtSession>> CreateSession(const ModelData& m) {
  const OrtApi& api = m.runtime->api();
  OrtSession* session = nullptr;
  absl::Status s =
      m.runtime->Check(api.CreateSession(m.runtime->env(), m.path.c_str(), m.options.get(),
                                         &session),
                       fmt::format("ONNX Runtime cannot load '{}'", m.path));
  if (!s.ok()) return s;
  return Handle<OrtSession>(session, ort::Releaser<OrtSession>{api.ReleaseSession});
}

// Checks the config's tensors against the model's: every config tensor is one of the model's by
// name, with its datatype and a shape that agrees where both are fixed; every model input is in
// the config.
absl::Status CheckTensors(const ModelSpec& spec, std::string_view kind,
                          const std::vector<TensorSpec>& config,
                          const std::vector<OrtTensorInfo>& model) {
  std::string model_names;
  for (const OrtTensorInfo& t : model) model_names += (model_names.empty() ? "" : ", ") + t.Describe();
  for (const TensorSpec& t : config) {
    auto it = std::find_if(model.begin(), model.end(),
                           [&](const OrtTensorInfo& m) { return m.name == t.name; });
    if (it == model.end()) {
      return absl::InvalidArgumentError(fmt::format(
          "config {} '{}' is not an {} of the ONNX model (its {}s: {})", kind, t.name, kind, kind,
          model_names));
    }
    if (!it->is_tensor) {
      return absl::InvalidArgumentError(fmt::format(
          "model {} '{}' is not a tensor: the onnxruntime backend serves tensors only", kind,
          t.name));
    }
    if (OrtTypeOf(t.datatype) != it->elem_type) {
      return absl::InvalidArgumentError(fmt::format(
          "config {} '{}' has data_type {}, but the ONNX model's is {}", kind, t.name,
          DataTypeConfigName(t.datatype), OrtTypeName(it->elem_type)));
    }
    Shape dims = t.reshape.value_or(t.dims);
    if (spec.max_batch_size > 0) dims.insert(dims.begin(), -1);
    bool match = dims.size() == it->dims.size();
    for (size_t d = 0; match && d < dims.size(); ++d) {
      match = dims[d] < 0 || it->dims[d] < 0 || dims[d] == it->dims[d];
    }
    if (match && spec.max_batch_size > 0 && it->dims[0] >= 0 && it->dims[0] != 1) {
      match = false;  // a fixed first dimension other than 1 cannot be the batch dimension
    }
    if (!match) {
      return absl::InvalidArgumentError(fmt::format(
          "config {} '{}' has dims {} ({}), but the ONNX model's is {}", kind, t.name,
          ShapeToString(t.reshape.value_or(t.dims)),
          spec.max_batch_size > 0 ? "with a batch dimension first: max_batch_size > 0"
                                  : "no batch dimension: max_batch_size 0",
          it->Describe()));
    }
  }
  if (kind == "input") {
    for (const OrtTensorInfo& m : model) {
      if (std::none_of(config.begin(), config.end(),
                       [&](const TensorSpec& t) { return t.name == m.name; })) {
        return absl::InvalidArgumentError(fmt::format(
            "ONNX model input {} is missing from the config's inputs", m.Describe()));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ort::GraphOptimizationLevel> OptimizationLevel(const ModelSpec& spec) {
  auto it = spec.parameters.find("graph_optimization_level");
  if (it == spec.parameters.end()) return ort::ORT_ENABLE_ALL;
  const std::string& v = it->second;
  if (v == "disable_all" || v == "0" || v == "-1") return ort::ORT_DISABLE_ALL;
  if (v == "basic" || v == "1") return ort::ORT_ENABLE_BASIC;
  if (v == "extended" || v == "2") return ort::ORT_ENABLE_EXTENDED;
  if (v == "all" || v == "99") return ort::ORT_ENABLE_ALL;
  return absl::InvalidArgumentError(fmt::format(
      "parameter graph_optimization_level must be disable_all, basic, extended or all, got '{}'",
      v));
}

class OrtBackend final : public Backend {
 public:
  absl::StatusOr<std::unique_ptr<BackendModel>> LoadModel(const ModelSpec& spec) override {
    absl::StatusOr<std::unique_ptr<BackendModel>> model = Load(spec);
    if (model.ok()) return model;
    return absl::Status(model.status().code(),
                        fmt::format("model '{}' version {}: {}", spec.name, spec.version,
                                    std::string(model.status().message())));
  }

 private:
  static absl::StatusOr<std::unique_ptr<BackendModel>> Load(const ModelSpec& spec) {
    const int instances = std::max(spec.instance_count, 1);
    absl::StatusOr<int> intra = IntParameter(spec, "intra_op_thread_count",
                                             std::max(1, DefaultThreadCount() / instances), 0, 1024);
    if (!intra.ok()) return intra.status();
    absl::StatusOr<int> inter = IntParameter(spec, "inter_op_thread_count", 1, 0, 1024);
    if (!inter.ok()) return inter.status();
    absl::StatusOr<ort::GraphOptimizationLevel> level = OptimizationLevel(spec);
    if (!level.ok()) return level.status();
    absl::StatusOr<bool> trial = BoolParameter(spec, "LOAD_TRIAL_RUN", true);
    if (!trial.ok()) return trial.status();
    absl::StatusOr<bool> spinning = BoolParameter(spec, "allow_spinning", true);
    if (!spinning.ok()) return spinning.status();
    absl::StatusOr<std::string> path = ModelFilePath(spec, kDefaultFilename, "onnxruntime");
    if (!path.ok()) return path.status();

    absl::StatusOr<const Runtime*> runtime = Runtime::Get();
    if (!runtime.ok()) return runtime.status();
    const Runtime& rt = **runtime;
    const OrtApi& api = rt.api();

    auto m = std::make_shared<ModelData>();
    m->name = spec.name;
    m->max_batch_size = spec.max_batch_size;
    m->path = *path;
    m->runtime = &rt;
    m->inputs = spec.inputs;
    m->outputs = spec.outputs;
    std::error_code ec;
    m->file_bytes = static_cast<int64_t>(std::filesystem::file_size(m->path, ec));

    ort::OrtSessionOptions* options = nullptr;
    absl::Status s = rt.Check(api.CreateSessionOptions(&options), "CreateSessionOptions");
    if (!s.ok()) return s;
    m->options = Handle<ort::OrtSessionOptions>(
        options, ort::Releaser<ort::OrtSessionOptions>{api.ReleaseSessionOptions});
    s = rt.Check(api.SetIntraOpNumThreads(options, *intra), "intra_op_thread_count");
    if (s.ok()) s = rt.Check(api.SetInterOpNumThreads(options, *inter), "inter_op_thread_count");
    if (s.ok()) {
      s = rt.Check(api.SetSessionExecutionMode(options, *inter > 1 ? ort::ORT_PARALLEL
                                                                   : ort::ORT_SEQUENTIAL),
                   "execution mode");
    }
    if (s.ok()) s = rt.Check(api.SetSessionGraphOptimizationLevel(options, *level), "level");
    if (s.ok()) s = rt.Check(api.SetSessionLogSeverityLevel(options, 3), "log level");
    if (s.ok()) {
      s = rt.Check(api.AddSessionConfigEntry(options, "session.intra_op.allow_spinning",
                                             *spinning ? "1" : "0"),
                   "allow_spinning");
    }
    if (!s.ok()) return s;

    absl::StatusOr<Handle<OrtSession>> session = CreateSession(*m);
    if (!session.ok()) return session.status();
    absl::StatusOr<std::vector<OrtTensorInfo>> model_inputs =
        DescribeSession(rt, session->get(), true);
    if (!model_inputs.ok()) return model_inputs.status();
    absl::StatusOr<std::vector<OrtTensorInfo>> model_outputs =
        DescribeSession(rt, session->get(), false);
    if (!model_outputs.ok()) return model_outputs.status();
    if (s = CheckTensors(spec, "input", spec.inputs, *model_inputs); !s.ok()) return s;
    if (s = CheckTensors(spec, "output", spec.outputs, *model_outputs); !s.ok()) return s;

    // Outputs whose shape is known before a run: every dim fixed but the batch dimension, which
    // must be the symbolic dimension the first input's batch dimension is.
    std::string input_batch_name;
    if (!model_inputs->empty() && !(*model_inputs)[0].dims.empty()) {
      input_batch_name = (*model_inputs)[0].dim_names[0];
    }
    for (const TensorSpec& t : spec.outputs) {
      const OrtTensorInfo& info = *std::find_if(
          model_outputs->begin(), model_outputs->end(),
          [&](const OrtTensorInfo& o) { return o.name == t.name; });
      std::optional<std::vector<int64_t>> known = info.dims;
      if (t.datatype == DataType::kBytes) known.reset();
      for (size_t d = 0; known && d < info.dims.size(); ++d) {
        const bool batch_dim = spec.max_batch_size > 0 && d == 0;
        if (batch_dim) {
          if (info.dims[0] >= 0 ||
              (info.dim_names[0].empty() || info.dim_names[0] != input_batch_name)) {
            known.reset();
          }
        } else if (info.dims[d] < 0) {
          known.reset();
        }
      }
      m->known_output_dims.push_back(std::move(known));
    }

    std::vector<std::string> in_place;
    for (size_t j = 0; j < spec.outputs.size(); ++j) {
      if (m->known_output_dims[j]) in_place.push_back(spec.outputs[j].name);
    }
    auto instance = std::make_unique<OrtInstance>(m, *std::move(session));
    if (*trial) {
      if (std::optional<TrialBatch> batch = TrialBatch::Create(spec)) {
        absl::Status status = instance->Run(*batch);
        if (!status.ok()) {
          return absl::InvalidArgumentError(fmt::format(
              "a trial run on zero-filled inputs of the config's shapes ({}) failed: {}",
              batch->Describe(), std::string(status.message())));
        }
      }
    }
    spdlog::info(
        "model '{}' version {}: ONNX Runtime {} session on '{}', {} intra-op / {} inter-op "
        "thread(s), outputs written in place: {}",
        spec.name, spec.version, ort::kOrtLibraryVersion, m->path, *intra, *inter,
        in_place.empty() ? std::string("none") : fmt::format("{}", fmt::join(in_place, ", ")));
    return std::make_unique<OrtModelWithInstance>(std::move(m), std::move(instance));
  }

  // The model, holding the loaded and checked first instance until CreateInstance(0).
  class OrtModelWithInstance final : public BackendModel {
   public:
    OrtModelWithInstance(std::shared_ptr<const ModelData> data, std::unique_ptr<OrtInstance> first)
        : data_(std::move(data)), first_(std::move(first)) {}
    absl::StatusOr<std::unique_ptr<ModelInstance>> CreateInstance(int index) override {
      ++sessions_;
      if (index == 0 && first_) return std::unique_ptr<ModelInstance>(std::move(first_));
      absl::StatusOr<Handle<OrtSession>> session = CreateSession(*data_);
      if (!session.ok()) return session.status();
      return std::make_unique<OrtInstance>(data_, *std::move(session));
    }
    int64_t MemoryBytes() const override {
      return data_->file_bytes * std::max(sessions_.load(), 1);
    }

   private:
    std::shared_ptr<const ModelData> data_;
    std::unique_ptr<OrtInstance> first_;
    std::atomic<int> sessions_{0};
  };
};

}  // namespace
}  // namespace inferd::onnxruntime

INFERD_BACKEND_DEFINE(inferd::onnxruntime::OrtBackend)
