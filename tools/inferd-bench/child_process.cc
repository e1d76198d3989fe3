// SPDX-License-Identifier: Apache-2.0
#include "child_process.h"

#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

extern char** environ;

namespace inferd::bench {

ChildProcess::ChildProcess(const std::vector<std::string>& args) {
  if (args.empty()) return;
  int fds[2];
  if (pipe(fds) != 0) return;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (posix_spawn(&pid_, args[0].c_str(), &actions, nullptr, argv.data(), environ) != 0) {
    pid_ = -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  reader_ = std::thread([this, fd = fds[0]] {
    char buffer[4096];
    ssize_t n;
    while ((n = read(fd, buffer, sizeof(buffer))) > 0) {
      absl::MutexLock lock(&mu_);
      output_.append(buffer, static_cast<size_t>(n));
    }
    close(fd);
    absl::MutexLock lock(&mu_);
    eof_ = true;
  });
}

ChildProcess::~ChildProcess() {
  Stop();
  if (reader_.joinable()) reader_.join();
}

bool ChildProcess::WaitForOutput(const std::string& text, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return eof_ || output_.find(text) != std::string::npos;
  };
  mu_.AwaitWithTimeout(absl::Condition(&seen), timeout);
  return output_.find(text) != std::string::npos;
}

int ChildProcess::WaitForPort(const std::string& prefix, absl::Duration timeout) {
  if (!WaitForOutput(prefix, timeout)) return 0;
  absl::MutexLock lock(&mu_);
  // The whole line: wait for its end too.
  auto line_complete = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return eof_ || output_.find('\n', output_.find(prefix)) != std::string::npos;
  };
  mu_.AwaitWithTimeout(absl::Condition(&line_complete), timeout);
  const size_t at = output_.find(prefix);
  const size_t eol = output_.find('\n', at);
  const std::string line = output_.substr(at, eol == std::string::npos ? eol : eol - at);
  const size_t colon = line.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(line.c_str() + colon + 1);
}

ChildProcess::Usage ChildProcess::ThreadUsage() const {
  Usage usage;
  if (pid_ <= 0) return usage;
  std::error_code ec;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid_) + "/task";
  unsigned long long ns = 0;
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream schedstat(task.path() / "schedstat");
    unsigned long long run_ns = 0;
    if (schedstat >> run_ns) ns += run_ns;
    std::ifstream status(task.path() / "status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0 ||
          line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
        usage.context_switches += std::stoull(line.substr(line.find(':') + 1));
      }
    }
  }
  usage.cpu_seconds = static_cast<double>(ns) / 1e9;
  return usage;
}

int ChildProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

int ChildProcess::Wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

std::string ChildProcess::output() {
  absl::MutexLock lock(&mu_);
  return output_;
}

bool PinToCpu(int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0;
}

bool StartServersPinned(bool pin, const std::function<void()>& start_servers) {
  const bool servers_pinned = pin && std::thread::hardware_concurrency() >= 2 && PinToCpu(1);
  start_servers();
  return servers_pinned && PinToCpu(0);
}

LoadLevelCost MeasureLoadLevel(const ChildProcess& server, int requests,
                               const std::function<double()>& run) {
  const ChildProcess::Usage before = server.ThreadUsage();
  LoadLevelCost cost;
  cost.requests_per_second = run();
  const ChildProcess::Usage after = server.ThreadUsage();
  const double n = static_cast<double>(std::max(1, requests));
  cost.cpu_us_per_request = (after.cpu_seconds - before.cpu_seconds) * 1e6 / n;
  cost.switches_per_request =
      static_cast<double>(after.context_switches - before.context_switches) / n;
  return cost;
}

}  // namespace inferd::bench
