// SPDX-License-Identifier: Apache-2.0
// inferd-bench: benchmarks that print a figure and, where one exists, the baseline it is measured
// against in the same run.
#include <unistd.h>

#include <climits>
#include <string>

#include "CLI/CLI.hpp"
#include "memory_bench.h"

namespace {

std::string SiblingBinary(const char* name) {
  char path[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return name;
  std::string self(path, static_cast<size_t>(n));
  return self.substr(0, self.rfind('/') + 1) + name;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"inferd-bench: inferd benchmarks"};
  app.require_subcommand(1);
  inferd::bench::MemoryBenchOptions memory;
  memory.inferd_path = SiblingBinary("inferd");
  auto* memory_cmd = app.add_subcommand("memory", "Idle resident memory of the inferd binary");
  memory_cmd->add_option("--model-repository", memory.model_repository)->required();
  memory_cmd->add_option("--inferd", memory.inferd_path, "Path of the inferd binary");
  memory_cmd->add_option("--settle-ms", memory.settle_ms, "Idle time before measuring");
  CLI11_PARSE(app, argc, argv);
  if (memory_cmd->parsed()) return inferd::bench::RunMemoryBench(memory);
  return 0;
}
