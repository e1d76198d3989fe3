// SPDX-License-Identifier: Apache-2.0
#include "scheduler/gathered_batch.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/exception_boundary.h"
#include "fmt/format.h"
#include "scheduler/single_request_batch.h"

namespace inferd {

GatheredBatch::GatheredBatch(std::span<InferPayload* const> payloads, std::string_view model_name,
                             GatherBuffers& buffers)
    : payloads_(payloads), model_name_(model_name), buffers_(buffers) {
  for (const InferPayload* payload : payloads_) {
    total_batch_ += payload->batch_size;
    for (const std::string& name : payload->requested_outputs) {
      if (OutputIndex(name) < 0) output_names_.push_back(name);
    }
  }
  outputs_.resize(output_names_.size());
}

void GatheredBatch::GatherInputs() {
  const InferPayload& head = *payloads_.front();
  const size_t input_count = head.inputs.size();
  if (buffers_.inputs.size() < input_count) buffers_.inputs.resize(input_count);
  input_shapes_.clear();
  input_shapes_.reserve(input_count);  // inputs_ hold spans into these: no reallocation below.
  inputs_.clear();
  inputs_.reserve(input_count);
  for (size_t i = 0; i < input_count; ++i) {
    const TensorView& first = head.inputs[i];
    Shape& shape = input_shapes_.emplace_back(first.shape.begin(), first.shape.end());
    if (!shape.empty()) shape[0] = total_batch_;

    size_t total_bytes = 0;
    for (const InferPayload* payload : payloads_) total_bytes += payload->inputs[i].byte_size;
    std::vector<std::byte>& buffer = buffers_.inputs[i];
    buffer.resize(total_bytes);
    size_t offset = 0;
    for (const InferPayload* payload : payloads_) {
      const TensorView& in = payload->inputs[i];
      if (in.byte_size > 0) std::memcpy(buffer.data() + offset, in.data, in.byte_size);
      offset += in.byte_size;
    }
    inputs_.push_back(TensorView{first.name, first.datatype, shape, buffer.data(), total_bytes});
  }
}

int GatheredBatch::OutputIndex(std::string_view name) const {
  for (size_t i = 0; i < output_names_.size(); ++i) {
    if (output_names_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

bool GatheredBatch::OutputRequested(std::string_view name) const { return OutputIndex(name) >= 0; }

absl::StatusOr<std::byte*> GatheredBatch::AllocateOutput(std::string_view name, DataType datatype,
                                                         std::span<const int64_t> shape,
                                                         size_t byte_size) {
  const int index = OutputIndex(name);
  if (index < 0) {
    return absl::NotFoundError(fmt::format(
        "model '{}' allocated output '{}', which no request of the batch asked for", model_name_,
        name));
  }
  if (outputs_[index].has_value()) {
    return absl::InternalError(
        fmt::format("model '{}' allocated output '{}' twice", model_name_, name));
  }
  if (shape.empty() || shape[0] != total_batch_) {
    return absl::InternalError(fmt::format(
        "model '{}' output '{}' has shape {}; its first dimension must be the batch size {}",
        model_name_, name, ShapeToString(shape), total_batch_));
  }
  if (absl::Status s = CheckOutputByteSize(model_name_, name, datatype, shape, byte_size);
      !s.ok()) {
    return s;
  }
  // (Assigned rather than emplace()d: clang does not see a nested struct with member
  // initializers as default-constructible inside its enclosing class.)
  outputs_[index] = BatchOutput{};
  BatchOutput& out = *outputs_[index];
  out.name = std::string(name);
  out.datatype = datatype;
  out.shape.assign(shape.begin(), shape.end());
  // Default-initialised: the backend writes every byte.
  out.buffer = std::shared_ptr<std::byte>(new std::byte[byte_size == 0 ? 1 : byte_size],
                                          std::default_delete<std::byte[]>());
  out.byte_size = byte_size;
  return out.buffer.get();
}

absl::StatusOr<std::vector<size_t>> GatheredBatch::BytesRowOffsets(const BatchOutput& out) const {
  const int64_t per_row = ElementCount(std::span<const int64_t>(out.shape).subspan(1)).value_or(0);
  std::vector<size_t> offsets;
  offsets.reserve(payloads_.size() + 1);
  size_t pos = 0;
  for (const InferPayload* payload : payloads_) {
    offsets.push_back(pos);
    const int64_t elements = per_row * payload->batch_size;
    for (int64_t e = 0; e < elements; ++e) {
      uint32_t length = 0;
      if (out.byte_size - pos < sizeof(length)) {
        return absl::InternalError(fmt::format(
            "model '{}' output '{}' (BYTES) ends inside element {}", model_name_, out.name, e));
      }
      const std::byte* p = out.buffer.get() + pos;
      length = static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
               (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
      pos += sizeof(length);
      if (out.byte_size - pos < length) {
        return absl::InternalError(fmt::format(
            "model '{}' output '{}' (BYTES) ends inside element {}", model_name_, out.name, e));
      }
      pos += length;
    }
  }
  if (pos != out.byte_size) {
    return absl::InternalError(fmt::format(
        "model '{}' output '{}' (BYTES) has {} bytes after its last element", model_name_,
        out.name, out.byte_size - pos));
  }
  offsets.push_back(pos);
  return offsets;
}

absl::Status GatheredBatch::ScatterOne(InferPayload& payload, const BatchOutput& out,
                                       size_t begin, size_t end) {
  InferOutput result;
  result.name = out.name;
  result.datatype = out.datatype;
  result.shape = out.shape;
  result.shape[0] = payload.batch_size;
  result.byte_size = end - begin;
  if (payload.allocator == nullptr || payload.allocator == HeapOutputAllocator()) {
    result.data = out.buffer.get() + begin;
    result.owner = out.buffer;
  } else {
    absl::StatusOr<OutputBuffer> buffer =
        payload.allocator->Allocate(out.name, out.datatype, result.shape, result.byte_size);
    if (!buffer.ok()) return buffer.status();
    if (buffer->data == nullptr && result.byte_size > 0) {
      return absl::InternalError(fmt::format(
          "allocator returned no memory for output '{}' of model '{}'", out.name, model_name_));
    }
    if (result.byte_size > 0) std::memcpy(buffer->data, out.buffer.get() + begin, result.byte_size);
    result.data = buffer->data;
    result.owner = std::move(buffer->owner);
  }
  payload.response.outputs.push_back(std::move(result));
  return absl::OkStatus();
}

std::vector<absl::Status> GatheredBatch::ScatterOutputs() {
  const size_t n = payloads_.size();
  // offsets[j][r]: where request r's rows of output j begin; offsets[j][n] is the end.
  std::vector<std::vector<size_t>> offsets(outputs_.size());
  for (size_t j = 0; j < outputs_.size(); ++j) {
    if (!outputs_[j].has_value()) {
      return std::vector<absl::Status>(
          n, absl::InternalError(fmt::format("model '{}' did not produce output '{}'", model_name_,
                                             output_names_[j])));
    }
    const BatchOutput& out = *outputs_[j];
    if (out.datatype == DataType::kBytes) {
      absl::StatusOr<std::vector<size_t>> rows = BytesRowOffsets(out);
      if (!rows.ok()) return std::vector<absl::Status>(n, rows.status());
      offsets[j] = *std::move(rows);
    } else {
      const size_t row_bytes = out.byte_size / static_cast<size_t>(total_batch_);
      size_t row = 0;
      for (const InferPayload* payload : payloads_) {
        offsets[j].push_back(row * row_bytes);
        row += static_cast<size_t>(payload->batch_size);
      }
      offsets[j].push_back(row * row_bytes);
    }
  }

  std::vector<absl::Status> statuses(n);
  for (size_t r = 0; r < n; ++r) {
    InferPayload& payload = *payloads_[r];
    payload.response.outputs.reserve(payload.response.outputs.size() +
                                     payload.requested_outputs.size());
    for (const std::string& name : payload.requested_outputs) {
      const size_t j = static_cast<size_t>(OutputIndex(name));
      absl::Status s = ScatterOne(payload, *outputs_[j], offsets[j][r], offsets[j][r + 1]);
      if (!s.ok()) {
        statuses[r] = std::move(s);
        break;
      }
    }
  }
  return statuses;
}

std::vector<absl::Status> ExecuteGatheredBatch(ModelInstance& instance,
                                               std::span<InferPayload* const> payloads,
                                               std::string_view model_name, const Clock& clock,
                                               ExecutionObserver* observer,
                                               GatherBuffers& buffers) {
  const int64_t start_ns = clock.NowNanos();
  GatheredBatch batch(payloads, model_name, buffers);
  int64_t infer_start_ns = start_ns;
  absl::Status status = CallCatchingExceptions("running the model's backend", [&] {
    batch.GatherInputs();
    infer_start_ns = clock.NowNanos();
    return instance.Execute(batch);
  });
  const int64_t infer_end_ns = clock.NowNanos();
  std::vector<absl::Status> statuses =
      status.ok() ? batch.ScatterOutputs() : std::vector<absl::Status>(payloads.size(), status);
  const int64_t end_ns = clock.NowNanos();

  for (InferPayload* payload : payloads) {
    payload->compute_start_ns = start_ns;
    payload->compute_end_ns = end_ns;
    payload->compute_input_ns = infer_start_ns - start_ns;
    payload->compute_infer_ns = infer_end_ns - infer_start_ns;
    payload->compute_output_ns = end_ns - infer_end_ns;
  }
  if (observer != nullptr) {
    ExecutionRecord record;
    record.batch_size = batch.batch_size();
    record.compute_input_ns = infer_start_ns - start_ns;
    record.compute_infer_ns = infer_end_ns - infer_start_ns;
    record.compute_output_ns = end_ns - infer_end_ns;
    record.ok = status.ok();
    observer->OnExecution(record);
  }
  return statuses;
}

}  // namespace inferd
