// SPDX-License-Identifier: Apache-2.0
// Triton's system shared-memory RPCs: SystemSharedMemoryStatus / Register / Unregister.
#include "transport/grpc/grpc_handlers.h"
#include "transport/shm/shm_region_registry.h"

namespace inferd::grpc_transport {
namespace {

// The registry, or one that refuses everything saying how to enable shared memory.
ShmRegionRegistry& Registry(CallContext& c) {
  static ShmRegionRegistry disabled({});
  return c.shm_registry() != nullptr ? *c.shm_registry() : disabled;
}

}  // namespace

grpc::Status SystemSharedMemory(CallContext& c,
                                const inference::SystemSharedMemoryStatusRequest& request,
                                inference::SystemSharedMemoryStatusResponse& response) {
  auto regions = Registry(c).Status(request.name());
  if (!regions.ok()) return ToGrpcStatus(regions.status());
  for (const ShmRegionStatus& r : *regions) {
    auto& out = (*response.mutable_regions())[r.name];
    out.set_name(r.name);
    out.set_key(r.key);
    out.set_offset(r.offset);
    out.set_byte_size(r.byte_size);
  }
  return grpc::Status::OK;
}

grpc::Status SystemSharedMemory(CallContext& c,
                                const inference::SystemSharedMemoryRegisterRequest& request,
                                inference::SystemSharedMemoryRegisterResponse& /*response*/) {
  return ToGrpcStatus(
      Registry(c).Register(request.name(), request.key(), request.offset(), request.byte_size()));
}

grpc::Status SystemSharedMemory(CallContext& c,
                                const inference::SystemSharedMemoryUnregisterRequest& request,
                                inference::SystemSharedMemoryUnregisterResponse& /*response*/) {
  return ToGrpcStatus(Registry(c).Unregister(request.name()));
}

}  // namespace inferd::grpc_transport
