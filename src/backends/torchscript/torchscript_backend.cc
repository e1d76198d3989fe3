// SPDX-License-Identifier: Apache-2.0
// The torchscript backend plugin (libinferd_backend_torchscript.so): TorchScript modules
// (model.pt) on libtorch. This is the only translation unit that includes libtorch; every
// libtorch exception is caught here and becomes a Status that names the model.
//
// Config parameters:
//   INTRA_OP_THREAD_COUNT   libtorch's intra-op threads (default: the CPUs the process may run on). libtorch
//                           runs its intra-op work on OpenMP, whose thread count is a per-thread
//                           setting: each instance thread applies it before it runs the model,
//                           and each instance thread gets its own OpenMP team of that many
//                           threads. N instances of a model therefore use N x threads cores.
//   OPTIMIZE_FOR_INFERENCE  torch::jit::optimize_for_inference (freeze, fold BatchNorm into
//                           convolutions, fuse); default false. Never silently wrong: at load the
//                           optimised and the unoptimised module run on the same pseudo-random
//                           trial input (when the config's shapes are fixed), and when an FP32/FP64
//                           output differs by more than OPTIMIZE_TOLERANCE (default 1e-3) times
//                           max(1, the output's largest magnitude), the model is served
//                           unoptimised and a warning says so and by how much.
//   LOAD_TRIAL_RUN          run the model once at load on zero-filled inputs of the config's
//                           shapes and datatypes, so a mismatched config fails the load
//                           (default true; skipped when an input has a variable dimension).
// Instances of one model share the loaded module (its weights); each runs forward() on its own
// thread under c10::InferenceMode. Tensor memory comes from CachingCpuAllocator, libtorch's CPU
// allocator once this plugin is loaded; unloading a model empties its cache.
#include <ATen/Parallel.h>
#include <torch/script.h>


#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/backend_parameters.h"
#include "backends/torchscript/caching_cpu_allocator.h"
#include "backends/torchscript/tensor_binding.h"
#include "backends/trial_batch.h"
#include "fmt/format.h"
#include "inferd/backend.h"
#include "spdlog/spdlog.h"

