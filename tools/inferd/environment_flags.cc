// SPDX-License-Identifier: Apache-2.0
#include "environment_flags.h"

#include <cctype>
#include <cstdlib>

namespace inferd {
namespace {

bool IsHelp(const CLI::Option& option) {
  for (const std::string& name : option.get_lnames()) {
    if (name == "help") return true;
  }
  return false;
}

// Whether argv gives `--name` (as `--name value` or `--name=value`).
bool OnCommandLine(std::string_view name, int argc, const char* const* argv) {
  const std::string flag = "--" + std::string(name);
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == flag || (arg.size() > flag.size() && arg.substr(0, flag.size()) == flag &&
                        arg[flag.size()] == '=')) {
      return true;
    }
  }
  return false;
}

// Whether `text` mentions `--name` as a whole flag (not the start of a longer one).
bool MentionsFlag(std::string_view text, std::string_view name) {
  const std::string flag = "--" + std::string(name);
  for (size_t at = text.find(flag); at != std::string_view::npos;
       at = text.find(flag, at + 1)) {
    const size_t end = at + flag.size();
    if (end == text.size()) return true;
    const unsigned char next = static_cast<unsigned char>(text[end]);
    if (!std::isalnum(next) && next != '-' && next != '_') return true;
  }
  return false;
}

}  // namespace

std::string EnvironmentName(std::string_view flag) {
  while (!flag.empty() && flag.front() == '-') flag.remove_prefix(1);
  std::string name(kEnvironmentPrefix);
  for (char c : flag) {
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

void SetEnvironmentNames(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    if (IsHelp(*option) || option->get_lnames().empty()) continue;
    option->envname(EnvironmentName(option->get_lnames().front()));
  }
}

std::string EnvironmentErrorMessage(const CLI::App& app, const CLI::ParseError& error, int argc,
                                    const char* const* argv) {
  const std::string_view what = error.what();
  for (const CLI::Option* option : app.get_options()) {
    const std::string variable = option->get_envname();
    if (variable.empty() || option->get_lnames().empty()) continue;
    const std::string& name = option->get_lnames().front();
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr || *value == '\0' || OnCommandLine(name, argc, argv)) continue;
    if (!MentionsFlag(what, name)) continue;
    return "environment variable " + variable + "=\"" + value + "\" (--" + name +
           "): " + std::string(what);
  }
  return "";
}

std::string EffectiveSettings(const CLI::App& app) {
  std::string out;
  for (const CLI::Option* option : app.get_options()) {
    const std::string variable = option->get_envname();
    if (variable.empty()) continue;
    std::string value;
    if (option->count() > 0) {
      for (const std::string& result : option->results()) {
        if (!value.empty()) value += ',';
        value += result;
      }
    } else {
      value = option->get_default_str();
      if (value == "[]") value.clear();  // An empty list.
    }
    if (option->get_type_name() == "BOOLEAN") {  // CLI11 records bools as 1/0.
      if (value == "1") value = "true";
      if (value == "0") value = "false";
    }
    out += variable + "=" + value + "\n";
  }
  return out;
}

}  // namespace inferd
