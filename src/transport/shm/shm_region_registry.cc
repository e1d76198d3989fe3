// SPDX-License-Identifier: Apache-2.0
#include "transport/shm/shm_region_registry.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/client_text.h"
#include "fmt/format.h"

namespace inferd {

struct ShmRegionRegistry::Region {
  ShmRegionStatus status;
  int fd = -1;                  // Kept open to re-check the object's size at every use.
  void* mapping = MAP_FAILED;   // From the page below status.offset.
  size_t mapping_bytes = 0;
  std::byte* data = nullptr;    // status.offset within the object.

  ~Region() {
    if (mapping != MAP_FAILED) munmap(mapping, mapping_bytes);
    if (fd >= 0) close(fd);
  }
};

namespace {

bool InBounds(uint64_t offset, uint64_t bytes, uint64_t limit) {
  return offset <= limit && bytes <= limit - offset;
}

absl::Status ValidateKey(std::string_view key) {
  if (key.size() < 2 || key[0] != '/' || key.find('/', 1) != std::string_view::npos ||
      key.size() > NAME_MAX || key.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(fmt::format(
        "shared memory key {} is not a POSIX shm name: it must be '/' followed by 1 to {} "
        "characters other than '/'",
        QuoteClientText(key), NAME_MAX - 1));
  }
  if (key.substr(1).rfind("triton_python_backend_shm_region_", 0) == 0) {
    return absl::InvalidArgumentError(fmt::format(
        "shared memory key {} uses the reserved prefix 'triton_python_backend_shm_region_'",
        QuoteClientText(key)));
  }
  return absl::OkStatus();
}

// A non-negative integer parameter (JSON may give it as a whole double).
absl::StatusOr<std::optional<uint64_t>> UintParameter(const Parameters& parameters,
                                                      std::string_view name,
                                                      std::string_view what) {
  auto it = parameters.find(name);
  if (it == parameters.end()) return std::optional<uint64_t>();
  if (const auto* i = std::get_if<int64_t>(&it->second); i != nullptr && *i >= 0) {
    return std::optional<uint64_t>(static_cast<uint64_t>(*i));
  }
  if (const auto* d = std::get_if<double>(&it->second);
      d != nullptr && *d >= 0 && *d < 9.2e18 && std::floor(*d) == *d) {
    return std::optional<uint64_t>(static_cast<uint64_t>(*d));
  }
  return absl::InvalidArgumentError(
      fmt::format("{}: parameter {} must be a non-negative integer", what, QuoteClientText(name)));
}

struct ShmReference {
  std::string region;
  uint64_t offset = 0;
  uint64_t byte_size = 0;
};

// The tensor's shared-memory reference, nullopt when it names no region.
absl::StatusOr<std::optional<ShmReference>> ReadReference(const Parameters& parameters,
                                                          std::string_view what) {
  auto region = parameters.find(kShmRegionParameter);
  auto size = UintParameter(parameters, kShmByteSizeParameter, what);
  if (!size.ok()) return size.status();
  auto offset = UintParameter(parameters, kShmOffsetParameter, what);
  if (!offset.ok()) return offset.status();
  if (region == parameters.end()) {
    if (size->has_value() || offset->has_value()) {
      return absl::InvalidArgumentError(fmt::format(
          "{} has shared_memory_byte_size or shared_memory_offset but no shared_memory_region",
          what));
    }
    return std::optional<ShmReference>();
  }
  const auto* name = std::get_if<std::string>(&region->second);
  if (name == nullptr || name->empty()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: parameter 'shared_memory_region' must be a non-empty string", what));
  }
  if (!size->has_value()) {
    return absl::InvalidArgumentError(
        fmt::format("{} names shared memory region {} without shared_memory_byte_size", what,
                    QuoteClientText(*name)));
  }
  return std::optional<ShmReference>(ShmReference{*name, offset->value_or(0), **size});
}

class ShmOutputAllocator final : public OutputAllocator {
 public:
  struct Target {
    std::string region;
    ShmRegionRegistry::Slice slice;
  };
  ShmOutputAllocator(absl::flat_hash_map<std::string, Target> targets,
                     std::shared_ptr<OutputAllocator> fallback)
      : targets_(std::move(targets)), fallback_(std::move(fallback)) {}

