// SPDX-License-Identifier: Apache-2.0
// inferd: the inference server. Flags follow tritonserver's where they mean the same thing.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "environment_flags.h"
#include "metrics/metrics_service.h"
#include "server/inference_server.h"
#include "spdlog/spdlog.h"
#include "transport/grpc/grpc_server.h"
#include "transport/http/http_server.h"
#include "transport/ipc/ipc_server.h"
#include "transport/shm/shm_region_registry.h"

namespace {

int Run(int argc, char** argv) {
  CLI::App app{"inferd: an inference server speaking KServe v2 with Triton's extensions. Every "
               "flag can also be set as INFERD_<FLAG> in the environment (--http-port: "
               "INFERD_HTTP_PORT); the command line wins."};
  // Defaults are recorded as text for --print-config.
  app.option_defaults()->always_capture_default();
  inferd::ServerOptions options;
  std::string control_mode = "none";
  int log_verbose = 0;
  bool log_info = true;
  bool log_warning = true;
  bool log_error = true;
  app.add_option("--model-repository", options.model_repository, "Path of the model repository")
      ->required();
  app.add_option("--model-control-mode", control_mode,
                 "none: load every model at start-up; poll: also follow repository changes; "
                 "explicit: load only --load-model models, then through the API")
      ->check(CLI::IsMember({"none", "poll", "explicit"}));
  app.add_option("--load-model", options.startup_models,
                 "Model to load at start-up in explicit mode (repeatable; '*' loads all)");
  app.add_option("--repository-poll-secs", options.repository_poll_secs,
                 "Seconds between repository scans in poll mode")
      ->check(CLI::PositiveNumber);
  app.add_option("--exit-on-error", options.exit_on_error,
                 "Exit when a model fails to load at start-up (default true)");
  app.add_option("--backend-directory", options.backend_directory,
                 "Folder with backend plugins (default: ../backends next to the executable)");
  app.add_option("--inline-execution-max-us", options.inline_execution_max_us,
                 "Run a request on the transport's thread, saving two thread hand-offs, when its "
                 "model (no dynamic batching) has an idle instance, nothing queued and recent "
                 "executions of at most this many microseconds (0: never; default 100)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-queue-size-default", options.max_queue_size_default,
                 "Requests a model queues (waiting for an instance) before it refuses more at once "
                 "with 503 / RESOURCE_EXHAUSTED, for models whose config sets no bound "
                 "(parameters max_queue_size, or dynamic_batching's queue policies; 0: "
                 "unbounded; default 256)")
      ->check(CLI::NonNegativeNumber);
  bool allow_grpc = true;
  inferd::GrpcServerOptions grpc_options;
  app.add_option("--allow-grpc", allow_grpc, "Serve the KServe v2 gRPC API (default true)");
  app.add_option("--grpc-port", grpc_options.port, "gRPC port (0: any free port; default 8001)");
  app.add_option("--grpc-address", grpc_options.address,
                 "Address the gRPC server binds (default 0.0.0.0)");
  app.add_option("--grpc-max-message-size", grpc_options.max_message_bytes,
                 "Largest gRPC request or response in bytes (default 48 MiB: a batch of 64 "
                 "ResNet50 inputs)");
  app.add_option("--grpc-infer-thread-count", grpc_options.completion_queue_threads,
                 "gRPC completion-queue threads (default 0: one per CPU the process may run on)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--grpc-stream-max-pending-responses", grpc_options.stream_max_pending_responses,
                 "A ModelStreamInfer stream stops reading requests while this many of its "
                 "responses wait to be written or are still running (0: no limit; default 256)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--grpc-stream-max-pending-bytes", grpc_options.stream_max_pending_bytes,
                 "... or while its responses waiting to be written hold this many bytes "
                 "(0: no limit; default 64 MiB)")
      ->check(CLI::NonNegativeNumber);
  bool allow_http = true;
  inferd::HttpServerOptions http_options;
  app.add_option("--allow-http", allow_http, "Serve the KServe v2 HTTP/REST API (default true)");
  app.add_option("--http-port", http_options.port, "HTTP port (0: any free port; default 8000)");
  app.add_option("--http-address", http_options.address,
                 "Address the HTTP server binds (default 0.0.0.0)");
  app.add_option("--http-thread-count", http_options.thread_count,
                 "HTTP I/O threads (default 0: one per CPU the process may run on)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--http-max-input-size", http_options.max_input_size,
                 "Largest HTTP request body in bytes (default 64 MiB); larger ones get 413");
  app.add_option("--http-socket-buffer-size", http_options.socket_buffer_size,
                 "SO_RCVBUF/SO_SNDBUF of HTTP connections in bytes (default 4 MiB, applied where "
                 "net.core.rmem_max/wmem_max allow it; 0: the kernel's autotuning)");
  app.add_option("--http-header-timeout-ms", http_options.header_timeout_ms,
                 "A request's header must arrive within this many ms of the connection's start "
                 "or of the request's first byte, else 408 and close (default 10000; 0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--http-body-timeout-ms", http_options.body_timeout_ms,
                 "A request's body must arrive within this many ms of its header, else 408 and "
                 "close (default 30000; 0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--http-idle-timeout-ms", http_options.idle_timeout_ms,
                 "A keep-alive connection with no request for this many ms is closed (default "
                 "60000; 0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--http-send-timeout-ms", http_options.send_timeout_ms,
                 "A response not taken by its client within this many ms closes the connection "
                 "(default 30000; 0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--http-max-connections", http_options.max_connections,
                 "Open HTTP connections beyond this are answered 503 and closed (default 4096)")
      ->check(CLI::PositiveNumber);
  app.add_option("--http-max-unsent-bytes", http_options.max_unsent_bytes,
                 "Bytes of responses waiting for clients that read slowly, server-wide; past "
                 "it a further response gets 503 (default 512 MiB)")
      ->check(CLI::PositiveNumber);
  app.add_option("--http-drain-timeout-ms", http_options.drain_timeout_ms,
                 "On SIGTERM, wait at most this many ms for HTTP responses still being written "
                 "(default 5000)")
      ->check(CLI::NonNegativeNumber);
  bool allow_metrics = true;
  inferd::metrics::MetricsServiceOptions metrics_options;
  app.add_option("--allow-metrics", allow_metrics,
                 "Serve Prometheus metrics on /metrics (default true)");
  app.add_option("--allow-gpu-metrics", metrics_options.hardware.allow_gpu,
                 "Export GPU metrics through NVML when a driver is present (default true)");
  app.add_option("--allow-cpu-metrics", metrics_options.hardware.allow_cpu,
                 "Export CPU utilization, memory and RAPL power metrics (default true)");
  app.add_option("--metrics-port", metrics_options.port,
                 "Metrics port (0: any free port; default 8002)");
  app.add_option("--metrics-address", metrics_options.address,
                 "Address the metrics server binds (default 0.0.0.0)");
  app.add_option("--metrics-interval-ms", metrics_options.interval_ms,
                 "Hardware metrics sampling period in ms (default 2000)")
      ->check(CLI::PositiveNumber);
  bool allow_client_shm = false;
  app.add_option("--allow-client-shm", allow_client_shm,
                 "Let clients register system shared-memory regions and reference them from "
                 "HTTP and gRPC requests (default false: a client could name any shm object)");
  int max_shm_regions = 256;
  app.add_option("--max-shm-regions", max_shm_regions,
                 "System shared-memory regions clients may have registered at once (each holds "
                 "an fd and a mapping); more are refused (0: no limit; default 256)")
      ->check(CLI::NonNegativeNumber);
  std::string ipc_socket_path;
  std::string ipc_allowed_uids;
  int ipc_spin_us = 20;
  app.add_option("--ipc-socket-path", ipc_socket_path,
                 "Serve the native ipc:// shared-memory transport on this Unix socket (default: "
                 "off)");
  app.add_option("--ipc-allowed-uids", ipc_allowed_uids,
                 "Comma-separated uids allowed to connect over ipc:// besides the server's own");
  app.add_option("--ipc-spin-us", ipc_spin_us,
                 "Microseconds an ipc:// connection spins before sleeping on its futex "
                 "(default 20)")
      ->check(CLI::Range(0, 10000));
  int drain_delay_secs = 0;
  int exit_timeout_secs = 30;
  app.add_option("--drain-delay-secs", drain_delay_secs,
                 "On SIGTERM, readiness turns false at once, but new connections and requests are "
                 "still served for this many seconds, so load balancers (a Kubernetes endpoint "
                 "controller) stop routing here first; then new connections are refused and "
                 "in-flight and queued requests finish. SIGINT or a second SIGTERM skips the wait "
                 "(default 0; the container image sets 5)")
      ->check(CLI::Range(0, 3600));
  app.add_option("--exit-timeout-secs", exit_timeout_secs,
                 "After the drain delay, seconds in-flight and queued requests get to finish; past "
                 "it inferd exits with status 1 (default 30)")
      ->check(CLI::Range(1, 3600));
  bool print_config = false;
  app.add_flag("--print-config", print_config,
               "Print every setting as INFERD_<FLAG>=<value> (from the command line, the "
               "environment or the default) and exit");
  app.add_option("--log-verbose", log_verbose, "Verbose logging level (0: off)");
  app.add_option("--log-info", log_info, "Log information messages (default true)");
  app.add_option("--log-warning", log_warning, "Log warnings (default true)");
  app.add_option("--log-error", log_error, "Log errors (default true)");
  inferd::SetEnvironmentNames(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const std::string from_environment = inferd::EnvironmentErrorMessage(app, e, argc, argv);
    if (from_environment.empty()) return app.exit(e);
    std::fprintf(stderr, "inferd: %s\n", from_environment.c_str());
    return e.get_exit_code();
  }
  if (print_config) {
    std::fputs(inferd::EffectiveSettings(app).c_str(), stdout);
    return 0;
  }
  grpc_options.shutdown_grace_ms = exit_timeout_secs * 1000;

  if (log_verbose > 0) {
    spdlog::set_level(spdlog::level::debug);
  } else if (log_info) {
    spdlog::set_level(spdlog::level::info);
  } else if (log_warning) {
    spdlog::set_level(spdlog::level::warn);
  } else if (log_error) {
    spdlog::set_level(spdlog::level::err);
  } else {
    spdlog::set_level(spdlog::level::off);
  }
  if (control_mode == "poll") {
    options.control_mode = inferd::ModelControlMode::kPoll;
  } else if (control_mode == "explicit") {
    options.control_mode = inferd::ModelControlMode::kExplicit;
  }

  // Block the shutdown signals before any thread starts, so only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = inferd::InferenceServer::Create(options);
  if (!server.ok()) {
    spdlog::error("inferd failed to start: {}", std::string(server.status().message()));
    return 1;
  }
  // Shared by the HTTP and gRPC transports; outlives both (declared before them).
  inferd::ShmRegionRegistry shm_registry(
      {.allow_client_shm = allow_client_shm, .max_regions = max_shm_regions});
  std::unique_ptr<inferd::GrpcServer> grpc_server;
  if (allow_grpc) {
    grpc_options.server = server->get();
    grpc_options.shm_registry = &shm_registry;
    auto started = inferd::GrpcServer::Create(grpc_options);
    if (!started.ok()) {
      spdlog::error("inferd failed to start: {}", std::string(started.status().message()));
      return 1;
    }
    grpc_server = *std::move(started);
  }
  std::unique_ptr<inferd::HttpServer> http_server;
  if (allow_http) {
    http_options.shm_registry = &shm_registry;
    auto started = inferd::HttpServer::Create(server->get(), http_options);
    if (!started.ok()) {
      spdlog::error("inferd failed to start: {}", std::string(started.status().message()));
      return 1;
    }
    http_server = *std::move(started);
  }
  std::unique_ptr<inferd::metrics::MetricsService> metrics_service;
  if (allow_metrics) {
    metrics_options.statistics = [s = server->get()] {
      auto stats = s->Statistics("", 0);
      return stats.ok() ? *std::move(stats) : std::vector<inferd::ModelStatistics>{};
    };
    auto started = inferd::metrics::MetricsService::Create(std::move(metrics_options));
    if (!started.ok()) {
      spdlog::error("inferd failed to start: {}", std::string(started.status().message()));
      return 1;
    }
    metrics_service = *std::move(started);
  }
  std::unique_ptr<inferd::IpcServer> ipc_server;
  if (!ipc_socket_path.empty()) {
    inferd::IpcServerOptions ipc_options;
    ipc_options.server = server->get();
    ipc_options.socket_path = ipc_socket_path;
    ipc_options.spin = absl::Microseconds(ipc_spin_us);
    auto uids = inferd::ParseUidList(ipc_allowed_uids);
    if (!uids.ok()) {
      spdlog::error("inferd failed to start: {}", std::string(uids.status().message()));
      return 1;
    }
    ipc_options.allowed_uids = *uids;
    auto started = inferd::IpcServer::Create(std::move(ipc_options));
    if (!started.ok()) {
      spdlog::error("inferd failed to start: {}", std::string(started.status().message()));
      return 1;
    }
    ipc_server = *std::move(started);
  }
  const size_t ready_models = (*server)->RepositoryIndex(/*ready_only=*/true).size();
  spdlog::info("inferd ready: {} model version(s) loaded from {}", ready_models,
               options.model_repository);

  int received = 0;
  sigwait(&signals, &received);
  const char* signal_name = received == SIGTERM ? "SIGTERM" : "SIGINT";
  (*server)->BeginDrain();
  if (received == SIGTERM && drain_delay_secs > 0) {
    spdlog::info("received SIGTERM: not ready; still serving for {} s (--drain-delay-secs)",
                 drain_delay_secs);
    const absl::Time until = absl::Now() + absl::Seconds(drain_delay_secs);
    for (absl::Duration left = until - absl::Now(); left > absl::ZeroDuration();
         left = until - absl::Now()) {
      const timespec wait = absl::ToTimespec(left);
      if (sigtimedwait(&signals, nullptr, &wait) > 0) {
        spdlog::info("second signal: ending the drain delay");
        break;
      }
    }
  } else {
    spdlog::info("received {}, shutting down", signal_name);
  }
  // New connections are refused from here; requests already accepted (running or queued) finish.
  spdlog::info("refusing new connections; letting accepted requests finish (at most {} s, "
               "--exit-timeout-secs)",
               exit_timeout_secs);
  if (http_server) http_server->StopAccepting();
  (*server)->BeginShutdown();
  spdlog::info("new connections refused");
  absl::Notification stopped;
  std::thread watchdog([&stopped, exit_timeout_secs] {
    if (stopped.WaitForNotificationWithTimeout(absl::Seconds(exit_timeout_secs))) return;
    spdlog::error("requests still running after --exit-timeout-secs={}; exiting anyway",
                  exit_timeout_secs);
    spdlog::shutdown();
    _exit(1);
  });
  // gRPC's listener closes at once; its calls get --exit-timeout-secs to finish, while the
  // models drain below.
  absl::Notification grpc_stopped;
  std::thread grpc_stop([&grpc_server, &grpc_stopped] {
    if (grpc_server) grpc_server->Stop();
    grpc_stopped.Notify();
  });
  (*server)->Shutdown();
  if (http_server) http_server->Stop();
  // Every accepted request is answered; a stream a client keeps open (idle) gets 2 s for its
  // last responses to be written, then is cancelled rather than holding the exit up.
  if (grpc_server && !grpc_stopped.WaitForNotificationWithTimeout(absl::Seconds(2))) {
    grpc_server->CancelStreams();
  }
  grpc_stop.join();
  if (ipc_server) ipc_server->Stop();
  if (metrics_service) metrics_service->Stop();
  stopped.Notify();
  watchdog.join();
  spdlog::info("inferd stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's abseil is built without NDEBUG, so every absl::Mutex lock also updated a process-wide
  // lock-order graph (GraphCycles, under one global lock): a few percent of a small request's
  // CPU time, and a point where all threads meet. The server's lock order is checked by the
  // ThreadSanitizer tree instead; a deadlock would still show as a hang.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return Run(argc, argv);
}
