// SPDX-License-Identifier: Apache-2.0
// End-to-end: the real inferd binary serving the native ipc:// transport, through inferd's own
// ipc:// client, a hand-driven raw peer (bad descriptors) and separate client processes (another
// uid; a client killed mid-request).
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <numeric>
#include <thread>

#include "inferd/client.h"
#include "ipc_raw_peer.h"
#include "test_util/server_process.h"

namespace inferd {
namespace {

using ::testing::HasSubstr;
using testing::RawIpcPeer;
using testing::ServerProcess;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The real inferd with identity, add_sub and busy, serving ipc:// on a socket in a fresh folder
// (mode 0755, so that a client running as another uid can reach the socket).
class IpcServer {
 public:
  explicit IpcServer(std::vector<std::string> extra_args = {}) {
    static int counter = 0;
    dir_ = fs::temp_directory_path() /
           ("inferd_ipc_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "repo");
    chmod(dir_.c_str(), 0755);
    for (const char* model : {"identity", "add_sub", "busy"}) {
      fs::create_directories(dir_ / "repo" / model / "1");
      fs::copy_file(fs::path(INFERD_EXAMPLE_REPOSITORY) / model / "config.pbtxt",
                    dir_ / "repo" / model / "config.pbtxt");
    }
    std::vector<std::string> args = {"--model-repository=" + (dir_ / "repo").string(),
                                      "--ipc-socket-path=" + socket_path(),
                                      "--allow-http=false",
                                      "--allow-grpc=false",
                                      "--allow-metrics=false"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    process_ = std::make_unique<ServerProcess>(testing::InferdBinary(), args);
    ready_ = process_->WaitForOutput("inferd ready", 60s) &&
             process_->output().find("IPC server listening on " + socket_path()) !=
                 std::string::npos;
  }
  ~IpcServer() {
    process_.reset();
    fs::remove_all(dir_);
  }
  bool ready() const { return ready_; }
  std::string socket_path() const { return (dir_ / "inferd.sock").string(); }
  std::string url() const { return "ipc://" + socket_path(); }
  ServerProcess& process() { return *process_; }

  // Client regions the server has mapped, and its shared-memory RSS in kB.
  int MappedClientRegions() const {
    std::ifstream maps("/proc/" + std::to_string(process_->pid()) + "/maps");
    int count = 0;
    for (std::string line; std::getline(maps, line);) {
      if (line.find("memfd:inferd-ipc") != std::string::npos) ++count;
    }
    return count;
  }
  // Open file descriptors and threads of the server process.
  int OpenFds() const {
    int count = 0;
    for ([[maybe_unused]] const auto& entry :
         fs::directory_iterator("/proc/" + std::to_string(process_->pid()) + "/fd")) {
      ++count;
    }
    return count;
  }
  int Threads() const {
    std::ifstream status("/proc/" + std::to_string(process_->pid()) + "/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
    }
    return -1;
  }
  long RssShmemKb() const {
    std::ifstream status("/proc/" + std::to_string(process_->pid()) + "/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("RssShmem:", 0) == 0) return std::stol(line.substr(9));
    }
    return -1;
  }

 private:
  fs::path dir_;
  std::unique_ptr<ServerProcess> process_;
  bool ready_ = false;
};

InferRequest IdentityRequest(const std::vector<float>& values, std::string id = "") {
  InferRequest request;
  request.model_name = "identity";
  request.id = std::move(id);
  request.inputs.push_back(InferInput::Copy<float>("INPUT0", DataType::kFp32,
                                                   {static_cast<int64_t>(values.size())},
                                                   std::span<const float>(values)));
  return request;
}

InferRequest AddSubRequest(int32_t offset) {
  std::vector<int32_t> a(16), b(16, offset);
  std::iota(a.begin(), a.end(), 0);
  InferRequest request;
  request.model_name = "add_sub";
  request.inputs.push_back(
      InferInput::Copy<int32_t>("INPUT0", DataType::kInt32, {1, 16}, std::span<const int32_t>(a)));
  request.inputs.push_back(
      InferInput::Copy<int32_t>("INPUT1", DataType::kInt32, {1, 16}, std::span<const int32_t>(b)));
  return request;
}

std::string PeerBinary() {
  return (fs::path(testing::InferdBinary()).parent_path() / "ipc_test_peer").string();
}

class IpcEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new IpcServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->ready()) << server_->process().output();
    auto client = Client::Create(server_->url());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }
  // The server still answers a plain request correctly.
  void ExpectStillServing() {
    auto client = Client::Create(server_->url());
    ASSERT_TRUE(client.ok()) << client.status();
    auto response = (*client)->Infer(IdentityRequest({1.5f, -2.0f}));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_THAT(response->outputs.at(0).As<float>(), ::testing::ElementsAre(1.5f, -2.0f));
  }

