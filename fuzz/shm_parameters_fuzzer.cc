// SPDX-License-Identifier: Apache-2.0
// Triton's system shared-memory parameters (shared_memory_region / _offset / _byte_size on inputs
// and requested outputs, each any parameter type) as HTTP and gRPC deliver them: resolved by
// ResolveSharedMemory against a registry holding regions of the fuzzer's own shm object, then
// the request runs on a server hosting built-in models (fuzz_server.h), which reads its inputs
// from the regions and writes its outputs into them, and the response is marked as the
// transports mark it. The fuzz input picks the model, the tensors and the parameters, never a key
// (a fuzzer must not map other processes' shared memory).
#include <fcntl.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/sink.h"
#include "fuzz/fuzz_server.h"
#include "transport/shm/shm_region_registry.h"

namespace {

using namespace inferd;

constexpr const char* kRegions[] = {"in", "out", "tail", "unknown"};
constexpr const char* kModels[] = {"identity", "identity_bytes", "add_sub", "add_sub_batched"};
constexpr const char* kTensorNames[] = {"INPUT0", "INPUT1", "OUTPUT0", "OUTPUT1"};

const ShmRegionRegistry& Registry() {
  static const ShmRegionRegistry* registry = [] {
    auto* r = new ShmRegionRegistry(ShmRegionRegistryOptions{.allow_client_shm = true});
    const std::string key = "/inferd-fuzz-" + std::to_string(getpid());
    const int fd = shm_open(key.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || ftruncate(fd, 8192) != 0) {
      std::perror("fuzz: shm_open");
      std::abort();
    }
    close(fd);
    absl::Status s = r->Register("in", key, 0, 4096);
    if (s.ok()) s = r->Register("out", key, 4096, 4000);
    if (s.ok()) s = r->Register("tail", key, 8100, 92);
    shm_unlink(key.c_str());  // The registry holds its own descriptor and mapping.
    if (!s.ok()) {
      std::fprintf(stderr, "fuzz: cannot register regions: %s\n", s.ToString().c_str());
      std::abort();
    }
    return r;
  }();
  return *registry;
}

ParameterValue Value(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 4)) {
    case 0:
      return in.ConsumeBool();
    case 1:
      return in.ConsumeIntegral<int64_t>();
    case 2:
      return in.ConsumeIntegralInRange<int64_t>(-8, 8200);
    case 3:
      return in.ConsumeFloatingPoint<double>();
    default:
      return in.ConsumeRandomLengthString(16);
  }
}

Parameters ShmParameters(FuzzedDataProvider& in) {
  Parameters p;
  if (in.ConsumeBool()) {
    p[std::string(kShmRegionParameter)] =
        in.ConsumeBool() ? ParameterValue(std::string(in.PickValueInArray(kRegions))) : Value(in);
  }
  if (in.ConsumeBool()) p[std::string(kShmOffsetParameter)] = Value(in);
  if (in.ConsumeBool()) p[std::string(kShmByteSizeParameter)] = Value(in);
  if (in.ConsumeIntegralInRange<int>(0, 15) == 0) p["classification"] = Value(in);
  if (in.ConsumeIntegralInRange<int>(0, 15) == 0) p["binary_data"] = Value(in);
  return p;
}

InferRequest MakeRequest(FuzzedDataProvider& in) {
  InferRequest request;
  request.model_name = in.PickValueInArray(kModels);
  const int inputs = in.ConsumeIntegralInRange<int>(0, 3);
  for (int i = 0; i < inputs; ++i) {
    const std::string name = in.PickValueInArray(kTensorNames);
    const auto datatype = static_cast<DataType>(in.ConsumeIntegralInRange<int>(0, 14));
    Shape shape;
    const int rank = in.ConsumeIntegralInRange<int>(0, 3);
    for (int d = 0; d < rank; ++d) shape.push_back(in.ConsumeIntegralInRange<int64_t>(-1, 40));
    std::string bytes = in.ConsumeBool() ? in.ConsumeRandomLengthString(256) : std::string();
    InferInput input = InferInput::FromBytes(name, datatype, std::move(shape), std::move(bytes));
    if (input.byte_size == 0) input.data = nullptr;
    input.parameters = ShmParameters(in);
    request.inputs.push_back(std::move(input));
  }
  const int outputs = in.ConsumeIntegralInRange<int>(0, 3);
  for (int i = 0; i < outputs; ++i) {
    RequestedOutput output{in.PickValueInArray(kTensorNames), {}};
    output.parameters = ShmParameters(in);
    request.outputs.push_back(std::move(output));
  }
  return request;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ShmRegionRegistry& registry = Registry();
  inferd::fuzz::Server();
  FuzzedDataProvider in(data, size);
  InferRequest request = MakeRequest(in);
  auto allocator = ResolveSharedMemory(&registry, request, nullptr);
  if (!allocator.ok()) return 0;
  // Every input view must be readable to its end.
  uint8_t sum = 0;
  for (const InferInput& input : request.inputs) {
    for (size_t i = 0; i < input.byte_size; ++i) sum ^= static_cast<uint8_t>(input.data[i]);
  }
  inferd::fuzz::Sink(sum);
  std::shared_ptr<InferRequest> shm_outputs = SharedMemoryOutputs(request);
  absl::StatusOr<InferResponse> result =
      inferd::fuzz::InferAndWait(std::move(request), *std::move(allocator));
  if (result.ok() && shm_outputs) MarkSharedMemoryOutputs(*shm_outputs, *result);
  return 0;
}