  absl::StatusOr<OutputBuffer> Allocate(std::string_view name, DataType datatype,
                                        std::span<const int64_t> shape,
                                        size_t byte_size) override {
    auto it = targets_.find(std::string(name));
    if (it == targets_.end()) return fallback_->Allocate(name, datatype, shape, byte_size);
    const Target& target = it->second;
    if (byte_size > target.slice.byte_size) {
      return absl::InvalidArgumentError(
          fmt::format("output {} needs {} bytes but its shared memory region {} provides only {} "
                      "(shared_memory_byte_size)",
                      QuoteClientText(name), byte_size, QuoteClientText(target.region),
                      target.slice.byte_size));
    }
    return OutputBuffer{target.slice.data, target.slice.owner};
  }

 private:
  const absl::flat_hash_map<std::string, Target> targets_;
  const std::shared_ptr<OutputAllocator> fallback_;
};

}  // namespace

ShmRegionRegistry::ShmRegionRegistry(ShmRegionRegistryOptions options) : options_(options) {}
ShmRegionRegistry::~ShmRegionRegistry() = default;

absl::Status ShmRegionRegistry::Disabled() const {
  return absl::FailedPreconditionError(
      "system shared memory is disabled: start inferd with --allow-client-shm=true to let "
      "clients register and use shared-memory regions");
}

absl::Status ShmRegionRegistry::CheckRegionLimitLocked(std::string_view name) const {
  if (options_.max_regions <= 0 || regions_.size() < static_cast<size_t>(options_.max_regions)) {
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(fmt::format(
      "cannot register shared memory region {}: the server already holds {} regions, the limit "
      "(--max-shm-regions {}); unregister a region first",
      QuoteClientText(name), regions_.size(), options_.max_regions));
}

absl::Status ShmRegionRegistry::Register(std::string_view name, std::string_view key,
                                         uint64_t offset, uint64_t byte_size) {
  if (!enabled()) return Disabled();
  if (name.empty() || name.size() > 256) {
    return absl::InvalidArgumentError("a shared memory region name must be 1 to 256 characters");
  }
  if (absl::Status s = ValidateKey(key); !s.ok()) return s;
  if (byte_size == 0) {
    return absl::InvalidArgumentError(fmt::format(
        "shared memory region {} must have a byte_size greater than 0", QuoteClientText(name)));
  }
  {
    absl::MutexLock lock(&mu_);
    if (regions_.contains(std::string(name))) {
      return absl::AlreadyExistsError(
          fmt::format("shared memory region {} is already registered; unregister it first",
                      QuoteClientText(name)));
    }
    if (absl::Status s = CheckRegionLimitLocked(name); !s.ok()) return s;
  }
  auto region = std::make_shared<Region>();
  region->status = {std::string(name), std::string(key), offset, byte_size};
  region->fd = shm_open(std::string(key).c_str(), O_RDWR | O_CLOEXEC, 0);
  if (region->fd < 0) {
    const int error = errno;
    if (error == ENOENT) {
      return absl::NotFoundError(
          fmt::format("shared memory key {} does not exist (no POSIX shm object by that name)",
                      QuoteClientText(key)));
    }
    return absl::InvalidArgumentError(fmt::format("cannot open shared memory key {}: {}",
                                                  QuoteClientText(key), std::strerror(error)));
  }
  struct stat st{};
  if (fstat(region->fd, &st) != 0 ||
      !InBounds(offset, byte_size, static_cast<uint64_t>(st.st_size))) {
    return absl::InvalidArgumentError(fmt::format(
        "shared memory region {}: offset {} + byte_size {} exceeds the {} bytes of shared "
        "memory object {}",
        QuoteClientText(name), offset, byte_size, static_cast<uint64_t>(st.st_size),
        QuoteClientText(key)));
  }
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t aligned = offset / page * page;
  region->mapping_bytes = static_cast<size_t>(byte_size + (offset - aligned));
  region->mapping = mmap(nullptr, region->mapping_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                         region->fd, static_cast<off_t>(aligned));
  if (region->mapping == MAP_FAILED) {
    return absl::InvalidArgumentError(fmt::format("cannot map shared memory key {}: {}",
                                                  QuoteClientText(key), std::strerror(errno)));
  }
  region->data = static_cast<std::byte*>(region->mapping) + (offset - aligned);
  absl::MutexLock lock(&mu_);
  // Checked again: another registration may have taken the last place meanwhile.
  if (!regions_.contains(std::string(name))) {
    if (absl::Status s = CheckRegionLimitLocked(name); !s.ok()) return s;
  }
  auto [it, inserted] = regions_.emplace(std::string(name), std::move(region));
  if (!inserted) {
    return absl::AlreadyExistsError(
        fmt::format("shared memory region {} is already registered; unregister it first",
                    QuoteClientText(name)));
  }
  return absl::OkStatus();
}

absl::Status ShmRegionRegistry::Unregister(std::string_view name) {
  if (!enabled()) return Disabled();
  std::vector<std::shared_ptr<const Region>> released;  // Unmapped outside the lock.
  absl::MutexLock lock(&mu_);
  if (name.empty()) {
    for (auto& [n, region] : regions_) released.push_back(std::move(region));
    regions_.clear();
    return absl::OkStatus();
  }
  // A name that is not registered is a success that does nothing, as in Triton: clean-up code
  // may unregister what it never registered.
  auto it = regions_.find(std::string(name));
  if (it == regions_.end()) return absl::OkStatus();
  released.push_back(std::move(it->second));
  regions_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ShmRegionStatus>> ShmRegionRegistry::Status(
    std::string_view name) const {
  if (!enabled()) return Disabled();
  std::vector<ShmRegionStatus> out;
  absl::MutexLock lock(&mu_);
  if (name.empty()) {
    for (const auto& [n, region] : regions_) out.push_back(region->status);
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
  }
  auto it = regions_.find(std::string(name));
  if (it == regions_.end()) {
    return absl::NotFoundError(
        fmt::format("shared memory region {} is not registered", QuoteClientText(name)));
  }
  out.push_back(it->second->status);
  return out;
}

absl::StatusOr<ShmRegionRegistry::Slice> ShmRegionRegistry::Resolve(
    std::string_view name, uint64_t offset, uint64_t byte_size, std::string_view what) const {
  if (!enabled()) return Disabled();
  std::shared_ptr<const Region> region;
  {
    absl::MutexLock lock(&mu_);
    auto it = regions_.find(std::string(name));
    if (it == regions_.end()) {
      return absl::NotFoundError(fmt::format("{}: shared memory region {} is not registered", what,
                                             QuoteClientText(name)));
    }
    region = it->second;
  }
  const ShmRegionStatus& s = region->status;
  if (!InBounds(offset, byte_size, s.byte_size)) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: shared_memory_offset {} + shared_memory_byte_size {} exceeds the {} bytes of shared "
        "memory region {}",
        what, offset, byte_size, s.byte_size, QuoteClientText(name)));
  }
  struct stat st{};
  if (fstat(region->fd, &st) != 0 ||
      !InBounds(s.offset + offset, byte_size, static_cast<uint64_t>(st.st_size))) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: shared memory object {} behind region {} has shrunk to {} bytes since it was "
        "registered",
        what, QuoteClientText(s.key), QuoteClientText(name), static_cast<uint64_t>(st.st_size)));
  }
  return Slice{region->data + offset, static_cast<size_t>(byte_size), region};
}