  static IpcServer* server_;
  std::unique_ptr<Client> client_;
};
IpcServer* IpcEndToEnd::server_ = nullptr;

TEST_F(IpcEndToEnd, IdentityReturnsTheInput) {
  std::vector<float> values(1000);
  std::iota(values.begin(), values.end(), -3.0f);
  auto response = client_->Infer(IdentityRequest(values, "req-7"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->model_name, "identity");
  EXPECT_EQ(response->id, "req-7");
  const InferOutput* out = response->FindOutput("OUTPUT0");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->datatype, DataType::kFp32);
  EXPECT_EQ(out->shape, (Shape{1000}));
  EXPECT_EQ(std::vector<float>(out->As<float>().begin(), out->As<float>().end()), values);
}

TEST_F(IpcEndToEnd, AddSubComputesSumAndDifference) {
  auto response = client_->Infer(AddSubRequest(5));
  ASSERT_TRUE(response.ok()) << response.status();
  auto sum = response->FindOutput("OUTPUT0")->As<int32_t>();
  auto diff = response->FindOutput("OUTPUT1")->As<int32_t>();
  ASSERT_EQ(sum.size(), 16u);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(sum[i], i + 5);
    EXPECT_EQ(diff[i], i - 5);
  }
}

TEST_F(IpcEndToEnd, ZeroCopyInputIsReadWhereTheClientWroteIt) {
  constexpr size_t kFloats = 150528;  // 602,112 bytes
  auto buffer = client_->AllocateInput("INPUT0", DataType::kFp32, {kFloats}, kFloats * 4);
  ASSERT_TRUE(buffer.ok()) << buffer.status();
  auto* floats = reinterpret_cast<float*>(buffer->data.data());
  for (size_t i = 0; i < kFloats; ++i) floats[i] = static_cast<float>(i % 977);
  InferRequest request;
  request.model_name = "identity";
  request.inputs.push_back(buffer->input);
  auto response = client_->Infer(std::move(request));
  ASSERT_TRUE(response.ok()) << response.status();
  const InferOutput& out = response->outputs.at(0);
  ASSERT_EQ(out.byte_size, kFloats * 4);
  EXPECT_EQ(std::memcmp(out.data, buffer->data.data(), out.byte_size), 0);
  // The output lies in the same shared region as the input (written there by the backend).
  const auto distance = std::abs(out.data - buffer->data.data());
  EXPECT_LT(distance, 128 << 20);
}

