// SPDX-License-Identifier: Apache-2.0
#include "transport/shm/shm_region_registry.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

namespace inferd {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// A real POSIX shm object of `bytes` bytes, mapped here too.
class ShmObject {
 public:
  explicit ShmObject(size_t bytes) : bytes_(bytes) {
    static int counter = 0;
    key_ = "/inferd_shm_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    const int fd = shm_open(key_.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(ftruncate(fd, static_cast<off_t>(bytes)), 0);
    data_ = static_cast<std::byte*>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    close(fd);
  }
  ~ShmObject() {
    munmap(data_, bytes_);
    shm_unlink(key_.c_str());
  }
  const std::string& key() const { return key_; }
  std::byte* data() { return data_; }
  void Truncate(size_t bytes) {
    const int fd = shm_open(key_.c_str(), O_RDWR, 0);
    EXPECT_EQ(ftruncate(fd, static_cast<off_t>(bytes)), 0);
    close(fd);
  }

 private:
  size_t bytes_;
  std::string key_;
  std::byte* data_;
};

TEST(ShmRegionRegistryLimitTest, RegistrationsPastMaxRegionsAreRefused) {
  ShmRegionRegistry registry({.allow_client_shm = true, .max_regions = 2});
  ShmObject object(4096);
  ASSERT_TRUE(registry.Register("a", object.key(), 0, 64).ok());
  ASSERT_TRUE(registry.Register("b", object.key(), 0, 64).ok());
  absl::Status third = registry.Register("c\x01", object.key(), 0, 64);
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(third.message(), AllOf(HasSubstr("already holds 2 regions"),
                                     HasSubstr("--max-shm-regions 2"), HasSubstr("\\x01")));
  // The same name again is still ALREADY_EXISTS, not the limit.
  EXPECT_EQ(registry.Register("a", object.key(), 0, 64).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(registry.Unregister("a").ok());
  EXPECT_TRUE(registry.Register("c", object.key(), 0, 64).ok());
}

Parameters ShmParams(std::string region, int64_t byte_size, int64_t offset = 0) {
  return {{std::string(kShmRegionParameter), std::move(region)},
          {std::string(kShmByteSizeParameter), byte_size},
          {std::string(kShmOffsetParameter), offset}};
}

class ShmRegionRegistryTest : public ::testing::Test {
 protected:
  ShmRegionRegistry registry_{{.allow_client_shm = true}};
  ShmObject object_{8192};
};

TEST_F(ShmRegionRegistryTest, DisabledRefusesEverythingAndSaysHowToEnable) {
  ShmRegionRegistry off({});
  absl::Status s = off.Register("r", object_.key(), 0, 64);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("--allow-client-shm"));
  InferRequest request;
  InferInput in;
  in.name = "INPUT0";
  in.parameters = ShmParams("r", 16);
  request.inputs.push_back(in);
  EXPECT_EQ(off.ResolveRequest(request).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ShmRegionRegistryTest, RegisterStatusUnregister) {
  ASSERT_TRUE(registry_.Register("a", object_.key(), 4096, 1024).ok());
  ASSERT_TRUE(registry_.Register("b", object_.key(), 0, 8192).ok());
  auto all = registry_.Status("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "a");
  EXPECT_EQ((*all)[0].offset, 4096u);
  EXPECT_EQ((*all)[0].byte_size, 1024u);
  EXPECT_TRUE(registry_.Unregister("a").ok());
  EXPECT_EQ(registry_.Status("a").status().code(), absl::StatusCode::kNotFound);
  // Unregistering what is not registered is a success that changes nothing, as in Triton.
  EXPECT_TRUE(registry_.Unregister("a").ok());
  EXPECT_TRUE(registry_.Unregister("never_registered").ok());
  EXPECT_EQ(registry_.Status("")->size(), 1u);
  EXPECT_TRUE(registry_.Unregister("").ok());
  EXPECT_TRUE(registry_.Status("")->empty());
}

TEST_F(ShmRegionRegistryTest, BadRegistrationsAreRefused) {
  absl::Status s = registry_.Register("r", "/inferd_no_such_key_xyz", 0, 16);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("does not exist"));
  s = registry_.Register("r", object_.key(), 8000, 512);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("exceeds the 8192 bytes"));
  s = registry_.Register("r", "no-slash", 0, 16);
  EXPECT_THAT(std::string(s.message()), HasSubstr("not a POSIX shm name"));
  s = registry_.Register("r", "/triton_python_backend_shm_region_1", 0, 16);
  EXPECT_THAT(std::string(s.message()), HasSubstr("reserved prefix"));
  ASSERT_TRUE(registry_.Register("r", object_.key(), 0, 16).ok());
  s = registry_.Register("r", object_.key(), 0, 16);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(s.message()), HasSubstr("already registered"));
}

