// SPDX-License-Identifier: Apache-2.0
#include "scheduler/task_executor.h"

#include <pthread.h>

#include <deque>
#include <map>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace inferd {
namespace {

// Linux limits thread names to 15 characters.
constexpr size_t kMaxThreadNameLength = 15;

void NameCurrentThread(std::string name) {
  if (name.size() > kMaxThreadNameLength) name.resize(kMaxThreadNameLength);
  pthread_setname_np(pthread_self(), name.c_str());
}

class ThreadPoolExecutor final : public TaskExecutor {
 public:
  explicit ThreadPoolExecutor(ThreadPoolExecutorOptions options) : options_(std::move(options)) {
    if (options_.clock == nullptr) options_.clock = Clock::Real();
    const int threads = options_.threads < 1 ? 1 : options_.threads;
    workers_.reserve(static_cast<size_t>(threads));
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
    timer_ = std::thread([this] { TimerLoop(); });
  }

  ~ThreadPoolExecutor() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      work_available_.SignalAll();
      timer_changed_.SignalAll();
    }
    for (std::thread& worker : workers_) worker.join();
    timer_.join();
  }

  void Run(absl::AnyInvocable<void() &&> task) override {
    absl::MutexLock lock(&mu_);
    tasks_.push_back(std::move(task));
    work_available_.Signal();
  }

  void RunAt(int64_t deadline_ns, absl::AnyInvocable<void() &&> task) override {
    absl::MutexLock lock(&mu_);
    const bool earliest = timers_.empty() || deadline_ns < timers_.begin()->first;
    timers_.emplace(deadline_ns, std::move(task));
    if (earliest) timer_changed_.Signal();
  }

 private:
  void WorkerLoop() {
    NameCurrentThread(options_.name);
    while (true) {
      absl::AnyInvocable<void() &&> task;
      {
        absl::MutexLock lock(&mu_);
        while (tasks_.empty() && !stopping_) work_available_.Wait(&mu_);
        if (tasks_.empty()) return;  // Stopping and nothing left to run.
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      std::move(task)();
    }
  }

  void TimerLoop() {
    NameCurrentThread(options_.name + "-t");
    absl::MutexLock lock(&mu_);
    while (!stopping_) {
      if (timers_.empty()) {
        timer_changed_.Wait(&mu_);
        continue;
      }
      const int64_t now = options_.clock->NowNanos();
      auto first = timers_.begin();
      if (first->first > now) {
        timer_changed_.WaitWithTimeout(&mu_, absl::Nanoseconds(first->first - now));
        continue;
      }
      absl::AnyInvocable<void() &&> task = std::move(first->second);
      timers_.erase(first);
      mu_.Unlock();
      std::move(task)();
      mu_.Lock();
    }
  }

  ThreadPoolExecutorOptions options_;
  absl::Mutex mu_;
  absl::CondVar work_available_;
  absl::CondVar timer_changed_;
  std::deque<absl::AnyInvocable<void() &&>> tasks_ ABSL_GUARDED_BY(mu_);
  std::multimap<int64_t, absl::AnyInvocable<void() &&>> timers_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
  std::thread timer_;
};

}  // namespace

std::unique_ptr<TaskExecutor> CreateThreadPoolExecutor(ThreadPoolExecutorOptions options) {
  return std::make_unique<ThreadPoolExecutor>(std::move(options));
}

}  // namespace inferd
