// SPDX-License-Identifier: Apache-2.0
// The real inferd binary serving gRPC on a free port, over a temporary repository with the
// example models (identity FP32, add_sub) and one identity model per datatype
// (identity_<datatype>, e.g. identity_fp16), in explicit mode with every model loaded.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "test_util/server_process.h"

namespace inferd::testing {

// (protocol name, config.pbtxt type) of every datatype.
inline const std::vector<std::pair<std::string, std::string>>& AllDatatypes() {
  static const std::vector<std::pair<std::string, std::string>> kTypes = {
      {"BOOL", "TYPE_BOOL"},     {"UINT8", "TYPE_UINT8"},   {"UINT16", "TYPE_UINT16"},
      {"UINT32", "TYPE_UINT32"}, {"UINT64", "TYPE_UINT64"}, {"INT8", "TYPE_INT8"},
      {"INT16", "TYPE_INT16"},   {"INT32", "TYPE_INT32"},   {"INT64", "TYPE_INT64"},
      {"FP16", "TYPE_FP16"},     {"FP32", "TYPE_FP32"},     {"FP64", "TYPE_FP64"},
      {"BYTES", "TYPE_STRING"},  {"BF16", "TYPE_BF16"}};
  return kTypes;
}

inline std::string LowerCase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class GrpcTestServer {
 public:
  explicit GrpcTestServer(const std::vector<std::string>& extra_args = {}) {
    static std::atomic<int> counter{0};
    namespace fs = std::filesystem;
    repo_ = fs::temp_directory_path() /
            ("inferd_grpc_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(repo_);
    const fs::path examples = INFERD_EXAMPLE_REPOSITORY;
    for (const char* model : {"identity", "add_sub"}) {
      fs::create_directories(repo_ / model / "1");
      fs::copy_file(examples / model / "config.pbtxt", repo_ / model / "config.pbtxt");
    }
    for (const auto& [name, type] : AllDatatypes()) {
      const std::string model = "identity_" + LowerCase(name);
      fs::create_directories(repo_ / model / "1");
      std::ofstream(repo_ / model / "config.pbtxt")
          << "name: \"" << model << "\"\nbackend: \"builtin\"\nmax_batch_size: 0\n"
          << "input [ { name: \"INPUT0\" data_type: " << type << " dims: [ -1 ] } ]\n"
          << "output [ { name: \"OUTPUT0\" data_type: " << type << " dims: [ -1 ] } ]\n"
          << "instance_group [ { count: 1 kind: KIND_CPU } ]\n"
          << "parameters { key: \"builtin_model\" value { string_value: \"identity\" } }\n";
    }
    std::vector<std::string> args = {"--model-repository=" + repo_.string(),
                                     "--model-control-mode=explicit",
                                     "--load-model=*",
                                     "--grpc-port=0",
                                     "--allow-http=false",
                                     "--allow-metrics=false"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    process_ = std::make_unique<ServerProcess>(InferdBinary(), args);
    if (!process_->WaitForOutput("inferd ready", std::chrono::seconds(60))) return;
    const std::string& out = process_->output();
    const std::string prefix = "GRPC server listening on ";
    const size_t at = out.find(prefix);
    if (at == std::string::npos) return;
    const std::string line = out.substr(at, out.find('\n', at) - at);
    port_ = std::stoi(line.substr(line.rfind(':') + 1));
  }
  ~GrpcTestServer() {
    process_.reset();
    std::filesystem::remove_all(repo_);
  }

  int port() const { return port_; }  // 0 when the server did not start.
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "grpc://" + address(); }
  ServerProcess& process() { return *process_; }

 private:
  std::filesystem::path repo_;
  std::unique_ptr<ServerProcess> process_;
  int port_ = 0;
};

}  // namespace inferd::testing
