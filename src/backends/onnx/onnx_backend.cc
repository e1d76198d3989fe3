// SPDX-License-Identifier: Apache-2.0
// The opencv_dnn backend plugin (libinferd_backend_opencv_dnn.so): ONNX models (model.onnx) on
// OpenCV DNN 4.6, the ONNX runtime Debian 12 has; a config reaches it only with
// `backend: "opencv_dnn"` (ONNX's platform names mean ONNX Runtime, the onnxruntime backend). Every OpenCV exception is caught here and becomes a Status
// that names the model.
//
// Before OpenCV reads a model, the plugin reads the model's graph itself (onnx_graph.h): the
// config's inputs and outputs must be the graph's by name, datatype and shape, and the
// Identity-on-initializer nodes torch's exporter emits, which OpenCV 4.6 rejects, are rewritten.
// OpenCV DNN computes in FP32: inputs and outputs must be FP32. Models OpenCV 4.6 is known not to
// load are listed in docs/backends.md.
//
// Config parameters:
//   intra_op_thread_count  OpenCV's worker threads (default: the CPUs the process may run on); the name of
//                          Triton's ONNX Runtime backend parameter. OpenCV's thread pool is one
//                          per process: the last model loaded sets it for all.
//   LOAD_TRIAL_RUN         run the model once at load on zero-filled inputs (default true).
// Each instance has its own cv::dnn::Net (a Net is not thread-safe): the first is the one the load
// checked, the others are built from the file again, so the model keeps no copy of the file's
// bytes. The batch dimension is dynamic: OpenCV reshapes the network to each batch's size.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/backend_parameters.h"
#include "backends/onnx/onnx_graph.h"
#include "backends/trial_batch.h"
#include "fmt/format.h"
#include "inferd/backend.h"
#include "spdlog/spdlog.h"

namespace inferd::onnx {
namespace {

constexpr std::string_view kDefaultFilename = "model.onnx";

// OpenCV's message is "OpenCV(4.6.0) <file>:<line>: error: (-215:...) <what> in function '<f>'";
// keep it whole but on one line.
std::string OpenCvMessage(const std::exception& e) {
  std::string text = e.what();
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

struct OnnxModelData {
  std::string name;
  int max_batch_size = 0;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  std::vector<cv::String> output_names;
  std::string path;        // model.onnx; instances after the first read it again
  int64_t file_bytes = 0;  // about the weights each Net holds
  int threads = 1;
};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(fmt::format("cannot open '{}'", path));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return absl::InvalidArgumentError(fmt::format("cannot read '{}'", path));
  return std::move(bytes).str();
}

absl::StatusOr<cv::dnn::Net> BuildNet(const std::string& bytes) {
  try {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return net;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        fmt::format("OpenCV DNN 4.6 cannot read the model: {}", OpenCvMessage(e)));
  }
}

// Reads the model file again, rewrites it and builds a Net: for instances after the first, so the
// model need not keep the file's bytes (about the size of its weights) in memory.
absl::StatusOr<cv::dnn::Net> BuildNetFromFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<int> rewritten = RewriteIdentityOnInitializer(*bytes);
  if (!rewritten.ok()) return rewritten.status();
  return BuildNet(*bytes);
}