namespace inferd::torchscript {
namespace {

constexpr std::string_view kDefaultFilename = "model.pt";

std::optional<c10::ScalarType> ToScalarType(DataType type) {
  switch (type) {
    case DataType::kBool:
      return c10::ScalarType::Bool;
    case DataType::kUint8:
      return c10::ScalarType::Byte;
    case DataType::kInt8:
      return c10::ScalarType::Char;
    case DataType::kInt16:
      return c10::ScalarType::Short;
    case DataType::kInt32:
      return c10::ScalarType::Int;
    case DataType::kInt64:
      return c10::ScalarType::Long;
    case DataType::kFp16:
      return c10::ScalarType::Half;
    case DataType::kFp32:
      return c10::ScalarType::Float;
    case DataType::kFp64:
      return c10::ScalarType::Double;
    case DataType::kBf16:
      return c10::ScalarType::BFloat16;
    default:
      return std::nullopt;  // UINT16/32/64 and BYTES have no torch tensor type.
  }
}

std::optional<DataType> FromScalarType(c10::ScalarType type) {
  for (DataType t :
       {DataType::kBool, DataType::kUint8, DataType::kInt8, DataType::kInt16, DataType::kInt32,
        DataType::kInt64, DataType::kFp16, DataType::kFp32, DataType::kFp64, DataType::kBf16}) {
    if (ToScalarType(t) == type) return t;
  }
  return std::nullopt;
}

// libtorch's message without its C++ backtrace. An error raised inside TorchScript code comes
// with the script's traceback; its last line is the error itself.
std::string TorchMessage(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10_error != nullptr ? c10_error->what_without_backtrace() : e.what();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  if (text.find("Traceback of TorchScript") != std::string::npos) {
    text = text.substr(text.find_last_of('\n') + 1);
  } else if (const size_t eol = text.find('\n'); eol != std::string::npos) {
    text = text.substr(0, eol);
  }
  return text;
}

// What every instance of one loaded model shares.
struct LoadedModule {
  std::string name;
  int max_batch_size = 0;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  std::vector<c10::ScalarType> input_types;  // per config input
  InputBinding binding;
  std::vector<c10::IValue> defaults;  // per binding.default_filled
  std::vector<size_t> output_index;   // per config output: its result
  int threads = 1;
  torch::jit::Module module;
};

// The tensors forward() returned: a Tensor, or a tuple or list of them.
absl::StatusOr<std::vector<at::Tensor>> ResultTensors(const c10::IValue& result) {
  std::vector<at::Tensor> tensors;
  if (result.isTensor()) {
    tensors.push_back(result.toTensor());
    return tensors;
  }
  std::vector<c10::IValue> elements;
  if (result.isTuple()) {
    elements = result.toTupleRef().elements().vec();
  } else if (result.isList()) {
    elements = result.toListRef().vec();
  } else {
    return absl::InvalidArgumentError(fmt::format(
        "forward() returned a {}, not a tensor or a tuple of tensors", result.tagKind()));
  }
  for (size_t i = 0; i < elements.size(); ++i) {
    if (!elements[i].isTensor()) {
      return absl::InvalidArgumentError(
          fmt::format("result {} of forward() is a {}, not a tensor", i, elements[i].tagKind()));
    }
    tensors.push_back(elements[i].toTensor());
  }
  return tensors;
}

// The shape an output must have, without the batch dimension.
const Shape& ExpectedDims(const TensorSpec& spec) {
  return spec.reshape ? *spec.reshape : spec.dims;
}

// Runs one batch; errors say what failed, without the model's name (the caller adds it).
// libtorch exceptions propagate to the caller.
absl::Status RunBatch(const LoadedModule& m, ExecutionBatch& batch) {
  const auto views = batch.inputs();
  if (views.size() != m.inputs.size()) {
    return absl::InvalidArgumentError(
        fmt::format("the batch has {} inputs, the model takes {}", views.size(), m.inputs.size()));
  }
  std::vector<c10::IValue> args(m.binding.argument_count);
  for (size_t d = 0; d < m.binding.default_filled.size(); ++d) {
    args[m.binding.default_filled[d]] = m.defaults[d];
  }
  for (size_t i = 0; i < views.size(); ++i) {
    const TensorView& view = views[i];
    const std::vector<int64_t> sizes(view.shape.begin(), view.shape.end());
    const auto options = at::TensorOptions().dtype(m.input_types[i]);
    at::Tensor tensor;
    const size_t element_size = c10::elementSize(m.input_types[i]);
    if (reinterpret_cast<uintptr_t>(view.data) % element_size == 0) {
      // Zero-copy: the model reads the request's memory (the transport's buffer).
      tensor = at::from_blob(const_cast<std::byte*>(view.data), sizes, options);
    } else {
      tensor = at::empty(sizes, options);  // An unaligned view (inside an HTTP body): copy.
      std::memcpy(tensor.data_ptr(), view.data, view.byte_size);
    }
    if (static_cast<size_t>(tensor.nbytes()) != view.byte_size) {
      return absl::InvalidArgumentError(fmt::format("input '{}' has {} bytes, shape {} needs {}",
                                                    view.name, view.byte_size,
                                                    ShapeToString(view.shape), tensor.nbytes()));
    }
    args[m.binding.position[i]] = std::move(tensor);
  }

  c10::IValue result = m.module.get_method("forward")(std::move(args));
  absl::StatusOr<std::vector<at::Tensor>> results = ResultTensors(result);
  if (!results.ok()) return results.status();

  const int64_t batch_dim =
      m.max_batch_size > 0 && !views.empty() && !views[0].shape.empty() ? views[0].shape[0] : -1;
  for (size_t j = 0; j < m.outputs.size(); ++j) {
    const TensorSpec& spec = m.outputs[j];
    if (!batch.OutputRequested(spec.name)) continue;
    if (m.output_index[j] >= results->size()) {
      return absl::InvalidArgumentError(
          fmt::format("config output '{}' is result {}, but forward() returned {} tensor(s)",
                      spec.name, m.output_index[j], results->size()));
    }
    at::Tensor tensor = (*results)[m.output_index[j]];
    const std::optional<DataType> type = FromScalarType(tensor.scalar_type());
    if (type != spec.datatype) {
      return absl::InvalidArgumentError(
          fmt::format("output '{}' is a {} tensor, but the config declares {}", spec.name,
                      c10::toString(tensor.scalar_type()), DataTypeConfigName(spec.datatype)));
    }
    tensor = tensor.contiguous();
    const std::vector<int64_t> shape(tensor.sizes().begin(), tensor.sizes().end());
    std::span<const int64_t> dims = shape;
    if (m.max_batch_size > 0) {
      if (shape.empty() || shape[0] != batch_dim) {
        return absl::InvalidArgumentError(
            fmt::format("output '{}' has shape {}, whose first dimension is not the batch size {}",
                        spec.name, ShapeToString(shape), batch_dim));
      }
      dims = dims.subspan(1);
    }
    if (!ShapeMatchesDims(dims, ExpectedDims(spec))) {
      return absl::InvalidArgumentError(
          fmt::format("output '{}' has shape {}, but the config declares dims {}", spec.name,
                      ShapeToString(shape), ShapeToString(ExpectedDims(spec))));
    }
    const size_t bytes = tensor.nbytes();
    absl::StatusOr<std::byte*> out = batch.AllocateOutput(spec.name, spec.datatype, shape, bytes);
    if (!out.ok()) return out.status();
    if (bytes > 0) std::memcpy(*out, tensor.data_ptr(), bytes);
  }
  return absl::OkStatus();
}

// Runs a batch with this thread's intra-op thread count set and under InferenceMode; libtorch
// exceptions become INTERNAL statuses.
absl::Status GuardedRun(const LoadedModule& m, ExecutionBatch& batch) {
  try {
    // OpenMP's thread count is a per-thread setting: apply it on the thread that runs the model.
    if (at::get_num_threads() != m.threads) at::set_num_threads(m.threads);
    c10::InferenceMode inference_mode;
    return RunBatch(m, batch);
  } catch (const std::exception& e) {
    return absl::InternalError(fmt::format("forward() failed: {}", TorchMessage(e)));
  }
}

class TorchScriptInstance final : public ModelInstance {
 public:
  explicit TorchScriptInstance(std::shared_ptr<const LoadedModule> module)
      : module_(std::move(module)) {}

