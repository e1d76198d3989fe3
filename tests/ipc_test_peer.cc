// SPDX-License-Identifier: Apache-2.0
// A separate client process for the ipc:// end-to-end tests:
//   ipc_test_peer connect <socket> [uid]   drops to `uid` (when given), connects, prints
//                                          "CONNECT OK" or "CONNECT ERROR <code>: <message>"
//   ipc_test_peer flood <socket>           keeps 16 requests in flight (busy and a 602,112-byte
//                                          identity) forever; prints "FLOODING" once the first
//                                          responses came back (the test then SIGKILLs it)
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "inferd/client.h"

namespace {

inferd::InferRequest Request(int i) {
  inferd::InferRequest request;
  if (i % 2 == 0) {
    request.model_name = "busy";
    std::vector<float> values(4, 1.0f);
    request.inputs.push_back(inferd::InferInput::Copy<float>(
        "INPUT0", inferd::DataType::kFp32, {1, 4}, std::span<const float>(values)));
  } else {
    request.model_name = "identity";
    std::vector<float> values(150528, 0.5f);
    request.inputs.push_back(inferd::InferInput::Copy<float>(
        "INPUT0", inferd::DataType::kFp32, {150528}, std::span<const float>(values)));
  }
  return request;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: ipc_test_peer connect|flood <socket> [uid]\n");
    return 2;
  }
  const std::string mode = argv[1];
  const std::string url = std::string("ipc://") + argv[2];
  if (mode == "connect") {
    if (argc > 3 && setuid(static_cast<uid_t>(std::stoul(argv[3]))) != 0) {
      std::printf("SETUID FAILED %s\n", std::strerror(errno));
      return 1;
    }
    auto client = inferd::Client::Create(url);
    if (client.ok()) {
      std::printf("CONNECT OK\n");
    } else {
      std::printf("CONNECT ERROR %s: %s\n",
                  std::string(absl::StatusCodeToString(client.status().code())).c_str(),
                  std::string(client.status().message()).c_str());
    }
    std::fflush(stdout);
    return 0;
  }
  auto client = inferd::Client::Create(url);
  if (!client.ok()) {
    std::printf("CONNECT ERROR %s\n", std::string(client.status().message()).c_str());
    return 1;
  }
  std::atomic<int> in_flight{0};
  std::atomic<int> completed{0};
  bool announced = false;
  for (int i = 0;; ++i) {
    while (in_flight.load() >= 16) std::this_thread::sleep_for(std::chrono::microseconds(200));
    ++in_flight;
    (*client)->InferAsync(Request(i), [&](absl::StatusOr<inferd::InferResponse>) {
      ++completed;
      --in_flight;
    });
    if (!announced && completed.load() >= 8) {
      std::printf("FLOODING\n");
      std::fflush(stdout);
      announced = true;
    }
  }
}