TEST_F(IpcEndToEnd, FourThreadsShareOneConnection) {
  constexpr int kPerThread = 150;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::future<absl::StatusOr<InferResponse>>> identity;
      std::vector<std::future<absl::StatusOr<InferResponse>>> add_sub;
      for (int i = 0; i < kPerThread; ++i) {
        const float v = static_cast<float>(t * 1000 + i);
        if (i % 3 == 0) {
          // Sync call.
          auto r = client_->Infer(IdentityRequest({v, -v}));
          if (!r.ok() || r->outputs.at(0).As<float>()[0] != v) ++failures;
        } else if (i % 3 == 1) {
          identity.push_back(client_->InferAsync(IdentityRequest({v, v + 1})));
        } else {
          add_sub.push_back(client_->InferAsync(AddSubRequest(t + i)));
        }
      }
      std::promise<void> done;
      client_->InferAsync(AddSubRequest(1), [&](absl::StatusOr<InferResponse> r) {
        if (!r.ok() || r->FindOutput("OUTPUT1")->As<int32_t>()[0] != -1) ++failures;
        done.set_value();
      });
      for (auto& f : identity) {
        auto r = f.get();
        if (!r.ok() || r->outputs.at(0).As<float>()[1] != r->outputs.at(0).As<float>()[0] + 1) {
          ++failures;
        }
      }
      for (auto& f : add_sub) {
        auto r = f.get();
        if (!r.ok()) {
          ++failures;
          continue;
        }
        auto sum = r->FindOutput("OUTPUT0")->As<int32_t>();
        auto diff = r->FindOutput("OUTPUT1")->As<int32_t>();
        if (sum[3] + diff[3] != 6) ++failures;  // (3 + k) + (3 - k)
      }
      done.get_future().wait();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

// While a thread waits in Infer the client's receiver thread parks (the waiting thread drains the
// ring); an InferAsync issued after such a call must rouse it at once rather than wait out its
// park (50 ms), or asynchronous callers would see 50 ms latencies after every synchronous call.
TEST_F(IpcEndToEnd, AsyncRequestAfterASyncCallIsAnsweredPromptly) {
  constexpr int kRounds = 40;
  int slow = 0;
  for (int i = 0; i < kRounds; ++i) {
    InferRequest busy = IdentityRequest({1.0f});
    busy.model_name = "busy";  // ~7 ms: the receiver parks meanwhile.
    busy.inputs[0].shape = {1, 1};
    auto sync = client_->Infer(std::move(busy));
    ASSERT_TRUE(sync.ok()) << sync.status();
    const auto start = std::chrono::steady_clock::now();
    auto response = client_->InferAsync(IdentityRequest({static_cast<float>(i)})).get();
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->outputs.at(0).As<float>()[0], static_cast<float>(i));
    if (took > 25ms) ++slow;
  }
  // A round trip takes well under a millisecond; allow a couple of scheduling hiccups.
  EXPECT_LE(slow, 2) << slow << " of " << kRounds << " asynchronous requests took over 25 ms";
}

TEST_F(IpcEndToEnd, UnknownModelGetsNotFound) {
  InferRequest request = IdentityRequest({1.0f});
  request.model_name = "no_such_model";
  auto response = client_->Infer(std::move(request));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(response.status().message()), HasSubstr("no_such_model"));
  ExpectStillServing();
}

TEST_F(IpcEndToEnd, ShapeThatDisagreesWithTheBytesIsRefused) {
  InferRequest request = IdentityRequest({1.0f, 2.0f});
  request.inputs[0].shape = {3};
  auto response = client_->Infer(std::move(request));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(response.status().message()), HasSubstr("INPUT0"));
  ExpectStillServing();
}

TEST_F(IpcEndToEnd, HealthAndMetadataCalls) {
  EXPECT_EQ(client_->IsServerLive().value_or(false), true);
  auto ready = client_->IsServerReady();
  EXPECT_EQ(ready.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(ready.status().message()), HasSubstr("http://"));
}

TEST_F(IpcEndToEnd, BadUrlOptionIsRefused) {
  auto client = Client::Create(server_->url() + "?bogus=1");
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("unknown ipc:// URL option"));
  auto missing = Client::Create("ipc:///nonexistent/inferd.sock");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("--ipc-socket-path"));
}

TEST_F(IpcEndToEnd, SpinOptionsAreCheckedByName) {
  for (const char* option : {"spin_us=20000", "max_spin_us=10001"}) {
    auto client = Client::Create(server_->url() + "?" + option);
    ASSERT_FALSE(client.ok()) << option;
    EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(client.status().message()),
                HasSubstr(std::string("'") + option + "' is over 10000 microseconds"));
  }
  // Adaptive spin off, and a small cap: both serve.
  for (const char* option : {"max_spin_us=0", "spin_us=0&max_spin_us=50"}) {
    auto client = Client::Create(server_->url() + "?" + option);
    ASSERT_TRUE(client.ok()) << option << ": " << client.status();
    for (int i = 0; i < 3; ++i) {
      auto response = (*client)->Infer(IdentityRequest({static_cast<float>(i)}));
      ASSERT_TRUE(response.ok()) << option << ": " << response.status();
      EXPECT_EQ(response->outputs.at(0).As<float>()[0], static_cast<float>(i));
    }
  }
}

// ---- Malicious descriptors (a raw peer) ----

