// SPDX-License-Identifier: Apache-2.0
// inferd: the inference server. Flags follow tritonserver's where they mean the same thing.
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "server/inference_server.h"
#include "spdlog/spdlog.h"

namespace {

int Run(int argc, char** argv) {
  CLI::App app{"inferd: an inference server speaking KServe v2 with Triton's extensions"};
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
  app.add_option("--log-verbose", log_verbose, "Verbose logging level (0: off)");
  app.add_option("--log-info", log_info, "Log information messages (default true)");
  app.add_option("--log-warning", log_warning, "Log warnings (default true)");
  app.add_option("--log-error", log_error, "Log errors (default true)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

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
  const size_t ready_models = (*server)->RepositoryIndex(/*ready_only=*/true).size();
  spdlog::info("inferd ready: {} model version(s) loaded from {}", ready_models,
               options.model_repository);

  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("received {}, shutting down", received == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->BeginShutdown();
  (*server)->Shutdown();
  spdlog::info("inferd stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
