// SPDX-License-Identifier: Apache-2.0
// The gRPC ModelInfer / ModelStreamInfer request path from the raw protobuf bytes of a
// ModelInferRequest: parsed as grpc++ would, then what the call does (grpc_calls.cc): decode with
// DecodeInferRequest, resolve shared-memory parameters, run on a server hosting built-in models
// (fuzz_server.h) with outputs written into the response message, encode the response, serialize
// it as grpc++ would.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "fuzz/fuzz_server.h"
#include "google/protobuf/stubs/logging.h"
#include "grpc_service.pb.h"
#include "transport/grpc/infer_codec.h"
#include "transport/shm/shm_region_registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inferd;
  // Invalid UTF-8 in a string field is a parse failure; protobuf also logs it, which would only
  // slow the fuzzer down.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  inferd::fuzz::Server();
  inference::ModelInferRequest message;
  if (!message.ParseFromArray(data, static_cast<int>(size))) return 0;
  auto decoded = grpc_transport::DecodeInferRequest(message);
  if (!decoded.ok()) return 0;
  inference::ModelInferResponse response;
  auto allocator = ResolveSharedMemory(
      nullptr, decoded->request, std::make_shared<grpc_transport::ResponseOutputAllocator>(&response));
  if (!allocator.ok()) return 0;
  std::shared_ptr<InferRequest> shm_outputs = SharedMemoryOutputs(decoded->request);
  absl::StatusOr<InferResponse> result =
      inferd::fuzz::InferAndWait(std::move(decoded->request), *std::move(allocator));
  if (!result.ok()) return 0;
  if (shm_outputs) MarkSharedMemoryOutputs(*shm_outputs, *result);
  if (!grpc_transport::EncodeInferResponse(*std::move(result), decoded->typed_contents, response)
           .ok()) {
    return 0;
  }
  std::string wire;
  response.SerializeToString(&wire);
  return 0;
}