class IpcBadDescriptor : public IpcEndToEnd {
 protected:
  void SetUp() override {
    IpcEndToEnd::SetUp();
    peer_ = std::make_unique<RawIpcPeer>(server_->socket_path());
    ASSERT_TRUE(peer_->status().ok()) << peer_->status();
  }
  // A valid identity descriptor with 4 floats at arena offset 0 and the output area at 4096.
  ipc::RequestBlob GoodBlob() {
    const float values[4] = {1, 2, 3, 4};
    std::memcpy(peer_->arena(), values, sizeof(values));
    ipc::RequestBlob blob;
    blob.model_name = "identity";
    blob.inputs.push_back({"INPUT0", DataType::kFp32, {4}, 0, 16});
    blob.output_offset = 4096;
    blob.output_bytes = 16384;
    return blob;
  }
  absl::Status Send(uint64_t tag, const std::string& blob) {
    peer_->SendBlob(tag, 65536, blob);
    auto slot = peer_->Receive(10s);
    if (!slot) return absl::DeadlineExceededError("no response");
    EXPECT_EQ(slot->tag, tag);
    return ipc::SlotStatus(*slot);
  }
  std::unique_ptr<RawIpcPeer> peer_;
};

TEST_F(IpcBadDescriptor, AGoodDescriptorWorks) {
  EXPECT_TRUE(Send(1, ipc::EncodeRequestBlob(GoodBlob())).ok());
}

TEST_F(IpcBadDescriptor, InputOutsideTheRegionIsRefused) {
  ipc::RequestBlob blob = GoodBlob();
  blob.inputs[0].offset = peer_->layout().arena_bytes - 8;  // Runs 8 bytes past the end.
  absl::Status status = Send(2, ipc::EncodeRequestBlob(blob));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              AllOf(HasSubstr("input 'INPUT0'"), HasSubstr("outside the client's shared region")));
  blob.inputs[0].offset = ~0ull - 4;  // Overflows.
  status = Send(3, ipc::EncodeRequestBlob(blob));
  EXPECT_THAT(std::string(status.message()), HasSubstr("outside the client's shared region"));
  ExpectStillServing();
}

TEST_F(IpcBadDescriptor, OutputAreaOutsideTheRegionIsRefused) {
  ipc::RequestBlob blob = GoodBlob();
  blob.output_offset = peer_->layout().arena_bytes;
  absl::Status status = Send(4, ipc::EncodeRequestBlob(blob));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              AllOf(HasSubstr("output area"), HasSubstr("outside the client's shared region")));
  ExpectStillServing();
}

TEST_F(IpcBadDescriptor, DescriptorOutsideTheRegionIsRefused) {
  ipc::RequestSlot slot;
  slot.tag = 5;
  slot.blob_offset = peer_->layout().arena_bytes + 4096;
  slot.blob_bytes = 64;
  peer_->SendSlot(slot);
  auto response = peer_->Receive(10s);
  ASSERT_TRUE(response.has_value());
  absl::Status status = ipc::SlotStatus(*response);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              AllOf(HasSubstr("request descriptor"), HasSubstr("outside the client's shared")));
  ExpectStillServing();
}

TEST_F(IpcBadDescriptor, OutputAreaTooSmallIsReported) {
  ipc::RequestBlob blob = GoodBlob();
  blob.output_bytes = 8;
  peer_->SendBlob(6, 65536, ipc::EncodeRequestBlob(blob));
  auto response = peer_->Receive(10s);
  ASSERT_TRUE(response.has_value());
  absl::Status status = ipc::SlotStatus(*response);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()), HasSubstr("output area too small"));
  EXPECT_GE(response->needed_bytes, 16u);
  ExpectStillServing();
}

TEST_F(IpcBadDescriptor, UnknownModelGetsAnErrorResponse) {
  ipc::RequestBlob blob = GoodBlob();
  blob.model_name = "nope";
  absl::Status status = Send(7, ipc::EncodeRequestBlob(blob));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr("nope"));
}

TEST_F(IpcBadDescriptor, GarbageDescriptorGetsAnErrorResponse) {
  std::string garbage(300, '\x5a');
  absl::Status status = Send(8, garbage);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("malformed ipc:// request descriptor"));
  std::string truncated = ipc::EncodeRequestBlob(GoodBlob());
  truncated.resize(truncated.size() / 2);
  status = Send(9, truncated);
  EXPECT_THAT(std::string(status.message()), HasSubstr("malformed"));
  ExpectStillServing();
}