TEST_F(ShmRegionRegistryTest, InputsPointIntoTheRegionAndOutputsAreWrittenThere) {
  ASSERT_TRUE(registry_.Register("in", object_.key(), 0, 4096).ok());
  ASSERT_TRUE(registry_.Register("out", object_.key(), 4096, 4096).ok());
  std::memcpy(object_.data() + 100, "abcd", 4);
  InferRequest request;
  InferInput in;
  in.name = "INPUT0";
  in.datatype = DataType::kUint8;
  in.shape = {4};
  in.parameters = ShmParams("in", 4, 100);
  request.inputs.push_back(in);
  request.outputs.push_back({"OUTPUT0", ShmParams("out", 8, 16)});
  auto allocator = registry_.ResolveRequest(request);
  ASSERT_TRUE(allocator.ok()) << allocator.status();
  ASSERT_NE(*allocator, nullptr);
  EXPECT_EQ(std::memcmp(request.inputs[0].data, "abcd", 4), 0);
  EXPECT_EQ(request.inputs[0].byte_size, 4u);
  auto buffer = (*allocator)->Allocate("OUTPUT0", DataType::kUint8, {}, 8);
  ASSERT_TRUE(buffer.ok());
  std::memcpy(buffer->data, "written!", 8);  // Lands in the object, at the output's offset.
  EXPECT_EQ(std::memcmp(object_.data() + 4096 + 16, "written!", 8), 0);
  auto too_big = (*allocator)->Allocate("OUTPUT0", DataType::kUint8, {}, 9);
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(too_big.status().message()),
              AllOf(HasSubstr("output 'OUTPUT0' needs 9 bytes"), HasSubstr("provides only 8")));
  // Other outputs go to the heap.
  EXPECT_TRUE((*allocator)->Allocate("OTHER", DataType::kUint8, {}, 100).ok());
}

TEST_F(ShmRegionRegistryTest, OutOfRangeUseIsRefused) {
  ASSERT_TRUE(registry_.Register("r", object_.key(), 0, 1024).ok());
  auto slice = registry_.Resolve("r", 1000, 100, "input 'INPUT0'");
  EXPECT_EQ(slice.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(slice.status().message()),
              AllOf(HasSubstr("input 'INPUT0'"), HasSubstr("exceeds the 1024 bytes")));
  slice = registry_.Resolve("r", ~0ull - 10, 100, "input 'INPUT0'");
  EXPECT_EQ(slice.status().code(), absl::StatusCode::kInvalidArgument);
  slice = registry_.Resolve("missing", 0, 1, "output 'OUTPUT0'");
  EXPECT_EQ(slice.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(slice.status().message()), HasSubstr("not registered"));
}

TEST_F(ShmRegionRegistryTest, ShrunkObjectIsRefusedInsteadOfFaulting) {
  ASSERT_TRUE(registry_.Register("r", object_.key(), 4096, 4096).ok());
  object_.Truncate(4096);
  auto slice = registry_.Resolve("r", 0, 16, "input 'INPUT0'");
  EXPECT_EQ(slice.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(slice.status().message()), HasSubstr("has shrunk"));
}

TEST_F(ShmRegionRegistryTest, UnregisterKeepsTheMappingForRunningRequests) {
  ASSERT_TRUE(registry_.Register("r", object_.key(), 0, 64).ok());
  std::memcpy(object_.data(), "live", 4);
  auto slice = registry_.Resolve("r", 0, 4, "input 'INPUT0'");
  ASSERT_TRUE(slice.ok());
  ASSERT_TRUE(registry_.Unregister("r").ok());
  // The name is gone for new requests...
  EXPECT_EQ(registry_.Resolve("r", 0, 4, "input").status().code(), absl::StatusCode::kNotFound);
  // ...but the running request's view is still mapped.
  EXPECT_EQ(std::memcmp(slice->data, "live", 4), 0);
}

TEST_F(ShmRegionRegistryTest, MalformedParametersAreRefused) {
  InferRequest request;
  InferInput in;
  in.name = "INPUT0";
  in.parameters = {{std::string(kShmRegionParameter), std::string("r")}};
  request.inputs.push_back(in);
  auto result = registry_.ResolveRequest(request);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("without shared_memory_byte_size"));
  request.inputs[0].parameters = ShmParams("r", -5);
  EXPECT_THAT(std::string(registry_.ResolveRequest(request).status().message()),
              HasSubstr("non-negative integer"));
}

TEST_F(ShmRegionRegistryTest, AnOutputInARegionCannotAlsoBeClassified) {
  ASSERT_TRUE(registry_.Register("r", object_.key(), 0, 4096).ok());
  InferRequest request;
  RequestedOutput out{"OUTPUT0", ShmParams("r", 64)};
  out.parameters["classification"] = int64_t{2};
  request.outputs.push_back(out);
  auto result = registry_.ResolveRequest(request);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(result.status().message()),
      AllOf(HasSubstr("'OUTPUT0'"), HasSubstr("'shared_memory_region' and 'classification'")));
}

TEST_F(ShmRegionRegistryTest, MarkSharedMemoryOutputsDropsTheirData) {
  InferRequest request;
  request.outputs.push_back({"OUTPUT0", ShmParams("out", 16)});
  InferResponse response;
  InferOutput out;
  out.name = "OUTPUT0";
  out.byte_size = 12;
  static const std::byte bytes[12] = {};
  out.data = bytes;
  response.outputs.push_back(out);
  ShmRegionRegistry::MarkSharedMemoryOutputs(request, response);
  EXPECT_EQ(response.outputs[0].data, nullptr);
  EXPECT_EQ(response.outputs[0].byte_size, 0u);
  EXPECT_EQ(std::get<std::string>(response.outputs[0].parameters.at("shared_memory_region")), "out");
  EXPECT_EQ(std::get<int64_t>(response.outputs[0].parameters.at("shared_memory_byte_size")), 12);
}

}  // namespace
}  // namespace inferd
