// SPDX-License-Identifier: Apache-2.0
#include "metrics_bench.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "child_process.h"
#include "fmt/format.h"
#include "http_fetch.h"
#include "inferd/client.h"


namespace inferd::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;


InferRequest IdentityRequest(const std::vector<float>& input) {
  InferRequest request;
  request.model_name = "identity";
  InferInput in;
  in.name = "INPUT0";
  in.datatype = DataType::kFp32;
  in.shape = {static_cast<int64_t>(input.size())};
  in.data = reinterpret_cast<const std::byte*>(input.data());
  in.byte_size = input.size() * sizeof(float);
  request.inputs.push_back(std::move(in));
  return request;
}

// Requests per second for `total` identity requests with `in_flight` outstanding.
double Throughput(Client& client, int in_flight, int total, std::atomic<int>& failures) {
  const std::vector<float> input = {1, 2, 3, 4};
  std::atomic<int> issued{0};
  std::atomic<int> completed{0};
  absl::Notification done;
  std::function<void()> next = [&] {
    if (issued.fetch_add(1) >= total) return;
    client.InferAsync(IdentityRequest(input), [&](absl::StatusOr<InferResponse> r) {
      if (!r.ok()) failures.fetch_add(1);
      if (completed.fetch_add(1) + 1 == total) {
        done.Notify();
      } else {
        next();
      }
    });
  };
  const auto start = SteadyClock::now();
  for (int i = 0; i < in_flight; ++i) next();
  done.WaitForNotification();
  return total / std::chrono::duration<double>(SteadyClock::now() - start).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int RunMetricsBench(const MetricsBenchOptions& options) {
  const std::vector<std::string> common = {options.inferd_path,
                                           "--model-repository=" + options.model_repository,
                                           "--model-control-mode=explicit",
                                           "--load-model=identity",
                                           "--grpc-port=0",
                                           "--allow-http=false"};
  std::vector<std::string> on_args = common;
  on_args.insert(on_args.end(), {"--metrics-port=0",
                                 fmt::format("--metrics-interval-ms={}", options.interval_ms)});
  std::vector<std::string> off_args = common;
  off_args.push_back("--allow-metrics=false");
  ChildProcess on(on_args);
  ChildProcess off(off_args);
  if (!on.WaitForOutput("inferd ready") || !off.WaitForOutput("inferd ready")) {
    std::fprintf(stderr, "inferd did not start:\n%s\n%s\n", on.output().c_str(),
                 off.output().c_str());
    return 1;
  }
  const int metrics_port = on.WaitForPort("METRICS server listening on ");
  auto on_client = Client::Create(fmt::format("grpc://127.0.0.1:{}", on.WaitForPort("GRPC server listening on ")));
  auto off_client = Client::Create(fmt::format("grpc://127.0.0.1:{}", off.WaitForPort("GRPC server listening on ")));
  if (!on_client.ok() || !off_client.ok() || metrics_port == 0) {
    std::fprintf(stderr, "cannot connect to the servers\n");
    return 1;
  }

  std::atomic<bool> stop{false};
  std::atomic<int> scrapes{0};
  std::thread scraper([&] {
    while (options.scrape_ms > 0 && !stop) {
      if (top::HttpGet("127.0.0.1", metrics_port, "/metrics", std::chrono::seconds(5)).ok()) {
        scrapes.fetch_add(1);
      }
      for (int waited = 0; waited < options.scrape_ms && !stop; waited += 10) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  });

  std::atomic<int> failures{0};
  Throughput(**on_client, options.in_flight, options.requests / 4, failures);  // Warm-up.
  Throughput(**off_client, options.in_flight, options.requests / 4, failures);
  std::printf(
      "metrics cost: identity over gRPC, 16-byte FP32, %d in flight, %d rounds of %d "
      "interleaved pairs of %d-request chunks, /metrics scraped every %d ms, hardware "
      "sampled every %d ms\n",
      options.in_flight, options.rounds, options.chunks, options.requests, options.scrape_ms,
      options.interval_ms);
  std::printf("  %-6s %16s %16s %8s\n", "round", "metrics on r/s", "metrics off r/s", "on/off");
  std::vector<double> on_rps, off_rps, ratios;
  for (int round = 0; round < options.rounds; ++round) {
    // Short chunks alternate between the two servers (order swapped each time), so the noise of
    // a shared machine falls on both alike; a round's figure is its chunks' total throughput.
    double on_seconds = 0;
    double off_seconds = 0;
    for (int chunk = 0; chunk < options.chunks; ++chunk) {
      auto time = [&](Client& client) {
        return options.requests / Throughput(client, options.in_flight, options.requests, failures);
      };
      if ((round + chunk) % 2 == 0) {
        on_seconds += time(**on_client);
        off_seconds += time(**off_client);
      } else {
        off_seconds += time(**off_client);
        on_seconds += time(**on_client);
      }
    }
    const double a = options.chunks * options.requests / on_seconds;
    const double b = options.chunks * options.requests / off_seconds;
    on_rps.push_back(a);
    off_rps.push_back(b);
    ratios.push_back(a / b);
    std::printf("  %-6d %16.0f %16.0f %8.3f\n", round + 1, a, b, a / b);
  }
  stop = true;
  scraper.join();
  const double ratio = Median(ratios);
  std::printf("median throughput: metrics on %.0f r/s, metrics off %.0f r/s\n", Median(on_rps),
              Median(off_rps));
  std::printf("median on/off ratio %.3f: metrics cost %.1f%% of throughput (budget 2%%): %s\n",
              ratio, (1 - ratio) * 100, ratio >= 0.98 ? "within budget" : "OVER BUDGET");
  std::printf("%d scrapes of /metrics during the run; %d failed requests\n", scrapes.load(),
              failures.load());
  return failures.load() == 0 ? 0 : 1;
}

}  // namespace inferd::bench