  absl::Status Execute(ExecutionBatch& batch) override {
    absl::Status status = GuardedRun(*module_, batch);
    if (status.ok()) return status;
    return absl::Status(
        status.code(), fmt::format("model '{}': {}", module_->name, std::string(status.message())));
  }

 private:
  std::shared_ptr<const LoadedModule> module_;
};

class TorchScriptModel final : public BackendModel {
 public:
  TorchScriptModel(std::shared_ptr<const LoadedModule> module, int64_t memory_bytes)
      : module_(std::move(module)), memory_bytes_(memory_bytes) {}
  // Unloading gives the tensor memory the model's calls left cached back to the system.
  ~TorchScriptModel() override {
    module_.reset();
    CachingCpuAllocator::Get().EmptyCache();
  }

  absl::StatusOr<std::unique_ptr<ModelInstance>> CreateInstance(int /*index*/) override {
    return std::make_unique<TorchScriptInstance>(module_);
  }
  int64_t MemoryBytes() const override { return memory_bytes_; }

 private:
  std::shared_ptr<const LoadedModule> module_;
  int64_t memory_bytes_;
};

// The largest difference between two runs' FP32/FP64 outputs, relative to max(1, the first run's
// largest magnitude), over every output; and the output where it is.
std::pair<double, std::string> LargestDifference(const ModelSpec& spec, const TrialBatch& a,
                                                 const TrialBatch& b) {
  double worst = 0;
  std::string where;
  for (const TensorSpec& out : spec.outputs) {
    const std::vector<std::byte>& x = a.Output(out.name);
    const std::vector<std::byte>& y = b.Output(out.name);
    if (x.size() != y.size()) return {INFINITY, out.name};
    auto values = [&](const std::vector<std::byte>& bytes, size_t i) {
      if (out.datatype == DataType::kFp64) {
        double v;
        std::memcpy(&v, bytes.data() + i * 8, 8);
        return v;
      }
      float v;
      std::memcpy(&v, bytes.data() + i * 4, 4);
      return static_cast<double>(v);
    };
    if (out.datatype != DataType::kFp32 && out.datatype != DataType::kFp64) {
      if (x != y) return {INFINITY, out.name};
      continue;
    }
    const size_t n = x.size() / DataTypeByteSize(out.datatype);
    double scale = 1;
    for (size_t i = 0; i < n; ++i) scale = std::max(scale, std::abs(values(x, i)));
    for (size_t i = 0; i < n; ++i) {
      const double d = std::abs(values(x, i) - values(y, i)) / scale;
      if (!(d <= worst)) {
        worst = d;
        where = out.name;
      }
    }
  }
  return {worst, where};
}

// Runs the unoptimised and the optimised module on the same pseudo-random trial input; when they
// disagree beyond `tolerance`, `m` gets the unoptimised module back and a warning is logged. An
// input with a variable dimension or a datatype without a fixed size skips the check (logged).
absl::Status CheckOptimizedAgrees(const ModelSpec& spec, LoadedModule& m,
                                  const torch::jit::Module& original, double tolerance) {
  std::optional<TrialBatch> optimized_run = TrialBatch::Create(spec);
  std::optional<TrialBatch> original_run = TrialBatch::Create(spec);
  if (!optimized_run || !original_run) {
    spdlog::warn(
        "model '{}' version {}: optimize_for_inference is on but could not be checked against "
        "the unoptimised module (an input has a variable dimension)",
        spec.name, spec.version);
    return absl::OkStatus();
  }
  optimized_run->FillPseudoRandom();
  original_run->FillPseudoRandom();
  torch::jit::Module optimized = m.module;
  m.module = original;
  absl::Status status = GuardedRun(m, *original_run);
  m.module = optimized;
  if (status.ok()) status = GuardedRun(m, *optimized_run);
  if (!status.ok()) {
    return absl::InvalidArgumentError(fmt::format(
        "a trial run on the config's datatypes and shapes ({}) failed: {}",
        original_run->Describe(), std::string(status.message())));
  }
  const auto [difference, output] = LargestDifference(spec, *original_run, *optimized_run);
  if (difference <= tolerance) {
    spdlog::info("model '{}' version {}: optimize_for_inference checked: outputs within {:.2g} "
                 "(relative) of the unoptimised module's",
                 spec.name, spec.version, difference);
    return absl::OkStatus();
  }
  spdlog::warn(
      "model '{}' version {}: optimize_for_inference changes output '{}' by {:.3g} (relative to "
      "its largest magnitude; OPTIMIZE_TOLERANCE {:.3g}) on a trial input: serving the "
      "UNOPTIMISED module instead",
      spec.name, spec.version, output, difference, tolerance);
  m.module = original;
  return absl::OkStatus();
}

class TorchScriptBackend final : public Backend {
 public:
  // Activations come from a cache of freed blocks, not from a fresh malloc per call (see
  // caching_cpu_allocator.h).
  TorchScriptBackend() { CachingCpuAllocator::Install(); }