// Runs one batch on `net`; errors without the model's name. OpenCV exceptions propagate.
absl::Status RunBatch(const OnnxModelData& m, cv::dnn::Net& net, ExecutionBatch& batch) {
  const auto views = batch.inputs();
  if (views.size() != m.inputs.size()) {
    return absl::InvalidArgumentError(
        fmt::format("the batch has {} inputs, the model takes {}", views.size(), m.inputs.size()));
  }
  std::vector<cv::Mat> blobs;  // headers over the request's memory (or aligned copies)
  blobs.reserve(views.size());
  for (const TensorView& view : views) {
    std::vector<int> sizes;
    for (int64_t d : view.shape) {
      if (d > INT32_MAX) {
        return absl::InvalidArgumentError(
            fmt::format("input '{}' has a dimension too large for OpenCV", view.name));
      }
      sizes.push_back(static_cast<int>(d));
    }
    if (sizes.empty()) sizes.push_back(1);
    cv::Mat blob(static_cast<int>(sizes.size()), sizes.data(), CV_32F,
                 const_cast<std::byte*>(view.data));
    if (reinterpret_cast<uintptr_t>(view.data) % alignof(float) != 0) blob = blob.clone();
    blobs.push_back(std::move(blob));
    net.setInput(blobs.back(), std::string(view.name));
  }
  std::vector<cv::Mat> results;
  net.forward(results, m.output_names);
  if (results.size() != m.outputs.size()) {
    return absl::InternalError(fmt::format("OpenCV returned {} outputs, the config declares {}",
                                           results.size(), m.outputs.size()));
  }
  const int64_t batch_dim =
      m.max_batch_size > 0 && !views.empty() && !views[0].shape.empty() ? views[0].shape[0] : -1;
  for (size_t j = 0; j < m.outputs.size(); ++j) {
    const TensorSpec& spec = m.outputs[j];
    if (!batch.OutputRequested(spec.name)) continue;
    cv::Mat mat = results[j].isContinuous() ? results[j] : results[j].clone();
    if (mat.depth() != CV_32F) {
      return absl::InternalError(fmt::format(
          "output '{}': OpenCV returned element depth {}, not FP32", spec.name, mat.depth()));
    }
    std::vector<int64_t> shape;
    for (int d = 0; d < mat.dims; ++d) shape.push_back(mat.size[d]);
    std::span<const int64_t> dims = shape;
    const Shape& expected = spec.reshape ? *spec.reshape : spec.dims;
    if (m.max_batch_size > 0) {
      if (shape.empty() || shape[0] != batch_dim) {
        return absl::InvalidArgumentError(
            fmt::format("output '{}' has shape {}, whose first dimension is not the batch size {}",
                        spec.name, ShapeToString(shape), batch_dim));
      }
      dims = dims.subspan(1);
    }
    // OpenCV drops trailing 1-sized dimensions of some outputs; a same-size shape is accepted.
    if (!ShapeMatchesDims(dims, expected)) {
      std::optional<int64_t> want = ElementCount(expected);
      std::optional<int64_t> got = ElementCount(dims);
      if (!want || !got || *want != *got) {
        return absl::InvalidArgumentError(
            fmt::format("output '{}' has shape {}, but the config declares dims {}", spec.name,
                        ShapeToString(shape), ShapeToString(expected)));
      }
      shape.resize(m.max_batch_size > 0 ? 1 : 0);
      shape.insert(shape.end(), expected.begin(), expected.end());
    }
    const size_t bytes = mat.total() * mat.elemSize();
    absl::StatusOr<std::byte*> out = batch.AllocateOutput(spec.name, spec.datatype, shape, bytes);
    if (!out.ok()) return out.status();
    if (bytes > 0) std::memcpy(*out, mat.data, bytes);
  }
  return absl::OkStatus();
}

absl::Status GuardedRun(const OnnxModelData& m, cv::dnn::Net& net, ExecutionBatch& batch) {
  try {
    if (cv::getNumThreads() != m.threads) cv::setNumThreads(m.threads);
    return RunBatch(m, net, batch);
  } catch (const std::exception& e) {
    return absl::InternalError(fmt::format("OpenCV DNN forward() failed: {}", OpenCvMessage(e)));
  }
}

class OnnxInstance final : public ModelInstance {
 public:
  OnnxInstance(std::shared_ptr<const OnnxModelData> data, cv::dnn::Net net)
      : data_(std::move(data)), net_(std::move(net)) {}

  absl::Status Execute(ExecutionBatch& batch) override {
    absl::Status status = GuardedRun(*data_, net_, batch);
    if (status.ok()) return status;
    return absl::Status(status.code(),
                        fmt::format("model '{}': {}", data_->name, std::string(status.message())));
  }

 private:
  std::shared_ptr<const OnnxModelData> data_;
  cv::dnn::Net net_;
};

class OnnxModel final : public BackendModel {
 public:
  OnnxModel(std::shared_ptr<const OnnxModelData> data, cv::dnn::Net first_net)
      : data_(std::move(data)), first_net_(std::move(first_net)) {}

  absl::StatusOr<std::unique_ptr<ModelInstance>> CreateInstance(int index) override {
    ++nets_;
    if (index == 0 && !first_net_.empty()) {
      return std::make_unique<OnnxInstance>(data_, std::exchange(first_net_, cv::dnn::Net()));
    }
    absl::StatusOr<cv::dnn::Net> net = BuildNetFromFile(data_->path);
    if (!net.ok()) return net.status();
    return std::make_unique<OnnxInstance>(data_, *std::move(net));
  }
  // Each instance's Net holds its own copy of the weights.
  int64_t MemoryBytes() const override { return data_->file_bytes * std::max(nets_.load(), 1); }

 private:
  std::shared_ptr<const OnnxModelData> data_;
  cv::dnn::Net first_net_;  // the Net the load checked, handed to instance 0
  std::atomic<int> nets_{0};
};

std::string DimsText(const OnnxValueInfo& info) {
  return info.has_shape ? ShapeToString(info.dims) : "(no shape)";
}

