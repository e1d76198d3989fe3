// SPDX-License-Identifier: Apache-2.0
#include "server/request_validation.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "core/client_text.h"
#include "fmt/format.h"
#include "server/classification.h"

namespace inferd {
namespace {

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(message); }

Shape DimsOf(const google::protobuf::RepeatedField<int64_t>& dims) {
  return Shape(dims.begin(), dims.end());
}

// The shape the backend sees for an input with `reshape`: the reshape dims, with one -1 resolved
// from the element count, after the batch dimension when there is one.
absl::StatusOr<Shape> ApplyReshape(const std::string& model, const inference::ModelInput& input,
                                   std::span<const int64_t> request_shape, bool batched) {
  Shape target;
  std::span<const int64_t> element_shape = request_shape;
  if (batched) {
    target.push_back(request_shape[0]);
    element_shape = request_shape.subspan(1);
  }
  const int64_t elements = ElementCount(element_shape).value_or(0);
  int64_t known = 1;
  int variable = -1;
  const auto& dims = input.reshape().shape();
  for (int i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      variable = i;
    } else {
      known *= dims[i];
    }
  }
  Shape reshaped = DimsOf(dims);
  if (variable >= 0) {
    if (known == 0 || elements % known != 0) {
      return Invalid(fmt::format("input {} for model {} with shape {} cannot be reshaped to {}",
                                 QuoteClientText(input.name()), QuoteClientText(model),
                                 ShapeToString(request_shape), ShapeToString(reshaped)));
    }
    reshaped[static_cast<size_t>(variable)] = elements / known;
  } else if (known != elements) {
    return Invalid(fmt::format("input {} for model {} with shape {} cannot be reshaped to {}",
                               QuoteClientText(input.name()), QuoteClientText(model),
                               ShapeToString(request_shape), ShapeToString(reshaped)));
  }
  target.insert(target.end(), reshaped.begin(), reshaped.end());
  return target;
}

absl::StatusOr<int64_t> IntegerParameter(const Parameters& parameters, std::string_view name) {
  auto it = parameters.find(name);
  if (it == parameters.end()) return 0;
  if (const auto* i = std::get_if<int64_t>(&it->second)) return *i;
  if (const auto* d = std::get_if<double>(&it->second)) {
    if (*d == static_cast<double>(static_cast<int64_t>(*d))) return static_cast<int64_t>(*d);
  }
  return Invalid(fmt::format("request parameter {} must be an integer", QuoteClientText(name)));
}

}  // namespace