  absl::StatusOr<std::unique_ptr<BackendModel>> LoadModel(const ModelSpec& spec) override {
    absl::StatusOr<std::unique_ptr<BackendModel>> model = Load(spec);
    if (model.ok()) return model;
    CachingCpuAllocator::Get().EmptyCache();  // What the failed load freed.
    return absl::Status(model.status().code(),
                        fmt::format("model '{}' version {}: {}", spec.name, spec.version,
                                    std::string(model.status().message())));
  }

 private:
  // Errors without the model's name; LoadModel adds it.
  static absl::StatusOr<std::unique_ptr<BackendModel>> Load(const ModelSpec& spec) {
    auto m = std::make_shared<LoadedModule>();
    m->name = spec.name;
    m->max_batch_size = spec.max_batch_size;
    m->inputs = spec.inputs;
    m->outputs = spec.outputs;
    for (const auto* list : {&spec.inputs, &spec.outputs}) {
      for (const TensorSpec& t : *list) {
        const std::optional<c10::ScalarType> type = ToScalarType(t.datatype);
        if (!type) {
          return absl::InvalidArgumentError(
              fmt::format("'{}' has datatype {}, which TorchScript tensors cannot hold", t.name,
                          DataTypeConfigName(t.datatype)));
        }
        if (list == &spec.inputs) m->input_types.push_back(*type);
      }
    }
    absl::StatusOr<int> threads =
        IntParameter(spec, "INTRA_OP_THREAD_COUNT", DefaultThreadCount(), 1, 1024);
    if (!threads.ok()) return threads.status();
    m->threads = *threads;
    absl::StatusOr<bool> optimize = BoolParameter(spec, "OPTIMIZE_FOR_INFERENCE", false);
    if (!optimize.ok()) return optimize.status();
    absl::StatusOr<double> tolerance = DoubleParameter(spec, "OPTIMIZE_TOLERANCE", 1e-3);
    if (!tolerance.ok()) return tolerance.status();
    std::optional<torch::jit::Module> original;  // the unoptimised module, until checked
    absl::StatusOr<bool> trial = BoolParameter(spec, "LOAD_TRIAL_RUN", true);
    if (!trial.ok()) return trial.status();
    // Process-wide, like the allocator: applied (once the load succeeds) only by a config that
    // sets it; the last such load wins.
    const bool sets_cache = spec.parameters.contains("TENSOR_CACHE_MB");
    absl::StatusOr<int> cache_mb = IntParameter(
        spec, "TENSOR_CACHE_MB",
        static_cast<int>(CachingCpuAllocator::kDefaultMaxCachedBytes >> 20), 0, 1 << 20);
    if (!cache_mb.ok()) return cache_mb.status();

    absl::StatusOr<std::string> model_path = ModelFilePath(spec, kDefaultFilename, "torchscript");
    if (!model_path.ok()) return model_path.status();
    const std::string& path = *model_path;

    int64_t memory_bytes = 0;
    try {
      at::set_num_threads(m->threads);
      try {
        m->module = torch::jit::load(path);
      } catch (const std::exception& e) {
        return absl::InvalidArgumentError(
            fmt::format("cannot load '{}' as a TorchScript module: {}", path, TorchMessage(e)));
      }
      m->module.eval();
      if (!m->module.find_method("forward")) {
        return absl::InvalidArgumentError(fmt::format("'{}' has no forward() method", path));
      }
      const c10::FunctionSchema& schema = m->module.get_method("forward").function().getSchema();
      std::vector<ArgumentInfo> arguments;
      for (size_t i = 1; i < schema.arguments().size(); ++i) {  // arguments()[0] is self
        const c10::Argument& arg = schema.arguments()[i];
        arguments.push_back(ArgumentInfo{arg.name(), arg.default_value().has_value()});
      }
      absl::StatusOr<InputBinding> binding = BindInputs(spec.inputs, arguments);
      if (!binding.ok()) return binding.status();
      m->binding = *std::move(binding);
      for (size_t p : m->binding.default_filled) {
        m->defaults.push_back(*schema.arguments()[p + 1].default_value());
      }
      std::optional<size_t> result_count;
      if (schema.returns().size() == 1) {
        const c10::TypePtr& type = schema.returns()[0].type();
        if (type->kind() == c10::TypeKind::TensorType) result_count = 1;
        if (const auto tuple = type->cast<c10::TupleType>()) {
          result_count = tuple->elements().size();
        }
      }
      absl::StatusOr<std::vector<size_t>> outputs = BindOutputs(spec.outputs, result_count);
      if (!outputs.ok()) return outputs.status();
      m->output_index = *std::move(outputs);

      for (const at::Tensor& p : m->module.parameters()) memory_bytes += p.nbytes();
      for (const at::Tensor& b : m->module.buffers()) memory_bytes += b.nbytes();
      if (*optimize) {
        original = m->module.clone();
        m->module = torch::jit::optimize_for_inference(m->module);
      }
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          fmt::format("preparing '{}' failed: {}", path, TorchMessage(e)));
    }

