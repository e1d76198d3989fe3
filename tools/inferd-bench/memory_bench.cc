// SPDX-License-Identifier: Apache-2.0
#include "memory_bench.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"

extern char** environ;

namespace inferd::bench {
namespace {

// VmRSS, RssAnon, RssFile, VmHWM and Threads from /proc/<pid>/status, in kB (Threads: a count).
std::map<std::string, long> ReadStatus(pid_t pid) {
  std::map<std::string, long> values;
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    if (key == "VmRSS" || key == "RssAnon" || key == "RssFile" || key == "VmHWM" ||
        key == "Threads") {
      values[key] = std::stol(line.substr(colon + 1));
    }
  }
  return values;
}

}  // namespace

int RunMemoryBench(const MemoryBenchOptions& options) {
  int out_pipe[2];
  if (pipe(out_pipe) != 0) {
    std::perror("pipe");
    return 1;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
  const std::string repo_flag = "--model-repository=" + options.model_repository;
  std::vector<char*> argv = {const_cast<char*>(options.inferd_path.c_str()),
                             const_cast<char*>(repo_flag.c_str()), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, options.inferd_path.c_str(), &actions, nullptr, argv.data(), environ) !=
      0) {
    std::perror("posix_spawn");
    return 1;
  }
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);

  // Wait for the readiness line.
  std::string output;
  bool ready = false;
  char buffer[4096];
  const auto start = std::chrono::steady_clock::now();
  while (!ready) {
    const ssize_t n = read(out_pipe[0], buffer, sizeof(buffer));
    if (n <= 0) break;
    output.append(buffer, static_cast<size_t>(n));
    ready = output.find("inferd ready") != std::string::npos;
  }
  const double startup_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!ready) {
    std::fprintf(stderr, "inferd did not become ready:\n%s\n", output.c_str());
    waitpid(pid, nullptr, 0);
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(options.settle_ms));
  const auto status = ReadStatus(pid);
  kill(pid, SIGTERM);
  int wait_status = 0;
  // Drain the pipe so the child never blocks on a full pipe while stopping.
  while (read(out_pipe[0], buffer, sizeof(buffer)) > 0) {
  }
  close(out_pipe[0]);
  waitpid(pid, &wait_status, 0);

  const auto get = [&](const char* key) {
    auto it = status.find(key);
    return it == status.end() ? 0L : it->second;
  };
  const double rss_mb = static_cast<double>(get("VmRSS")) / 1024.0;
  std::printf("inferd idle memory, repository %s\n", options.model_repository.c_str());
  std::printf("  start-up to ready:  %.0f ms\n", startup_ms);
  std::printf("  VmRSS:              %.2f MB (anon %.2f MB, file %.2f MB)\n", rss_mb,
              static_cast<double>(get("RssAnon")) / 1024.0,
              static_cast<double>(get("RssFile")) / 1024.0);
  std::printf("  VmHWM:              %.2f MB\n", static_cast<double>(get("VmHWM")) / 1024.0);
  std::printf("  threads:            %ld\n", get("Threads"));
  std::printf("  budget:             %.2f MB  -> %s (%.2fx of budget)\n", options.budget_mb,
              rss_mb <= options.budget_mb ? "within" : "OVER", rss_mb / options.budget_mb);
  const bool clean_exit = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
  std::printf("  SIGTERM exit:       %s\n", clean_exit ? "clean (0)" : "NOT clean");
  return clean_exit ? 0 : 1;
}

}  // namespace inferd::bench
