// SPDX-License-Identifier: Apache-2.0
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "fmt/format.h"
#include "inferd/shm.h"

namespace inferd {

absl::StatusOr<std::unique_ptr<SystemShmRegion>> SystemShmRegion::Create(std::string key,
                                                                           size_t byte_size) {
  if (key.size() < 2 || key[0] != '/' || key.find('/', 1) != std::string::npos) {
    return absl::InvalidArgumentError(
        fmt::format("shared memory key '{}' must be '/' followed by a name without '/'", key));
  }
  if (byte_size == 0) return absl::InvalidArgumentError("a shared memory region needs bytes");
  const int fd = shm_open(key.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int error = errno;
    if (error == EEXIST) {
      return absl::AlreadyExistsError(fmt::format("shared memory key '{}' already exists", key));
    }
    return absl::InvalidArgumentError(
        fmt::format("shm_open('{}') failed: {}", key, std::strerror(error)));
  }
  void* data = MAP_FAILED;
  if (ftruncate(fd, static_cast<off_t>(byte_size)) == 0) {
    data = mmap(nullptr, byte_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  }
  const int error = errno;
  close(fd);
  if (data == MAP_FAILED) {
    shm_unlink(key.c_str());
    return absl::ResourceExhaustedError(
        fmt::format("creating shared memory '{}' of {} bytes failed: {}", key, byte_size,
                    std::strerror(error)));
  }
  return std::unique_ptr<SystemShmRegion>(
      new SystemShmRegion(std::move(key), static_cast<std::byte*>(data), byte_size));
}

SystemShmRegion::~SystemShmRegion() {
  munmap(data_, byte_size_);
  shm_unlink(key_.c_str());
}

absl::Status SystemShmRegion::Write(size_t offset, std::span<const std::byte> bytes) {
  if (offset > byte_size_ || bytes.size() > byte_size_ - offset) {
    return absl::OutOfRangeError(fmt::format("{} bytes at offset {} do not fit region '{}' of {}",
                                             bytes.size(), offset, key_, byte_size_));
  }
  if (!bytes.empty()) std::memcpy(data_ + offset, bytes.data(), bytes.size());
  return absl::OkStatus();
}

std::span<const std::byte> SystemShmRegion::Read(size_t offset, size_t bytes) const {
  if (offset > byte_size_) return {};
  return {data_ + offset, std::min(bytes, byte_size_ - offset)};
}

InferInput ShmInput(std::string name, DataType datatype, Shape shape, std::string region,
                    size_t byte_size, size_t offset) {
  InferInput in;
  in.name = std::move(name);
  in.datatype = datatype;
  in.shape = std::move(shape);
  in.parameters["shared_memory_region"] = std::move(region);
  in.parameters["shared_memory_byte_size"] = static_cast<int64_t>(byte_size);
  if (offset != 0) in.parameters["shared_memory_offset"] = static_cast<int64_t>(offset);
  return in;
}

RequestedOutput ShmOutput(std::string name, std::string region, size_t byte_size, size_t offset) {
  RequestedOutput out;
  out.name = std::move(name);
  out.parameters["shared_memory_region"] = std::move(region);
  out.parameters["shared_memory_byte_size"] = static_cast<int64_t>(byte_size);
  if (offset != 0) out.parameters["shared_memory_offset"] = static_cast<int64_t>(offset);
  return out;
}

}  // namespace inferd