    if (*optimize && original) {
      absl::Status checked = CheckOptimizedAgrees(spec, *m, *original, *tolerance);
      if (!checked.ok()) return checked;
      original.reset();
    }
    if (*trial) {
      if (std::optional<TrialBatch> batch = TrialBatch::Create(spec)) {
        absl::Status status = GuardedRun(*m, *batch);
        if (!status.ok()) {
          return absl::InvalidArgumentError(fmt::format(
              "the config does not match the model: a trial run on zero-filled inputs of the "
              "config's datatypes and shapes ({}) failed: {}",
              batch->Describe(), std::string(status.message())));
        }
      }
    }
    // What the load freed (weights replaced by optimize_for_inference, the trial run's
    // activations) is not what the calls will ask for: give it back now.
    CachingCpuAllocator::Get().EmptyCache();
    if (sets_cache) {
      CachingCpuAllocator::Get().set_max_cached_bytes(static_cast<size_t>(*cache_mb) << 20);
    }
    spdlog::info(
        "model '{}' version {}: TorchScript module '{}' ({:.1f} MiB of weights), inputs bound by "
        "{}, {} intra-op thread(s), optimize_for_inference {}",
        spec.name, spec.version, path, static_cast<double>(memory_bytes) / (1 << 20),
        m->binding.rule, m->threads, *optimize ? "on" : "off");
    return std::make_unique<TorchScriptModel>(std::move(m), memory_bytes);
  }
};

}  // namespace
}  // namespace inferd::torchscript

INFERD_BACKEND_DEFINE(inferd::torchscript::TorchScriptBackend)
