// SPDX-License-Identifier: Apache-2.0
// A benchmark's server in its own process (inferd, or a bare baseline server that inferd-bench
// starts as one of its own subcommands), so that every side of a comparison pays for the same
// process boundary. Its output is collected by a thread, so the child never blocks on a full pipe.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace inferd::bench {

class ChildProcess {
 public:
  // Starts args[0] with the arguments that follow; failure shows as running() == false.
  explicit ChildProcess(const std::vector<std::string>& args);
  ~ChildProcess();  // Stop(), then collects the rest of the output.

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // True once `text` appeared in the output; false when the child ended or `timeout` passed.
  bool WaitForOutput(const std::string& text, absl::Duration timeout = absl::Seconds(60));

  // The port of the first line containing `prefix`, which ends in ":<port>" (the "listening on
  // host:port" lines of inferd and the baselines); 0 when no such line appears in time.
  int WaitForPort(const std::string& prefix, absl::Duration timeout = absl::Seconds(60));

  // What the child's threads have used so far, read from /proc/<pid>/task/* in one pass: CPU
  // time (each thread's run time from schedstat, in nanoseconds: finer than stat's clock ticks)
  // and context switches (voluntary: a thread went to sleep, mostly to wait for a wake-up; and
  // involuntary). Zeros when the child is not running. A server's threads live as long as it
  // does, so none is missed.
  struct Usage {
    double cpu_seconds = 0;
    unsigned long long context_switches = 0;
  };
  Usage ThreadUsage() const;

  // SIGTERM, then waits; the exit status as waitpid gives it (-1 when not running).
  int Stop();
  // Waits for the child to exit by itself; the exit status as waitpid gives it.
  int Wait();

  std::string output();

 private:
  pid_t pid_ = -1;
  std::thread reader_;
  absl::Mutex mu_;
  std::string output_ ABSL_GUARDED_BY(mu_);
  bool eof_ ABSL_GUARDED_BY(mu_) = false;
};

// Restricts the calling thread, and the threads and processes it starts from now on, to one CPU.
// False when the machine has no such CPU or the call fails. Benchmarks put their servers on one
// CPU and their clients on another, so that every request crosses between the same two CPUs and
// medians do not jump with the kernel's placement of the threads (on a VM, a wake-up on the same
// CPU and one across CPUs differ by tens of microseconds).
bool PinToCpu(int cpu);

// Runs `start_servers` with the calling thread on CPU 1, so that the servers it starts (and all
// their threads) live there, then leaves the calling thread (the clients) on CPU 0. Without `pin`
// or a second CPU it only runs `start_servers`. True when both placements held.
bool StartServersPinned(bool pin, const std::function<void()>& start_servers);

// A server's cost under one level of load: `run()` completes `requests` requests against `server`
// and returns requests per second; the server's CPU time and context switches over the run are
// divided by `requests`.
struct LoadLevelCost {
  double requests_per_second = 0;
  double cpu_us_per_request = 0;
  double switches_per_request = 0;
};
LoadLevelCost MeasureLoadLevel(const ChildProcess& server, int requests,
                               const std::function<double()>& run);

}  // namespace inferd::bench
