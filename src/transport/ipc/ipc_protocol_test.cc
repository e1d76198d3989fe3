// SPDX-License-Identifier: Apache-2.0
#include "transport/ipc/ipc_protocol.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace inferd::ipc {
namespace {

using ::testing::HasSubstr;

std::span<const std::byte> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

TEST(IpcProtocol, RequestBlobRoundTrips) {
  RequestBlob blob;
  blob.model_name = "identity";
  blob.model_version = 3;
  blob.id = "r1";
  blob.inputs.push_back({"INPUT0", DataType::kFp32, {1, 4}, 128, 16});
  blob.outputs = {"OUTPUT0"};
  blob.output_offset = 4096;
  blob.output_bytes = 8192;
  const std::string encoded = EncodeRequestBlob(blob);
  absl::StatusOr<RequestBlob> decoded = DecodeRequestBlob(Bytes(encoded));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->model_name, "identity");
  EXPECT_EQ(decoded->model_version, 3);
  ASSERT_EQ(decoded->inputs.size(), 1u);
  EXPECT_EQ(decoded->inputs[0].shape, (Shape{1, 4}));
  EXPECT_EQ(decoded->inputs[0].offset, 128u);
  EXPECT_EQ(decoded->outputs, std::vector<std::string>{"OUTPUT0"});
  EXPECT_EQ(decoded->output_bytes, 8192u);
}

TEST(IpcProtocol, EveryTruncationIsRejected) {
  RequestBlob blob;
  blob.model_name = "add_sub";
  blob.inputs.push_back({"INPUT0", DataType::kInt32, {16}, 0, 64});
  const std::string encoded = EncodeRequestBlob(blob);
  for (size_t n = 0; n < encoded.size(); ++n) {
    auto decoded = DecodeRequestBlob(Bytes(encoded.substr(0, n)));
    ASSERT_FALSE(decoded.ok()) << n;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("malformed ipc://"));
  }
}

TEST(IpcProtocol, GarbageIsRejectedWithoutCrashing) {
  std::string garbage(512, '\xff');
  auto decoded = DecodeRequestBlob(Bytes(garbage));
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("bad magic"));
  // Right magic, then a huge name length.
  std::string lying("\x69\x52\x45\x51\xff\xff\xff\x7f", 8);
  decoded = DecodeRequestBlob(Bytes(lying));
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("more than the limit"));
}

TEST(IpcProtocol, LayoutChecksItsArguments) {
  EXPECT_FALSE(ComputeLayout(64 << 20, 3).ok());
  EXPECT_FALSE(ComputeLayout(1024, 16).ok());
  auto layout = ComputeLayout(1 << 20, 256);
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->arena_offset % 4096, 0u);
  EXPECT_EQ(layout->arena_offset + layout->arena_bytes, 1u << 20);
}

TEST(IpcProtocol, InBoundsHandlesOverflow) {
  EXPECT_TRUE(InBounds(0, 10, 10));
  EXPECT_FALSE(InBounds(1, 10, 10));
  EXPECT_FALSE(InBounds(~0ull, 2, 10));
  EXPECT_FALSE(InBounds(5, ~0ull, 10));
}

TEST(ShmRing, PassesSlotsBetweenThreadsInOrder) {
  constexpr uint32_t kCapacity = 8;
  std::vector<std::byte> memory(RingBytes(sizeof(uint64_t), kCapacity) + 64);
  auto* base = reinterpret_cast<std::byte*>((reinterpret_cast<uintptr_t>(memory.data()) + 63) &
                                            ~uintptr_t{63});
  RingView producer(base, sizeof(uint64_t), kCapacity);
  RingView consumer(base, sizeof(uint64_t), kCapacity);
  constexpr uint64_t kCount = 10000;
  std::thread t([&] {
    for (uint64_t i = 0; i < kCount;) {
      if (producer.Push(&i).ok()) ++i;
    }
  });
  uint64_t expected = 0;
  while (expected < kCount) {
    uint64_t v = 0;
    absl::StatusOr<bool> got = consumer.Pop(&v);
    ASSERT_TRUE(got.ok());
    if (!*got) {
      consumer.Wait(absl::Microseconds(5), absl::Milliseconds(10));
      continue;
    }
    ASSERT_EQ(v, expected++);
  }
  t.join();
}

TEST(ShmRing, CorruptIndicesAreReportedNotTrusted) {
  std::vector<std::byte> memory(RingBytes(32, 4) + 64);
  auto* base = reinterpret_cast<std::byte*>((reinterpret_cast<uintptr_t>(memory.data()) + 63) &
                                            ~uintptr_t{63});
  RingView consumer(base, 32, 4);
  reinterpret_cast<RingControl*>(base)->head.store(1000);
  char slot[32];
  absl::StatusOr<bool> got = consumer.Pop(slot);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("ring corrupted"));
}

TEST(AdaptiveSpin, SpinsTwiceTheRecentWaitWhenThatFitsUnderTheCap) {
  AdaptiveSpin spin(absl::Microseconds(20), absl::Microseconds(200));
  EXPECT_EQ(spin.Budget(), absl::Microseconds(20));  // Nothing observed yet.
  spin.Observe(absl::Microseconds(30));
  EXPECT_EQ(spin.Budget(), absl::Microseconds(60));
  for (int i = 0; i < 100; ++i) spin.Observe(absl::Microseconds(5));
  EXPECT_EQ(spin.Budget(), absl::Microseconds(20));  // Twice the wait is under the base.
}

TEST(AdaptiveSpin, LongWaitsFallBackToTheBaseAndShortOnesComeBack) {
  AdaptiveSpin spin(absl::Microseconds(20), absl::Microseconds(200));
  for (int i = 0; i < 100; ++i) spin.Observe(absl::Milliseconds(5));  // A slow model: sleep.
  EXPECT_EQ(spin.Budget(), absl::Microseconds(20));
  for (int i = 0; i < 100; ++i) spin.Observe(absl::Microseconds(40));
  EXPECT_NEAR(absl::ToDoubleMicroseconds(spin.Budget()), 80, 0.5);
}

TEST(AdaptiveSpin, ACapAtOrBelowTheBaseTurnsItOff) {
  AdaptiveSpin spin(absl::Microseconds(20), absl::ZeroDuration());
  spin.Observe(absl::Microseconds(30));
  EXPECT_EQ(spin.Budget(), absl::Microseconds(20));
  AdaptiveSpin none(absl::ZeroDuration(), absl::ZeroDuration());
  none.Observe(absl::Microseconds(30));
  EXPECT_EQ(none.Budget(), absl::ZeroDuration());
}

}  // namespace
}  // namespace inferd::ipc
