// SPDX-License-Identifier: Apache-2.0
// Starts the real inferd binary as a child process for end-to-end tests, captures its output,
// and stops it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace inferd::testing {

class ServerProcess {
 public:
  // Starts `binary` with `args`; stdout and stderr are captured together. `environment`
  // ("NAME=value") is added to this process's environment, replacing variables of the same name.
  ServerProcess(const std::string& binary, const std::vector<std::string>& args,
                const std::vector<std::string>& environment = {});
  ~ServerProcess();  // SIGKILL if still running.

  // Reads output until it contains `text` or the process exits or `timeout` passes.
  bool WaitForOutput(const std::string& text, std::chrono::milliseconds timeout);
  // Waits for exit (reading output meanwhile); the exit code, or nullopt on timeout or a signal.
  std::optional<int> WaitForExit(std::chrono::milliseconds timeout);
  void Signal(int signal);

  const std::string& output() const { return output_; }
  pid_t pid() const { return pid_; }

 private:
  void ReadAvailable(std::chrono::milliseconds wait);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool exited_ = false;
  int wait_status_ = 0;
  std::string output_;
};

// <build>/bin/inferd, beside the running test binary.
std::string InferdBinary();

}  // namespace inferd::testing