bool ShmRegionRegistry::UsesSharedMemory(const Parameters& parameters) {
  return parameters.contains(kShmRegionParameter);
}

absl::StatusOr<std::shared_ptr<OutputAllocator>> ShmRegionRegistry::ResolveRequest(
    InferRequest& request, std::shared_ptr<OutputAllocator> fallback) const {
  for (InferInput& input : request.inputs) {
    const std::string what = fmt::format("input {}", QuoteClientText(input.name));
    auto reference = ReadReference(input.parameters, what);
    if (!reference.ok()) return reference.status();
    if (!reference->has_value()) continue;
    if (!enabled()) return Disabled();
    if (input.byte_size > 0) {
      return absl::InvalidArgumentError(fmt::format(
          "{} names shared memory region {} and also carries data; send one or the other", what,
          QuoteClientText((*reference)->region)));
    }
    auto slice = Resolve((*reference)->region, (*reference)->offset, (*reference)->byte_size,
                         what);
    if (!slice.ok()) return slice.status();
    if (input.datatype == DataType::kBytes) {
      // Length prefixes are parsed again by the backend: give it a private copy.
      InferInput copy = InferInput::FromBytes(
          input.name, input.datatype, input.shape,
          std::string(reinterpret_cast<const char*>(slice->data), slice->byte_size));
      input.data = copy.data;
      input.byte_size = copy.byte_size;
      input.owner = std::move(copy.owner);
      continue;
    }
    input.data = slice->data;
    input.byte_size = slice->byte_size;
    input.owner = std::move(slice->owner);
  }
  absl::flat_hash_map<std::string, ShmOutputAllocator::Target> targets;
  for (const RequestedOutput& output : request.outputs) {
    const std::string what = fmt::format("output {}", QuoteClientText(output.name));
    auto reference = ReadReference(output.parameters, what);
    if (!reference.ok()) return reference.status();
    if (!reference->has_value()) continue;
    if (output.parameters.contains("classification")) {
      // As Triton: class strings are computed from the output, never written into a region.
      return absl::InvalidArgumentError(
          fmt::format("{} can't set both 'shared_memory_region' and 'classification'", what));
    }
    if (!enabled()) return Disabled();
    auto slice = Resolve((*reference)->region, (*reference)->offset, (*reference)->byte_size,
                         what);
    if (!slice.ok()) return slice.status();
    targets[output.name] = {(*reference)->region, *std::move(slice)};
  }
  if (targets.empty()) return std::shared_ptr<OutputAllocator>();
  if (fallback == nullptr) fallback = HeapOutputAllocator();
  return std::shared_ptr<OutputAllocator>(
      std::make_shared<ShmOutputAllocator>(std::move(targets), std::move(fallback)));
}