absl::Status ValidateAndPrepare(const inference::ModelConfig& config, InferPayload& payload) {
  const InferRequest& request = payload.request;
  const std::string& model = config.name();
  const bool batched = config.max_batch_size() > 0;

  // Index the request's inputs by config position.
  std::vector<const InferInput*> by_config(static_cast<size_t>(config.input_size()), nullptr);
  for (const InferInput& in : request.inputs) {
    int index = -1;
    for (int i = 0; i < config.input_size(); ++i) {
      if (config.input(i).name() == in.name) {
        index = i;
        break;
      }
    }
    if (index < 0) {
      return Invalid(fmt::format("unexpected inference input {} for model {}",
                                 QuoteClientText(in.name), QuoteClientText(model)));
    }
    if (by_config[static_cast<size_t>(index)] != nullptr) {
      return Invalid(fmt::format("input {} appears more than once in the request for model {}",
                                 QuoteClientText(in.name), QuoteClientText(model)));
    }
    by_config[static_cast<size_t>(index)] = &in;
  }
  for (int i = 0; i < config.input_size(); ++i) {
    if (by_config[static_cast<size_t>(i)] == nullptr && !config.input(i).optional()) {
      return Invalid(
          fmt::format("expected {} inputs but got {} inputs for model {}: missing "
                      "input {}",
                      config.input_size(), request.inputs.size(), QuoteClientText(model),
                      QuoteClientText(config.input(i).name())));
    }
  }

  payload.inputs.clear();
  payload.input_shapes.clear();
  payload.input_shapes.reserve(by_config.size());
  payload.batch_size = 1;
  int64_t batch = -1;
  for (size_t i = 0; i < by_config.size(); ++i) {
    const InferInput* in = by_config[i];
    if (in == nullptr) continue;
    const inference::ModelInput& spec = config.input(static_cast<int>(i));
    const auto expected_type = DataTypeFromConfigValue(spec.data_type());
    if (!expected_type || in->datatype != *expected_type) {
      return Invalid(
          fmt::format("inference input {} data-type is {}, but model {} expects "
                      "{}",
                      QuoteClientText(in->name), QuoteClientText(DataTypeName(in->datatype)),
                      QuoteClientText(model),
                      QuoteClientText(expected_type ? DataTypeName(*expected_type) : "INVALID")));
    }
    for (int64_t d : in->shape) {
      if (d < 0) {
        return Invalid(fmt::format("input {} for model {} has a negative dimension in shape {}",
                                   QuoteClientText(in->name), QuoteClientText(model),
                                   ShapeToString(in->shape)));
      }
    }
    const Shape dims = DimsOf(spec.dims());
    Shape expected_shape = dims;
    std::span<const int64_t> element_shape = in->shape;
    if (batched) {
      expected_shape.insert(expected_shape.begin(), -1);
      if (in->shape.size() != dims.size() + 1) {
        return Invalid(
            fmt::format("unexpected shape for input {} for model {}. Expected {}, "
                        "got {}",
                        QuoteClientText(in->name), QuoteClientText(model),
                        ShapeToString(expected_shape), ShapeToString(in->shape)));
      }
      const int64_t this_batch = in->shape[0];
      if (this_batch < 1 || this_batch > config.max_batch_size()) {
        return Invalid(
            fmt::format("inference request batch-size must be <= {} for {} (input "
                        "{} has batch size {})",
                        config.max_batch_size(), QuoteClientText(model), QuoteClientText(in->name),
                        this_batch));
      }
      if (batch >= 0 && this_batch != batch) {
        return Invalid(
            fmt::format("inputs of a request to model {} must share one batch size: "
                        "input {} has {}, another input has {}",
                        QuoteClientText(model), QuoteClientText(in->name), this_batch, batch));
      }
      batch = this_batch;
      element_shape = element_shape.subspan(1);
    }
    if (!ShapeMatchesDims(element_shape, dims)) {
      return Invalid(
          fmt::format("unexpected shape for input {} for model {}. Expected {}, got "
                      "{}",
                      QuoteClientText(in->name), QuoteClientText(model),
                      ShapeToString(expected_shape), ShapeToString(in->shape)));
    }
    const std::optional<int64_t> elements = ElementCount(in->shape);
    if (!elements) {
      return Invalid(fmt::format("shape {} of input {} for model {} is too large",
                                 ShapeToString(in->shape), QuoteClientText(in->name),
                                 QuoteClientText(model)));
    }
    if (in->data == nullptr && in->byte_size > 0) {
      return Invalid(fmt::format("input {} for model {} has no data", QuoteClientText(in->name),
                                 QuoteClientText(model)));
    }
    if (in->datatype == DataType::kBytes) {
      auto parsed = ParseBytesTensor({in->data, in->byte_size}, *elements);
      if (!parsed.ok()) {
        return Invalid(fmt::format("input {} for model {}: {}", QuoteClientText(in->name),
                                   QuoteClientText(model), std::string(parsed.status().message())));
      }
    } else {
      auto expected_bytes = FixedTensorByteSize(in->datatype, in->shape);
      if (!expected_bytes.ok() || *expected_bytes != in->byte_size) {
        return Invalid(
            fmt::format("input byte size mismatch for input {} for model {}. "
                        "Expected {}, got {}",
                        QuoteClientText(in->name), QuoteClientText(model),
                        expected_bytes.value_or(0), in->byte_size));
      }
    }
    if (spec.has_reshape()) {
      auto reshaped = ApplyReshape(model, spec, in->shape, batched);
      if (!reshaped.ok()) return reshaped.status();
      payload.input_shapes.push_back(*std::move(reshaped));
    } else {
      payload.input_shapes.push_back(in->shape);
    }
    payload.inputs.push_back(
        TensorView{in->name, in->datatype, payload.input_shapes.back(), in->data, in->byte_size});
  }
  if (batched && batch > 0) payload.batch_size = static_cast<int>(batch);

  payload.requested_outputs.clear();
  payload.classifications.clear();
  if (request.outputs.empty()) {
    for (const auto& out : config.output()) payload.requested_outputs.push_back(out.name());
  } else {
    for (const RequestedOutput& out : request.outputs) {
      const auto spec = std::find_if(config.output().begin(), config.output().end(),
                                     [&](const auto& o) { return o.name() == out.name; });
      if (spec == config.output().end()) {
        return Invalid(fmt::format("unexpected inference output {} for model {}",
                                   QuoteClientText(out.name), QuoteClientText(model)));
      }
      auto classes = ClassificationCount(out, model);
      if (!classes.ok()) return classes.status();
      if (*classes > 0) {
        const DataType type =
            DataTypeFromConfigValue(spec->data_type()).value_or(DataType::kInvalid);
        if (!IsClassifiable(type)) {
          return Invalid(
              fmt::format("class result not available for output {} of model {} "
                          "due to unsupported type {}",
                          QuoteClientText(out.name), QuoteClientText(model),
                          QuoteClientText(DataTypeName(type))));
        }
        if (out.parameters.contains("shared_memory_region")) {
          return Invalid(
              fmt::format("output {} of model {} can't set both "
                          "'shared_memory_region' and 'classification'",
                          QuoteClientText(out.name), QuoteClientText(model)));
        }
        payload.classifications.emplace_back(out.name, *classes);
      }
      if (std::find(payload.requested_outputs.begin(), payload.requested_outputs.end(),
                    out.name) != payload.requested_outputs.end()) {
        return Invalid(fmt::format("output {} is requested more than once for model {}",
                                   QuoteClientText(out.name), QuoteClientText(model)));
      }
      payload.requested_outputs.push_back(out.name);
    }
  }

  auto priority = IntegerParameter(request.parameters, "priority");
  if (!priority.ok()) return priority.status();
  auto timeout = IntegerParameter(request.parameters, "timeout");
  if (!timeout.ok()) return timeout.status();
  if (*priority < 0 || *timeout < 0) {
    return Invalid(
        fmt::format("request parameters 'priority' and 'timeout' must not be negative "
                    "(model {})",
                    QuoteClientText(model)));
  }
  payload.priority = *priority;
  payload.timeout_micros = *timeout;
  return absl::OkStatus();
}

}  // namespace inferd
