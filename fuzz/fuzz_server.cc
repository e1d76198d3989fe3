// SPDX-License-Identifier: Apache-2.0
#include "fuzz/fuzz_server.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "spdlog/spdlog.h"

namespace inferd::fuzz {
namespace {

struct Model {
  const char* name;
  const char* config;
};

// Small and fast: every request runs in microseconds, so the fuzzer spends its time in the
// request path rather than in a model.
constexpr Model kModels[] = {
    {"identity", R"(backend: "builtin" max_batch_size: 0
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ -1 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ -1 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ])"},
    {"identity_bytes", R"(backend: "builtin" max_batch_size: 4
input [ { name: "INPUT0" data_type: TYPE_STRING dims: [ -1 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_STRING dims: [ -1 ] } ]
parameters { key: "builtin_model" value { string_value: "identity" } })"},
    {"add_sub", R"(backend: "builtin" max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] },
        { name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] },
         { name: "OUTPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ])"},
    {"add_sub_batched", R"(backend: "builtin" max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] },
        { name: "INPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] },
         { name: "OUTPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]
parameters { key: "builtin_model" value { string_value: "add_sub" } }
dynamic_batching { })"},
};

std::string WriteRepository() {
  namespace fs = std::filesystem;
  const fs::path root =
      fs::temp_directory_path() / ("inferd-fuzz-repository-" + std::to_string(getpid()));
  for (const Model& model : kModels) {
    fs::create_directories(root / model.name / "1");
    std::ofstream(root / model.name / "config.pbtxt") << model.config << "\n";
  }
  return root.string();
}

std::unique_ptr<InferenceServer> Create() {
  spdlog::set_level(spdlog::level::err);
  const std::string repository = WriteRepository();
  ServerOptions options;
  options.model_repository = repository;
  options.backend_directory = INFERD_FUZZ_BACKEND_DIR;
  auto server = InferenceServer::Create(options);
  std::error_code ec;
  std::filesystem::remove_all(repository, ec);  // Everything is loaded by now.
  if (!server.ok()) {
    std::fprintf(stderr, "fuzz: cannot start the server: %s\n", server.status().ToString().c_str());
    std::abort();
  }
  return *std::move(server);
}

}  // namespace

InferenceServer& Server() {
  static InferenceServer* server = Create().release();  // Never destroyed: threads may run.
  return *server;
}

absl::StatusOr<InferResponse> InferAndWait(InferRequest request,
                                           std::shared_ptr<OutputAllocator> allocator,
                                           InferOptions options) {
  std::promise<absl::StatusOr<InferResponse>> done;
  Server().Infer(
      std::move(request),
      [&done](absl::StatusOr<InferResponse> result) { done.set_value(std::move(result)); },
      std::move(allocator), options);
  return done.get_future().get();
}

}  // namespace inferd::fuzz