TEST_F(IpcBadDescriptor, CorruptRingClosesOnlyThatConnection) {
  peer_->request_control()->head.store(123456);  // Far more slots than the ring has.
  peer_->request_control()->seq.fetch_add(1);
  ipc::FutexWakeAll(&peer_->request_control()->seq);
  auto response = peer_->Receive(10s);
  ASSERT_TRUE(response.has_value());
  absl::Status status = ipc::SlotStatus(*response);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()), HasSubstr("ring corrupted"));
  for (int i = 0; i < 200 && !peer_->ServerHungUp(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(peer_->ServerHungUp());
  ExpectStillServing();
}

TEST_F(IpcBadDescriptor, UnsealedRegionIsRefused) {
  RawIpcPeer::Options options;
  options.seal = false;
  RawIpcPeer unsealed(server_->socket_path(), options);
  EXPECT_EQ(unsealed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(unsealed.status().message()), HasSubstr("F_SEAL_SHRINK"));
  ExpectStillServing();
}

// ---- Other processes ----

std::string RunPeer(const std::vector<std::string>& args) {
  ServerProcess peer(PeerBinary(), args);
  peer.WaitForExit(30s);
  return peer.output();
}

TEST_F(IpcEndToEnd, PeerWithADisallowedUidIsRefused) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to run a client as another uid";
  const std::string out = RunPeer({"connect", server_->socket_path(), "65534"});
  EXPECT_THAT(out, HasSubstr("CONNECT ERROR PERMISSION_DENIED"));
  EXPECT_THAT(out, HasSubstr("uid 65534"));
  EXPECT_THAT(out, HasSubstr("--ipc-allowed-uids=65534"));
  ExpectStillServing();
}

TEST(IpcAllowedUids, AnAllowedUidConnects) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to run a client as another uid";
  IpcServer server({"--ipc-allowed-uids=65534"});
  ASSERT_TRUE(server.ready()) << server.process().output();
  EXPECT_THAT(RunPeer({"connect", server.socket_path(), "65534"}), HasSubstr("CONNECT OK"));
  EXPECT_THAT(RunPeer({"connect", server.socket_path(), "65533"}),
              HasSubstr("CONNECT ERROR PERMISSION_DENIED"));
}

