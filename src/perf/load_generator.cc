// SPDX-License-Identifier: Apache-2.0
#include "perf/load_generator.h"

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace inferd::perf {

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

namespace {

std::string ErrorText(const absl::Status& status) {
  std::string text = fmt::format("{}: {}", absl::StatusCodeToString(status.code()),
                                 std::string(status.message()));
  if (text.size() > 300) text.resize(300);
  return text;
}

// State shared with callbacks that may outlive the generator (a request left in flight when
// Stop gave up).
struct Shared {
  absl::Mutex mu;
  std::vector<RequestRecord> records ABSL_GUARDED_BY(mu);
  uint64_t completed ABSL_GUARDED_BY(mu) = 0;
  int64_t in_flight ABSL_GUARDED_BY(mu) = 0;
  bool stop ABSL_GUARDED_BY(mu) = false;
  std::map<std::string, RequestRecord> stream_pending ABSL_GUARDED_BY(mu);

  void Finish(RequestRecord record) {
    absl::MutexLock lock(&mu);
    records.push_back(std::move(record));
    ++completed;
    --in_flight;
  }
};

class Generator final : public LoadGenerator {
 public:
  Generator(Client* client, LoadSpec spec, RequestSource next, ResponseCheck check)
      : client_(client),
        spec_(spec),
        next_(std::move(next)),
        check_(std::move(check)),
        shared_(std::make_shared<Shared>()) {}

  ~Generator() override { Stop(1000); }

  absl::Status Begin() {
    if (spec_.call_mode == CallMode::kStreaming) {
      std::weak_ptr<Shared> weak = shared_;
      ResponseCheck check = check_;
      auto stream = client_->StartStream(
          [weak, check](const std::string& id, absl::StatusOr<InferResponse> result) {
            const int64_t arrived = SteadyNowNs();
            auto shared = weak.lock();
            if (!shared) return;
            RequestRecord record;
            {
              absl::MutexLock lock(&shared->mu);
              auto it = shared->stream_pending.find(id);
              if (it == shared->stream_pending.end()) return;
              record = it->second;
              shared->stream_pending.erase(it);
            }
            Complete(*shared, check, std::move(record), arrived, std::move(result));
          });
      if (!stream.ok()) return stream.status();
      stream_ = *std::move(stream);
    }
    if (spec_.mode == LoadMode::kConcurrency && spec_.call_mode == CallMode::kSync) {
      const int n = std::max(1, static_cast<int>(spec_.value));
      for (int i = 0; i < n; ++i) threads_.emplace_back([this] { SyncLoop(); });
    } else if (spec_.mode == LoadMode::kConcurrency) {
      threads_.emplace_back([this] { AsyncClosedLoop(); });
    } else {
      threads_.emplace_back([this] { OpenLoop(); });
    }
    return absl::OkStatus();
  }

  std::vector<RequestRecord> TakeRecords() override {
    absl::MutexLock lock(&shared_->mu);
    std::vector<RequestRecord> out;
    out.swap(shared_->records);
    return out;
  }

  uint64_t Completed() const override {
    absl::MutexLock lock(&shared_->mu);
    return shared_->completed;
  }

  uint64_t WaitForCompleted(uint64_t target, double timeout_ms) override {
    absl::MutexLock lock(&shared_->mu);
    auto reached = [s = shared_.get(), target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
      return s->completed >= target;
    };
    shared_->mu.AwaitWithTimeout(absl::Condition(&reached), absl::Milliseconds(timeout_ms));
    return shared_->completed;
  }

  bool Stop(double timeout_ms) override {
    if (stopped_) return drained_;
    stopped_ = true;
    {
      absl::MutexLock lock(&shared_->mu);
      shared_->stop = true;
    }
    const absl::Time deadline = absl::Now() + absl::Milliseconds(timeout_ms);
    {
      absl::MutexLock lock(&shared_->mu);
      auto idle = [s = shared_.get()]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
        return s->in_flight == 0;
      };
      drained_ = shared_->mu.AwaitWithDeadline(absl::Condition(&idle), deadline);
    }
    // Sync threads may be inside a call that never returns; then they are left behind.
    for (auto& t : threads_) {
      if (drained_) {
        t.join();
      } else {
        t.detach();
      }
    }
    threads_.clear();
    if (stream_ != nullptr) {
      if (drained_) {
        stream_->Finish().IgnoreError();
        stream_.reset();
      } else {
        (void)stream_.release();  // Its destructor could wait on the dead stream.
      }
    }
    return drained_;
  }

 private:
  static void Complete(Shared& shared, const ResponseCheck& check, RequestRecord record,
                       int64_t arrived, absl::StatusOr<InferResponse> result) {
    record.end_ns = arrived;
    if (result.ok()) {
      absl::Status s = check ? check(*result) : absl::OkStatus();
      record.ok = s.ok();
      if (!s.ok()) record.error = ErrorText(s);
    } else {
      record.error = ErrorText(result.status());
    }
    result = absl::CancelledError();  // Release the response before timing the handling.
    record.recv_ns = SteadyNowNs() - arrived;
    shared.Finish(std::move(record));
  }

  InferRequest Next() { return next_(); }

  void SyncLoop() {
    while (true) {
      {
        absl::MutexLock lock(&shared_->mu);
        if (shared_->stop) return;
        ++shared_->in_flight;
      }
      InferRequest request = Next();
      RequestRecord record;
      record.start_ns = SteadyNowNs();
      absl::StatusOr<InferResponse> result = client_->Infer(std::move(request));
      Complete(*shared_, check_, std::move(record), SteadyNowNs(), std::move(result));
    }
  }

  // Sends one request asynchronously; the caller counted it in flight.
  void SendAsync(int64_t start_ns) {
    InferRequest request = Next();
    RequestRecord record;
    record.start_ns = start_ns;
    const int64_t before = SteadyNowNs();
    if (stream_ != nullptr) {
      request.id = std::to_string(++stream_ids_);
      {
        absl::MutexLock lock(&shared_->mu);
        shared_->stream_pending[request.id] = record;
      }
      const std::string id = request.id;
      absl::Status s = stream_->Write(std::move(request));
      const int64_t after = SteadyNowNs();
      absl::MutexLock lock(&shared_->mu);
      auto it = shared_->stream_pending.find(id);
      if (!s.ok()) {
        if (it != shared_->stream_pending.end()) {
          RequestRecord failed = it->second;
          shared_->stream_pending.erase(it);
          failed.end_ns = after;
          failed.error = ErrorText(s);
          shared_->records.push_back(std::move(failed));
          ++shared_->completed;
          --shared_->in_flight;
        }
      } else if (it != shared_->stream_pending.end()) {
        it->second.send_ns = after - before;
      }
      return;
    }
    std::weak_ptr<Shared> weak = shared_;
    ResponseCheck check = check_;
    auto send_ns = std::make_shared<std::atomic<int64_t>>(0);
    client_->InferAsync(std::move(request), [weak, check, record, send_ns](
                                                absl::StatusOr<InferResponse> result) mutable {
      const int64_t arrived = SteadyNowNs();
      auto shared = weak.lock();
      if (!shared) return;
      record.send_ns = send_ns->load();
      Complete(*shared, check, std::move(record), arrived, std::move(result));
    });
    send_ns->store(SteadyNowNs() - before);
  }

  void AsyncClosedLoop() {
    const int64_t n = std::max<int64_t>(1, static_cast<int64_t>(spec_.value));
    while (true) {
      {
        absl::MutexLock lock(&shared_->mu);
        auto ready = [s = shared_.get(), n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
          return s->stop || s->in_flight < n;
        };
        shared_->mu.Await(absl::Condition(&ready));
        if (shared_->stop) return;
        ++shared_->in_flight;
      }
      SendAsync(SteadyNowNs());
    }
  }

  void OpenLoop() {
    std::mt19937_64 rng(spec_.seed);
    const double rate = spec_.value > 0 ? spec_.value : 1;
    std::exponential_distribution<double> gap(rate);
    int64_t next = SteadyNowNs();
    while (true) {
      const double seconds =
          spec_.distribution == RequestDistribution::kPoisson ? gap(rng) : 1.0 / rate;
      next += static_cast<int64_t>(seconds * 1e9);
      {
        absl::MutexLock lock(&shared_->mu);
        const int64_t wait_ns = next - SteadyNowNs();
        if (wait_ns > 0) {
          shared_->mu.AwaitWithTimeout(absl::Condition(&shared_->stop),
                                       absl::Nanoseconds(wait_ns));
        }
        if (shared_->stop) return;
        ++shared_->in_flight;
      }
      SendAsync(next);  // Latency counts from the scheduled time, however late we are.
    }
  }

  Client* client_;
  const LoadSpec spec_;
  RequestSource next_;
  ResponseCheck check_;
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<InferStream> stream_;
  uint64_t stream_ids_ = 0;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
  bool drained_ = true;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LoadGenerator>> LoadGenerator::Start(Client* client, LoadSpec spec,
                                                                    RequestSource next_request,
                                                                    ResponseCheck check_response) {
  auto generator = std::make_unique<Generator>(client, spec, std::move(next_request),
                                               std::move(check_response));
  if (auto s = generator->Begin(); !s.ok()) return s;
  return std::unique_ptr<LoadGenerator>(std::move(generator));
}

}  // namespace inferd::perf
