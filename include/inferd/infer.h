// SPDX-License-Identifier: Apache-2.0
// The one request and response type every transport and the client library use.
//
// Inputs are views: `data` points into memory owned by whoever built the request (an HTTP body, a
// gRPC message, a shared-memory region, the caller's vector). `owner`, when set, keeps that memory
// alive for as long as the request exists; when it is null the caller guarantees the bytes outlive
// the request's completion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "inferd/datatype.h"
#include "inferd/tensor.h"

namespace inferd {

// A request/response/tensor parameter: the protocol allows a string, a number or a boolean.
using ParameterValue = std::variant<bool, int64_t, double, std::string>;
using Parameters = std::map<std::string, ParameterValue, std::less<>>;

struct InferInput {
  std::string name;
  DataType datatype = DataType::kInvalid;
  Shape shape;
  const std::byte* data = nullptr;
  size_t byte_size = 0;
  std::shared_ptr<const void> owner;
  Parameters parameters;

  // An input that owns a copy of `values` (fixed-size types).
  template <typename T>
  static InferInput Copy(std::string name, DataType datatype, Shape shape,
                         std::span<const T> values) {
    auto storage = std::make_shared<std::vector<T>>(values.begin(), values.end());
    InferInput in;
    in.name = std::move(name);
    in.datatype = datatype;
    in.shape = std::move(shape);
    in.data = reinterpret_cast<const std::byte*>(storage->data());
    in.byte_size = storage->size() * sizeof(T);
    in.owner = std::move(storage);
    return in;
  }
  // An input that owns `bytes` (already in the wire layout; for BYTES, the length-prefixed form).
  static InferInput FromBytes(std::string name, DataType datatype, Shape shape, std::string bytes);

  TensorView view() const { return {name, datatype, shape, data, byte_size}; }
};

struct RequestedOutput {
  std::string name;
  Parameters parameters;
};

struct InferRequest {
  std::string model_name;
  int64_t model_version = 0;  // 0: the server picks the latest ready version.
  std::string id;             // Echoed in the response.
  std::vector<InferInput> inputs;
  std::vector<RequestedOutput> outputs;  // Empty: every output of the model.
  Parameters parameters;
};

struct InferOutput {
  std::string name;
  DataType datatype = DataType::kInvalid;
  Shape shape;
  const std::byte* data = nullptr;
  size_t byte_size = 0;
  std::shared_ptr<const void> owner;  // Keeps `data` alive.
  Parameters parameters;

  template <typename T>
  std::span<const T> As() const {
    return {reinterpret_cast<const T*>(data), byte_size / sizeof(T)};
  }
  std::string_view bytes() const { return {reinterpret_cast<const char*>(data), byte_size}; }
  TensorView view() const { return {name, datatype, shape, data, byte_size}; }
};

struct InferResponse {
  std::string model_name;
  int64_t model_version = 0;
  std::string id;
  std::vector<InferOutput> outputs;
  Parameters parameters;

  // The output with this name, or null.
  const InferOutput* FindOutput(std::string_view name) const;
};

// Where output bytes go. A transport supplies one to place outputs directly where it will send
// them from (a response buffer, a client's shared-memory region). Allocate is called from the
// executing instance's thread, once per output; the returned memory must stay valid while `owner`
// is held.
struct OutputBuffer {
  std::byte* data = nullptr;
  std::shared_ptr<const void> owner;
};
class OutputAllocator {
 public:
  virtual ~OutputAllocator() = default;
  virtual absl::StatusOr<OutputBuffer> Allocate(std::string_view output_name, DataType datatype,
                                                std::span<const int64_t> shape,
                                                size_t byte_size) = 0;
};
// The default: a heap buffer per output.
std::shared_ptr<OutputAllocator> HeapOutputAllocator();

using InferCallback = std::function<void(absl::StatusOr<InferResponse>)>;

}  // namespace inferd
