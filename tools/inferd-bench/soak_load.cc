// SPDX-License-Identifier: Apache-2.0
#include "soak_load.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "inferd/client.h"

namespace inferd::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Counts {
  long requests = 0;
  long errors = 0;
  long refused = 0;
  long connections = 0;
  long connect_errors = 0;
};

void Report(Counts& counts, const std::string& what, const absl::Status& status) {
  ++counts.errors;
  if (counts.errors <= 5) std::fprintf(stderr, "soak-load: %s: %s\n", what.c_str(),
                                       status.ToString().c_str());
}

InferRequest IdentityRequest(const std::string& model, size_t elements, float seed) {
  std::vector<float> values(elements);
  for (size_t i = 0; i < elements; ++i) values[i] = seed + static_cast<float>(i % 1000);
  InferRequest request;
  request.model_name = model;
  request.inputs.push_back(InferInput::Copy<float>("INPUT0", DataType::kFp32,
                                                   {static_cast<int64_t>(elements)}, values));
  return request;
}

bool IdentityMatches(const InferRequest& request, const InferResponse& response) {
  const InferOutput* out = response.FindOutput("OUTPUT0");
  const InferInput& in = request.inputs[0];
  return out != nullptr && out->byte_size == in.byte_size &&
         std::memcmp(out->data, in.data, in.byte_size) == 0;
}

InferRequest AddSubRequest(const std::string& model) {
  std::vector<int32_t> a(16), b(16, 3);
  for (int i = 0; i < 16; ++i) a[i] = i;
  InferRequest request;
  request.model_name = model;
  request.inputs.push_back(InferInput::Copy<int32_t>("INPUT0", DataType::kInt32, {1, 16}, a));
  request.inputs.push_back(InferInput::Copy<int32_t>("INPUT1", DataType::kInt32, {1, 16}, b));
  return request;
}

bool Refusal(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsNotFound(s);
}

void Stream(Client& client, const SoakLoadOptions& options, Counts& counts) {
  std::promise<void> done;
  int pending = 4;
  long bad = 0;
  std::mutex mu;
  auto stream = client.StartStream([&](const std::string&, absl::StatusOr<InferResponse> r) {
    std::lock_guard<std::mutex> lock(mu);
    if (!r.ok()) ++bad;
    if (--pending == 0) done.set_value();
  });
  if (!stream.ok()) return Report(counts, "stream", stream.status());
  for (int i = 0; i < 4; ++i) {
    InferRequest request = IdentityRequest(options.steady_model, 16, static_cast<float>(i));
    request.id = std::to_string(i);
    if (absl::Status s = (*stream)->Write(std::move(request)); !s.ok()) {
      return Report(counts, "stream write", s);
    }
  }
  if (absl::Status s = (*stream)->Finish(); !s.ok()) return Report(counts, "stream finish", s);
  done.get_future().wait_for(std::chrono::seconds(10));
  counts.requests += 4;
  if (bad > 0) Report(counts, "stream", absl::InternalError(fmt::format("{} failed", bad)));
}

}  // namespace

int RunSoakLoad(const SoakLoadOptions& options) {
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<long>(options.seconds * 1000));
  const bool grpc = options.url.rfind("grpc://", 0) == 0;
  Counts counts;
  long n = 0;
  const auto start = Clock::now();
  while (Clock::now() < deadline) {
    auto client = Client::Create(options.url);
    if (!client.ok()) {
      ++counts.connect_errors;
      Report(counts, "connect", client.status());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    ++counts.connections;
    for (int i = 0; i < options.reconnect_every && Clock::now() < deadline; ++i, ++n) {
      const size_t elements = (n % options.large_every == 0) ? 150528 : 4;
      InferRequest request = IdentityRequest(options.steady_model, elements, static_cast<float>(n));
      InferRequest copy = request;  // Inputs are shared views: the check reads the same bytes.
      auto response = (*client)->Infer(std::move(request));
      ++counts.requests;
      if (!response.ok()) {
        Report(counts, options.steady_model, response.status());
      } else if (!IdentityMatches(copy, *response)) {
        Report(counts, options.steady_model, absl::DataLossError("output differs from input"));
      }
      if (n % 4 == 0) {
        auto r = (*client)->Infer(AddSubRequest(options.cycled_model));
        ++counts.requests;
        if (!r.ok()) {
          if (Refusal(r.status())) {
            ++counts.refused;
          } else {
            Report(counts, options.cycled_model, r.status());
          }
        }
      }
      if (grpc && n % 16 == 0) Stream(**client, options, counts);
      if (options.rate > 0) {
        std::this_thread::sleep_until(start + std::chrono::microseconds(1000000 * (n + 1) /
                                                                         options.rate));
      }
    }
  }
  std::printf(
      "soak-load %s: %ld requests, %ld errors, %ld refused while %s was unloaded, %ld "
      "connections, %ld failed connects\n",
      options.url.c_str(), counts.requests, counts.errors, counts.refused,
      options.cycled_model.c_str(), counts.connections, counts.connect_errors);
  return counts.errors > 0 ? 1 : 0;
}

}  // namespace inferd::bench
