// SPDX-License-Identifier: Apache-2.0
// End-to-end: every flag of the real inferd binary can come from INFERD_<FLAG> (issue 21); the
// command line wins; a bad value names the variable. The flag table is the binary's own
// (--print-config, checked against --help), so a new flag is covered without editing this test.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "test_util/server_process.h"

namespace inferd {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::InferdBinary;
using testing::ServerProcess;
using namespace std::chrono_literals;

const std::string kRepository = "INFERD_MODEL_REPOSITORY=" INFERD_EXAMPLE_REPOSITORY;

struct ProcessRun {
  std::optional<int> code;
  std::string output;
};

ProcessRun Inferd(const std::vector<std::string>& args, const std::vector<std::string>& environment) {
  ServerProcess process(InferdBinary(), args, environment);
  ProcessRun run;
  run.code = process.WaitForExit(30s);
  run.output = process.output();
  return run;
}

// NAME=value lines of --print-config.
std::map<std::string, std::string> Settings(const std::string& output) {
  std::map<std::string, std::string> settings;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    const size_t eq = line.find('=');
    if (line.rfind("INFERD_", 0) != 0 || eq == std::string::npos) continue;
    settings[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return settings;
}

bool IsInteger(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}
bool IsBool(const std::string& s) { return s == "true" || s == "false"; }

// A valid value other than the default, for any flag.
std::string OtherValue(const std::string& name, const std::string& value) {
  static const std::map<std::string, std::string> kSpecial = {
      {"INFERD_MODEL_CONTROL_MODE", "poll"},
      {"INFERD_IPC_ALLOWED_UIDS", "1000,1001"},
      {"INFERD_PRINT_CONFIG", "true"},
      {"INFERD_MODEL_REPOSITORY", "/srv/models-from-env"},
  };
  if (auto it = kSpecial.find(name); it != kSpecial.end()) return it->second;
  if (value == "true") return "false";
  if (value == "false") return "true";
  if (IsInteger(value)) return std::to_string(std::stoll(value) + 1);
  return "/from-env/" + name;  // Paths, addresses, model names: not used by --print-config.
}

std::map<std::string, std::string> DefaultSettings() {
  const ProcessRun run = Inferd({"--print-config"}, {kRepository});
  EXPECT_EQ(run.code, 0) << run.output;
  return Settings(run.output);
}

TEST(EnvironmentFlags, EveryFlagInHelpHasAVariable) {
  const ProcessRun help = Inferd({"--help"}, {});
  ASSERT_EQ(help.code, 0) << help.output;
  const auto settings = DefaultSettings();
  std::set<std::string> flags;
  const std::regex flag("--([a-z][a-z0-9-]+)");
  for (std::sregex_iterator it(help.output.begin(), help.output.end(), flag), end; it != end;
       ++it) {
    flags.insert((*it)[1]);
  }
  flags.erase("help");
  ASSERT_GE(flags.size(), 40u) << help.output;
  for (const std::string& f : flags) {
    std::string variable = "INFERD_";
    for (char c : f) variable += c == '-' ? '_' : static_cast<char>(std::toupper(c));
    EXPECT_TRUE(settings.count(variable)) << "--" << f << " has no " << variable;
  }
  EXPECT_EQ(settings.size(), flags.size());
  // --help shows the variable beside each flag.
  EXPECT_THAT(help.output, AllOf(HasSubstr("INFERD_HTTP_PORT"), HasSubstr("INFERD_DRAIN_DELAY_SECS")));
}

TEST(EnvironmentFlags, EveryFlagIsSettableFromTheEnvironment) {
  const auto defaults = DefaultSettings();
  ASSERT_GE(defaults.size(), 40u);
  std::vector<std::string> environment;
  std::map<std::string, std::string> expected;
  for (const auto& [name, value] : defaults) {
    expected[name] = OtherValue(name, value);
    // (--print-config is on DefaultSettings' command line, so its "default" already reads true.)
    if (name != "INFERD_PRINT_CONFIG") {
      ASSERT_NE(expected[name], value) << name;
    }
    environment.push_back(name + "=" + expected[name]);
  }
  // No command-line argument at all: even --print-config comes from INFERD_PRINT_CONFIG.
  const ProcessRun run = Inferd({}, environment);
  ASSERT_EQ(run.code, 0) << run.output;
  const auto settings = Settings(run.output);
  for (const auto& [name, value] : expected) {
    EXPECT_EQ(settings.count(name) ? settings.at(name) : "<missing>", value) << name;
  }
}

// --print-config's output is /etc/default/inferd's format: read back as the environment it is
// accepted whole (defaults such as a thread count of 0, "one per CPU", included) and gives the
// same settings.
TEST(EnvironmentFlags, PrintConfigOutputReadsBackAsTheEnvironment) {
  const auto defaults = DefaultSettings();
  ASSERT_GE(defaults.size(), 40u);
  std::vector<std::string> environment;
  for (const auto& [name, value] : defaults) environment.push_back(name + "=" + value);
  const ProcessRun run = Inferd({}, environment);
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_EQ(Settings(run.output), defaults);
}

TEST(EnvironmentFlags, TheCommandLineWins) {
  const auto settings = Settings(
      Inferd({"--print-config", "--http-port=4321", "--grpc-port", "4322", "--log-info=false"},
             {kRepository, "INFERD_HTTP_PORT=1234", "INFERD_GRPC_PORT=1235",
              "INFERD_LOG_INFO=true", "INFERD_METRICS_PORT=1236"})
          .output);
  EXPECT_EQ(settings.at("INFERD_HTTP_PORT"), "4321");
  EXPECT_EQ(settings.at("INFERD_GRPC_PORT"), "4322");
  EXPECT_EQ(settings.at("INFERD_LOG_INFO"), "false");
  EXPECT_EQ(settings.at("INFERD_METRICS_PORT"), "1236");  // Not on the command line.
}

TEST(EnvironmentFlags, ServesWithItsWholeConfigurationFromTheEnvironment) {
  ServerProcess server(InferdBinary(), {},
                       {kRepository, "INFERD_HTTP_PORT=0", "INFERD_GRPC_PORT=0",
                        "INFERD_METRICS_PORT=0", "INFERD_MODEL_CONTROL_MODE=explicit",
                        "INFERD_LOAD_MODEL=identity"});
  ASSERT_TRUE(server.WaitForOutput("inferd ready", 30s)) << server.output();
  EXPECT_THAT(server.output(), HasSubstr("1 model version(s) loaded"));
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitForExit(30s), 0) << server.output();
}

// Every numeric or boolean flag, given a value that is neither, is refused naming the variable.
TEST(EnvironmentFlags, ABadValueNamesTheVariable) {
  int checked = 0;
  for (const auto& [name, value] : DefaultSettings()) {
    if (!IsInteger(value) && !IsBool(value)) continue;
    if (name == "INFERD_PRINT_CONFIG") continue;
    const ProcessRun run = Inferd({}, {kRepository, name + "=not-a-value"});
    ASSERT_TRUE(run.code.has_value()) << name;
    EXPECT_NE(*run.code, 0) << name << ": " << run.output;
    EXPECT_THAT(run.output, AllOf(HasSubstr("environment variable " + name), HasSubstr("not-a-value")))
        << name;
    ++checked;
  }
  EXPECT_GE(checked, 30);
  // Out of range and not one of the choices: also named.
  for (const std::string bad :
       {"INFERD_IPC_SPIN_US=20000", "INFERD_MODEL_CONTROL_MODE=sometimes",
        "INFERD_DRAIN_DELAY_SECS=-1", "INFERD_HTTP_THREAD_COUNT=-1",
        "INFERD_GRPC_INFER_THREAD_COUNT=-1"}) {
    const ProcessRun run = Inferd({}, {kRepository, bad});
    ASSERT_TRUE(run.code.has_value()) << bad;
    EXPECT_NE(*run.code, 0) << bad;
    EXPECT_THAT(run.output, HasSubstr("environment variable " + bad.substr(0, bad.find('='))))
        << run.output;
  }
  // The same bad value on the command line is reported as the flag's, not the variable's.
  const ProcessRun cli = Inferd({"--http-port=not-a-value"}, {kRepository});
  EXPECT_NE(cli.code.value_or(0), 0);
  EXPECT_THAT(cli.output, AllOf(HasSubstr("--http-port"), ::testing::Not(HasSubstr("environment"))));
}

}  // namespace
}  // namespace inferd
