// SPDX-License-Identifier: Apache-2.0
// inferd-bench: benchmarks that print a figure and, where one exists, the baseline it is measured
// against in the same run.
#include <unistd.h>

#include <climits>
#include <string>

#include "CLI/CLI.hpp"
#include "batching_bench.h"
#include "codec_bench.h"
#include "grpc_bench.h"
#include "http_bench.h"
#include "ipc_bench.h"
#include "memory_bench.h"
#include "metrics_bench.h"
#include "perf_check_bench.h"
#include "soak_load.h"

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
  memory_cmd->add_option("--budget-mb", memory.budget_mb, "Resident-memory goal in MB");
  inferd::bench::GrpcBenchOptions grpc;
  grpc.inferd_path = SiblingBinary("inferd");
  grpc.self_path = SiblingBinary("inferd-bench");
  auto* grpc_cmd = app.add_subcommand(
      "grpc", "gRPC round trips and throughput of inferd vs a bare grpc++ echo server");
  grpc_cmd->add_option("--pin", grpc.pin,
                       "Servers on CPU 1 and clients on CPU 0 (default true)");
  grpc_cmd->add_option("--model-repository", grpc.model_repository)->required();
  grpc_cmd->add_option("--inferd", grpc.inferd_path, "Path of the inferd binary");
  grpc_cmd->add_option("--inferd-arg", grpc.inferd_args, "Extra inferd flag (repeatable)");
  grpc_cmd->add_option("--rounds", grpc.rounds, "Alternating measurement rounds");
  grpc_cmd->add_option("--samples", grpc.samples_per_round, "16-byte round trips per round");
  grpc_cmd->add_option("--large-samples", grpc.large_samples_per_round,
                       "602,112-byte round trips per round");
  grpc_cmd->add_option("--throughput-requests", grpc.throughput_requests,
                       "Requests per in-flight level");
  int echo_port = 0;
  int echo_threads = 0;
  auto* echo_cmd = app.add_subcommand("grpc-echo-server", "The bare grpc++ echo baseline server");
  echo_cmd->group("");  // Started by `grpc`; hidden from --help.
  echo_cmd->add_option("--port", echo_port);
  echo_cmd->add_option("--threads", echo_threads);
  std::string echo_api = "cq";
  echo_cmd->add_option("--api", echo_api)->check(CLI::IsMember({"cq", "callback"}));
  inferd::bench::HttpBenchOptions http_bench;
  http_bench.inferd_path = SiblingBinary("inferd");
  http_bench.self_path = SiblingBinary("inferd-bench");
  auto* http_cmd = app.add_subcommand(
      "http", "HTTP round trips and throughput of inferd against a bare Boost.Beast echo");
  http_cmd->add_option("--model-repository", http_bench.model_repository)->required();
  http_cmd->add_option("--inferd", http_bench.inferd_path, "Path of the inferd binary");
  http_cmd->add_option("--inferd-arg", http_bench.inferd_args, "Extra inferd flag (repeatable)");
  http_cmd->add_option("--rounds", http_bench.rounds, "Alternating measurement rounds");
  http_cmd->add_option("--samples", http_bench.samples_per_round, "16-byte samples per round");
  http_cmd->add_option("--large-samples", http_bench.large_samples_per_round,
                       "602,112-byte samples per round");
  http_cmd->add_option("--levels", http_bench.levels, "Requests in flight of the throughput levels")
      ->delimiter(',');
  http_cmd->add_option("--requests", http_bench.throughput_requests, "Throughput requests");
  http_cmd->add_option("--pin", http_bench.pin,
                       "Servers on CPU 1 and clients on CPU 0 (default true; false: the kernel "
                       "places every thread)");
  auto* http_echo_cmd =
      app.add_subcommand("http-echo-server", "The bare Boost.Beast echo baseline server");
  http_echo_cmd->group("");  // Started by `http`; hidden from --help.
  inferd::bench::BatchingBenchOptions batching;
  auto* batching_cmd = app.add_subcommand(
      "batching", "Dynamic batching throughput against full batches sent directly (in-process)");
  batching_cmd->add_option("--backend-directory", batching.backend_directory);
  batching_cmd->add_option("--resnet-repository", batching.resnet_repository,
                           "Repository with resnet50_torchscript/1/model.pt (make models)");
  batching_cmd->add_option("--clients", batching.clients, "Concurrent batch-1 clients");
  batching_cmd->add_option("--rounds", batching.rounds, "Rounds per figure (median)");
  batching_cmd->add_option("--seconds", batching.seconds, "Seconds per busy round");
  batching_cmd->add_option("--resnet-seconds", batching.resnet_seconds,
                           "Seconds per ResNet50 round");
  inferd::bench::MetricsBenchOptions metrics_bench;
  metrics_bench.inferd_path = SiblingBinary("inferd");
  auto* metrics_cmd = app.add_subcommand(
      "metrics", "Throughput of identity over gRPC with metrics on and off (the cost of metrics)");
  metrics_cmd->add_option("--model-repository", metrics_bench.model_repository)->required();
  metrics_cmd->add_option("--inferd", metrics_bench.inferd_path, "Path of the inferd binary");
  metrics_cmd->add_option("--rounds", metrics_bench.rounds, "Alternating rounds");
  metrics_cmd->add_option("--chunks", metrics_bench.chunks, "Interleaved chunk pairs per round");
  metrics_cmd->add_option("--requests", metrics_bench.requests, "Requests per chunk");
  metrics_cmd->add_option("--in-flight", metrics_bench.in_flight, "Requests outstanding");
  metrics_cmd->add_option("--scrape-ms", metrics_bench.scrape_ms,
                          "Period of the /metrics scraper (0: none)");
  metrics_cmd->add_option("--metrics-interval-ms", metrics_bench.interval_ms,
                          "Hardware sampling period of the metrics-on server");
  inferd::bench::IpcBenchOptions ipc_bench;
  ipc_bench.inferd_path = SiblingBinary("inferd");
  ipc_bench.self_path = SiblingBinary("inferd-bench");
  auto* ipc_cmd = app.add_subcommand(
      "ipc", "ipc:// and Triton shared-memory round trips against a bare shm ping-pong");
  ipc_cmd->add_option("--model-repository", ipc_bench.model_repository)->required();
  ipc_cmd->add_option("--inferd", ipc_bench.inferd_path, "Path of the inferd binary");
  ipc_cmd->add_option("--inferd-arg", ipc_bench.inferd_args, "Extra inferd flag (repeatable)");
  ipc_cmd->add_option("--rounds", ipc_bench.rounds, "Alternating measurement rounds");
  ipc_cmd->add_option("--samples", ipc_bench.samples_per_round, "16-byte samples per round");
  ipc_cmd->add_option("--large-samples", ipc_bench.large_samples_per_round,
                      "602,112-byte samples per round");
  ipc_cmd->add_option("--spin-us", ipc_bench.spin_us, "Spin before sleeping, every side")
      ->check(CLI::Range(0, 10000));
  ipc_cmd->add_option("--max-spin-us", ipc_bench.max_spin_us,
                      "Cap of the clients' adaptive spin (ipc:// max_spin_us and the baseline's)")
      ->check(CLI::Range(0, 10000));
  ipc_cmd->add_option("--pin", ipc_bench.pin,
                      "Servers on CPU 1 and clients on CPU 0 (default true)");
  ipc_cmd->add_option("--only", ipc_bench.only,
                      "Measure only these besides the baseline: ipc, grpc, http-shm, grpc-shm")
      ->check(CLI::IsMember({"ipc", "grpc", "http-shm", "grpc-shm"}));
  std::string pingpong_name;
  int pingpong_spin_us = 20;
  auto* pingpong_cmd = app.add_subcommand("shm-pingpong-server", "The ping-pong baseline's echo");
  pingpong_cmd->group("");  // Started by `ipc`; hidden from --help.
  pingpong_cmd->add_option("--name", pingpong_name);
  pingpong_cmd->add_option("--spin-us", pingpong_spin_us);
  inferd::bench::SoakLoadOptions soak_load;
  auto* soak_cmd = app.add_subcommand("soak-load", "One client's traffic for make soak");
  soak_cmd->group("");  // Started by scripts/soak.py; hidden from --help.
  soak_cmd->add_option("--url", soak_load.url)->required();
  soak_cmd->add_option("--seconds", soak_load.seconds);
  soak_cmd->add_option("--reconnect-every", soak_load.reconnect_every)->check(CLI::PositiveNumber);
  soak_cmd->add_option("--large-every", soak_load.large_every)->check(CLI::PositiveNumber);
  soak_cmd->add_option("--rate", soak_load.rate, "Identity requests per second (0: no limit)");
  inferd::bench::CodecBenchOptions codec_bench;
  auto* codec_cmd = app.add_subcommand(
      "codec", "Encode + decode of one FP32 tensor in each wire format, against memcpy");
  codec_cmd->add_option("--min-bytes", codec_bench.min_bytes, "Smallest tensor (bytes)");
  codec_cmd->add_option("--max-bytes", codec_bench.max_bytes, "Largest tensor (bytes; sizes x4)");
  codec_cmd->add_option("--min-seconds", codec_bench.min_seconds,
                        "Repeat each measurement at least this long");
  inferd::bench::PerfCheckOptions perf_check;
  perf_check.inferd_path = SiblingBinary("inferd");
  perf_check.perf_path = SiblingBinary("inferd-perf");
  auto* perf_check_cmd = app.add_subcommand(
      "perf-check", "inferd-perf against a plain-socket HTTP generator (identity 16 B, c1 and c8)");
  perf_check_cmd->add_option("--model-repository", perf_check.model_repository)->required();
  perf_check_cmd->add_option("--rounds", perf_check.rounds, "Alternating rounds per concurrency");
  perf_check_cmd->add_option("--window-ms", perf_check.window_ms, "inferd-perf's -p");
  perf_check_cmd->add_option("--pin", perf_check.pin,
                             "Server on CPU 1 and clients on CPU 0 (default true)");
  CLI11_PARSE(app, argc, argv);
  if (codec_cmd->parsed()) return inferd::bench::RunCodecBench(codec_bench);
  if (perf_check_cmd->parsed()) return inferd::bench::RunPerfCheckBench(perf_check);
  if (soak_cmd->parsed()) return inferd::bench::RunSoakLoad(soak_load);
  if (ipc_cmd->parsed()) return inferd::bench::RunIpcBench(ipc_bench);
  if (pingpong_cmd->parsed()) {
    return inferd::bench::RunShmPingPongServer(pingpong_name, pingpong_spin_us);
  }
  if (metrics_cmd->parsed()) return inferd::bench::RunMetricsBench(metrics_bench);
  if (http_cmd->parsed()) return inferd::bench::RunHttpBench(http_bench);
  if (http_echo_cmd->parsed()) return inferd::bench::RunHttpEchoServer();
  if (batching_cmd->parsed()) return inferd::bench::RunBatchingBench(batching);
  if (grpc_cmd->parsed()) return inferd::bench::RunGrpcBench(grpc);
  if (echo_cmd->parsed()) return inferd::bench::RunGrpcEchoServer(echo_port, echo_threads, echo_api == "callback");
  if (memory_cmd->parsed()) return inferd::bench::RunMemoryBench(memory);
  return 0;
}