void ShmRegionRegistry::MarkSharedMemoryOutputs(const InferRequest& request,
                                                InferResponse& response) {
  for (const RequestedOutput& requested : request.outputs) {
    if (!UsesSharedMemory(requested.parameters)) continue;
    for (InferOutput& out : response.outputs) {
      if (out.name != requested.name) continue;
      for (std::string_view key :
           {kShmRegionParameter, kShmOffsetParameter, kShmByteSizeParameter}) {
        auto it = requested.parameters.find(key);
        if (it != requested.parameters.end()) out.parameters[std::string(key)] = it->second;
      }
      out.parameters[std::string(kShmByteSizeParameter)] = static_cast<int64_t>(out.byte_size);
      out.data = nullptr;
      out.byte_size = 0;
      out.owner.reset();
    }
  }
}

absl::StatusOr<std::shared_ptr<OutputAllocator>> ResolveSharedMemory(
    const ShmRegionRegistry* registry, InferRequest& request,
    std::shared_ptr<OutputAllocator> fallback) {
  if (registry == nullptr) {
    static const ShmRegionRegistry disabled({});
    registry = &disabled;
  }
  auto names_shm = [](const Parameters& p) {
    return p.contains(kShmRegionParameter) || p.contains(kShmOffsetParameter) ||
           p.contains(kShmByteSizeParameter);
  };
  bool any = false;
  for (const InferInput& in : request.inputs) any |= names_shm(in.parameters);
  for (const RequestedOutput& out : request.outputs) any |= names_shm(out.parameters);
  if (!any) return fallback;
  absl::StatusOr<std::shared_ptr<OutputAllocator>> allocator =
      registry->ResolveRequest(request, fallback);
  if (!allocator.ok()) return allocator.status();
  return *allocator ? *std::move(allocator) : std::move(fallback);
}

void AddSharedMemoryExtension(const ShmRegionRegistry* registry, ServerMetadata& metadata) {
  if (registry == nullptr || !registry->enabled()) return;
  auto& extensions = metadata.extensions;
  auto at = std::find(extensions.begin(), extensions.end(), "model_configuration");
  extensions.insert(at == extensions.end() ? at : at + 1, "system_shared_memory");
}

std::shared_ptr<InferRequest> SharedMemoryOutputs(const InferRequest& request) {
  std::shared_ptr<InferRequest> outputs;
  for (const RequestedOutput& out : request.outputs) {
    if (!ShmRegionRegistry::UsesSharedMemory(out.parameters)) continue;
    if (!outputs) outputs = std::make_shared<InferRequest>();
    outputs->outputs.push_back(out);
  }
  return outputs;
}

}  // namespace inferd