TEST_F(IpcEndToEnd, ClientKilledMidRequestLeavesTheServerHealthy) {
  // Warm up: a connection from this process, then measure with it closed.
  for (int i = 0; i < 200 && server_->MappedClientRegions() > 1; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  client_.reset();
  for (int i = 0; i < 500 && server_->MappedClientRegions() > 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(server_->MappedClientRegions(), 0);
  const long shmem_before = server_->RssShmemKb();

  ServerProcess flood(PeerBinary(), {"flood", server_->socket_path()});
  ASSERT_TRUE(flood.WaitForOutput("FLOODING", 30s)) << flood.output();
  EXPECT_EQ(server_->MappedClientRegions(), 1);
  EXPECT_GT(server_->RssShmemKb(), shmem_before);  // The client's tensors are mapped.
  flood.Signal(SIGKILL);
  flood.WaitForExit(10s);

  // The server keeps serving others meanwhile, and releases the dead client's region.
  ExpectStillServing();
  for (int i = 0; i < 1000 && server_->MappedClientRegions() > 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server_->MappedClientRegions(), 0) << "the dead client's region is still mapped";
  EXPECT_LE(server_->RssShmemKb(), shmem_before);
  ExpectStillServing();
}

// Clients that close their connection or are killed: the server reclaims each connection's socket
// and thread when the peer goes, without waiting for another client to connect (issue 13: they
// used to stay until the next accept).
TEST(IpcHungUpClients, FdsAndThreadsReturnToBaselineWithoutANewClient) {
  IpcServer server;
  ASSERT_TRUE(server.ready()) << server.process().output();
  const int fds_before = server.OpenFds();
  const int threads_before = server.Threads();
  constexpr int kClosed = 8;
  constexpr int kKilled = 4;
  int fds_during = 0;
  int threads_during = 0;
  {
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < kClosed; ++i) {
      auto client = Client::Create(server.url());
      ASSERT_TRUE(client.ok()) << client.status();
      auto response = (*client)->Infer(IdentityRequest({1.0f, 2.0f}));
      ASSERT_TRUE(response.ok()) << response.status();
      clients.push_back(*std::move(client));
    }
    std::vector<std::unique_ptr<ServerProcess>> peers;
    for (int i = 0; i < kKilled; ++i) {
      peers.push_back(std::make_unique<ServerProcess>(
          PeerBinary(), std::vector<std::string>{"flood", server.socket_path()}));
      ASSERT_TRUE(peers.back()->WaitForOutput("FLOODING", 30s)) << peers.back()->output();
    }
    fds_during = server.OpenFds();
    threads_during = server.Threads();
    EXPECT_GE(fds_during, fds_before + kClosed + kKilled);
    EXPECT_GE(threads_during, threads_before + kClosed + kKilled);
    for (auto& peer : peers) {
      peer->Signal(SIGKILL);
      peer->WaitForExit(10s);
    }
  }  // The clients close their connections here.
  // No new client connects while we wait.
  for (int i = 0; i < 1000 && (server.OpenFds() > fds_before || server.Threads() > threads_before);
       ++i) {
    std::this_thread::sleep_for(10ms);
  }
  std::cout << "[ figures ] server fds " << fds_before << " -> " << fds_during << " with "
            << kClosed + kKilled << " ipc:// clients -> " << server.OpenFds()
            << " after they went; threads " << threads_before << " -> " << threads_during << " -> "
            << server.Threads() << "\n";
  EXPECT_EQ(server.OpenFds(), fds_before) << "hung-up ipc:// connections still hold their fds";
  EXPECT_EQ(server.Threads(), threads_before) << "hung-up ipc:// connections still hold threads";
  auto client = Client::Create(server.url());
  ASSERT_TRUE(client.ok()) << client.status();
  auto response = (*client)->Infer(IdentityRequest({1.5f, -2.0f}));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(response->outputs.at(0).As<float>(), ::testing::ElementsAre(1.5f, -2.0f));
}

TEST(IpcServerGone, PendingRequestsFailWhenTheServerDies) {
  IpcServer server;
  ASSERT_TRUE(server.ready()) << server.process().output();
  auto client = Client::Create(server.url());
  ASSERT_TRUE(client.ok()) << client.status();
  std::vector<std::future<absl::StatusOr<InferResponse>>> futures;
  for (int i = 0; i < 64; ++i) {
    InferRequest request;
    request.model_name = "busy";
    std::vector<float> values(4, 1.0f);
    request.inputs.push_back(InferInput::Copy<float>("INPUT0", DataType::kFp32, {1, 4},
                                                     std::span<const float>(values)));
    futures.push_back((*client)->InferAsync(std::move(request)));
  }
  server.process().Signal(SIGKILL);
  int failed = 0;
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(30s), std::future_status::ready) << "a pending request hangs";
    auto result = f.get();
    if (result.ok()) continue;
    ++failed;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(result.status().message()), HasSubstr("closed the connection"));
  }
  EXPECT_GT(failed, 0);
  // New requests fail at once with the same error.
  auto after = (*client)->Infer(IdentityRequest({1.0f}));
  EXPECT_EQ(after.status().code(), absl::StatusCode::kUnavailable);
}

TEST(IpcServerGone, GracefulStopAnswersOrFailsEveryPendingRequest) {
  IpcServer server;
  ASSERT_TRUE(server.ready()) << server.process().output();
  auto client = Client::Create(server.url());
  ASSERT_TRUE(client.ok()) << client.status();
  std::vector<std::future<absl::StatusOr<InferResponse>>> futures;
  for (int i = 0; i < 32; ++i) futures.push_back((*client)->InferAsync(IdentityRequest({1.0f})));
  server.process().Signal(SIGTERM);
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(30s), std::future_status::ready) << "a pending request hangs";
    auto result = f.get();
    if (!result.ok()) {
      EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
    }
  }
  EXPECT_EQ(server.process().WaitForExit(30s), 0);
}

}  // namespace
}  // namespace inferd