// Checks config tensors against the graph's: same names, datatype FP32 on both sides, and
// shapes that agree where both are fixed.
absl::Status CheckTensors(const ModelSpec& spec, std::string_view kind,
                          const std::vector<TensorSpec>& config,
                          const std::vector<OnnxValueInfo>& graph) {
  std::string graph_names;
  for (const OnnxValueInfo& g : graph) graph_names += (graph_names.empty() ? "" : ", ") + g.name;
  for (const TensorSpec& t : config) {
    auto it = std::find_if(graph.begin(), graph.end(),
                           [&](const OnnxValueInfo& g) { return g.name == t.name; });
    if (it == graph.end()) {
      return absl::InvalidArgumentError(
          fmt::format("config {} '{}' is not an {} of the ONNX graph (its {}s: {})", kind, t.name,
                      kind, kind, graph_names));
    }
    const std::optional<DataType> graph_type = DataTypeFromOnnx(it->elem_type);
    if (graph_type != t.datatype) {
      return absl::InvalidArgumentError(
          fmt::format("config {} '{}' has datatype {}, but the ONNX graph's is {}", kind, t.name,
                      DataTypeConfigName(t.datatype), OnnxElemTypeName(it->elem_type)));
    }
    if (t.datatype != DataType::kFp32) {
      return absl::InvalidArgumentError(
          fmt::format("{} '{}' is {}: the opencv_dnn backend (OpenCV DNN) computes in FP32 only", kind,
                      t.name, DataTypeConfigName(t.datatype)));
    }
    if (!it->has_shape) continue;
    Shape dims = t.reshape.value_or(t.dims);
    if (spec.max_batch_size > 0) dims.insert(dims.begin(), -1);
    bool match = dims.size() == it->dims.size();
    for (size_t d = 0; match && d < dims.size(); ++d) {
      match = dims[d] < 0 || it->dims[d] < 0 || dims[d] == it->dims[d];
    }
    if (!match) {
      return absl::InvalidArgumentError(
          fmt::format("config {} '{}' has dims {} (with {}), but the ONNX graph's shape is {}",
                      kind, t.name, ShapeToString(t.reshape.value_or(t.dims)),
                      spec.max_batch_size > 0 ? "a batch dimension first: max_batch_size > 0"
                                              : "no batch dimension: max_batch_size 0",
                      DimsText(*it)));
    }
  }
  if (kind == "input") {
    for (const OnnxValueInfo& g : graph) {
      if (std::none_of(config.begin(), config.end(),
                       [&](const TensorSpec& t) { return t.name == g.name; })) {
        return absl::InvalidArgumentError(
            fmt::format("ONNX graph input '{}' ({} {}) is missing from the config's inputs", g.name,
                        OnnxElemTypeName(g.elem_type), DimsText(g)));
      }
    }
  }
  return absl::OkStatus();
}

class OnnxBackend final : public Backend {
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
    auto m = std::make_shared<OnnxModelData>();
    m->name = spec.name;
    m->max_batch_size = spec.max_batch_size;
    m->inputs = spec.inputs;
    m->outputs = spec.outputs;
    for (const TensorSpec& t : spec.outputs) m->output_names.push_back(t.name);
    absl::StatusOr<int> threads =
        IntParameter(spec, "intra_op_thread_count", DefaultThreadCount(), 1, 1024);
    if (!threads.ok()) return threads.status();
    m->threads = *threads;
    absl::StatusOr<bool> trial = BoolParameter(spec, "LOAD_TRIAL_RUN", true);
    if (!trial.ok()) return trial.status();

    absl::StatusOr<std::string> model_path = ModelFilePath(spec, kDefaultFilename, "opencv_dnn");
    if (!model_path.ok()) return model_path.status();
    const std::string& path = *model_path;
    absl::StatusOr<std::string> bytes = ReadFile(path);
    if (!bytes.ok()) return bytes.status();
    absl::StatusOr<OnnxModelInfo> info = ReadOnnxModelInfo(*bytes);
    if (!info.ok()) {
      return absl::InvalidArgumentError(fmt::format("'{}' is not a valid ONNX model: {}", path,
                                                    std::string(info.status().message())));
    }
    if (absl::Status s = CheckTensors(spec, "input", spec.inputs, info->inputs); !s.ok()) return s;
    if (absl::Status s = CheckTensors(spec, "output", spec.outputs, info->outputs); !s.ok()) {
      return s;
    }
    absl::StatusOr<int> rewritten = RewriteIdentityOnInitializer(*bytes);
    if (!rewritten.ok()) return rewritten.status();
    m->path = path;
    m->file_bytes = static_cast<int64_t>(bytes->size());

    cv::setNumThreads(m->threads);
    absl::StatusOr<cv::dnn::Net> net = BuildNet(*bytes);
    if (!net.ok()) return net.status();
    bytes->clear();
    bytes->shrink_to_fit();
    if (*trial) {
      if (std::optional<TrialBatch> batch = TrialBatch::Create(spec)) {
        absl::Status status = GuardedRun(*m, *net, *batch);
        if (!status.ok()) {
          return absl::InvalidArgumentError(fmt::format(
              "a trial run on zero-filled inputs of the config's shapes ({}) failed: {}",
              batch->Describe(), std::string(status.message())));
        }
      }
    }
    spdlog::info(
        "model '{}' version {}: ONNX model '{}' (opset {}, from {}), {} Identity-on-initializer "
        "node(s) rewritten for OpenCV, {} thread(s)",
        spec.name, spec.version, path, info->opset,
        info->producer.empty() ? "an unnamed producer" : info->producer, *rewritten, m->threads);
    cv::dnn::Net first = *std::move(net);
    return std::make_unique<OnnxModel>(std::move(m), std::move(first));
  }
};

}  // namespace
}  // namespace inferd::onnx

INFERD_BACKEND_DEFINE(inferd::onnx::OnnxBackend)
