// SPDX-License-Identifier: Apache-2.0
// inferd-top: a live terminal view of a running inferd, from its /metrics endpoint and its
// statistics API. `--once` prints one snapshot (two scrapes --interval-ms apart) and exits.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "codec/kserve_json.h"
#include "fmt/format.h"
#include "http_fetch.h"
#include "top_view.h"

namespace {

using namespace std::chrono_literals;
using inferd::top::Scrape;

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

struct Target {
  std::string host;
  int metrics_port = 8002;
  int http_port = 8000;
};

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

absl::StatusOr<Scrape> TakeScrape(const Target& target) {
  Scrape scrape;
  scrape.time_ns = NowNs();
  auto text = inferd::top::HttpGet(target.host, target.metrics_port, "/metrics", 5s);
  if (!text.ok()) return text.status();
  auto metrics = inferd::top::MetricSet::Parse(*text);
  if (!metrics.ok()) return metrics.status();
  scrape.metrics = std::move(*metrics);
  if (target.http_port > 0) {
    auto json = inferd::top::HttpGet(target.host, target.http_port, "/v2/models/stats", 5s);
    if (json.ok()) {
      auto stats = inferd::codec::DecodeModelStatistics(*json);
      if (stats.ok()) scrape.statistics = std::move(*stats);
    }
  }
  return scrape;
}

int TerminalWidth() {
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 100;
}

// Waits up to `ms`, returning true when the user pressed q or sent SIGINT/SIGTERM.
bool WaitForQuit(int ms, bool keyboard) {
  pollfd p{STDIN_FILENO, POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!g_stop) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return false;
    if (!keyboard) {
      poll(nullptr, 0, static_cast<int>(std::min<int64_t>(left, 100)));
      continue;
    }
    if (poll(&p, 1, static_cast<int>(left)) > 0) {
      char c = 0;
      if (read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q')) return true;
    }
  }
  return true;
}

int Run(int argc, char** argv) {
  CLI::App app{"inferd-top: live view of a running inferd's models and hardware"};
  Target target;
  target.host = "127.0.0.1";
  int interval_ms = 1000;
  bool once = false;
  int width = 0;
  app.add_option("--host", target.host, "Host of the inferd to watch (default 127.0.0.1)");
  app.add_option("--metrics-port", target.metrics_port, "inferd's --metrics-port (default 8002)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--http-port", target.http_port,
                 "inferd's --http-port, for exact batch sizes from the statistics API (default "
                 "8000; 0: /metrics only)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--interval-ms", interval_ms, "Refresh period, and the span of --once")
      ->check(CLI::Range(50, 3600000));
  app.add_flag("--once", once, "Print one snapshot and exit");
  app.add_option("--width", width, "Screen width (default: the terminal's)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (width <= 0) width = TerminalWidth();
  const std::string where = fmt::format("{}:{}", target.host, target.metrics_port);

  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  auto first = TakeScrape(target);
  if (!first.ok()) {
    fmt::print(stderr, "inferd-top: {}\n", std::string(first.status().message()));
    return 1;
  }
  inferd::top::UtilizationHistory history;
  if (once) {
    WaitForQuit(interval_ms, false);
    auto second = TakeScrape(target);
    if (!second.ok()) {
      fmt::print(stderr, "inferd-top: {}\n", std::string(second.status().message()));
      return 1;
    }
    inferd::top::TopView view = inferd::top::BuildView(*first, *second);
    inferd::top::RecordHistory(inferd::top::BuildView(*first, *first), history);
    inferd::top::RecordHistory(view, history);
    fmt::print("{}", inferd::top::Render(view, history, where, width));
    return 0;
  }

  const bool keyboard = isatty(STDIN_FILENO);
  termios saved{};
  if (keyboard) {
    tcgetattr(STDIN_FILENO, &saved);
    termios raw = saved;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  }
  Scrape previous = std::move(*first);
  int exit_code = 0;
  while (!WaitForQuit(interval_ms, keyboard)) {
    auto current = TakeScrape(target);
    std::string screen;
    if (current.ok()) {
      inferd::top::TopView view = inferd::top::BuildView(previous, *current);
      inferd::top::RecordHistory(view, history);
      screen = inferd::top::Render(view, history, where, width);
      previous = std::move(*current);
    } else {
      screen =
          fmt::format("inferd-top  {}\n\n{}\n", where, std::string(current.status().message()));
    }
    fmt::print("\x1b[H\x1b[2J{}\n(q to quit)\n", screen);
    std::fflush(stdout);
  }
  if (keyboard) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
