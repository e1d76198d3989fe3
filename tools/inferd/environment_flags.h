// SPDX-License-Identifier: Apache-2.0
// Flags from the environment: every long flag `--some-flag` of the server can also be given as
// INFERD_SOME_FLAG (containers are configured that way). The command line wins: CLI11 reads a
// variable only for a flag the command line did not give.
#pragma once

#include <string>
#include <string_view>

#include "CLI/CLI.hpp"

namespace inferd {

inline constexpr std::string_view kEnvironmentPrefix = "INFERD_";

// "--http-port" or "http-port" → "INFERD_HTTP_PORT".
std::string EnvironmentName(std::string_view flag);

// Gives every option of `app` with a long name (not --help) its environment variable.
void SetEnvironmentNames(CLI::App& app);

// When `error` is about a flag whose value came from its environment variable (set, and the flag
// absent from `argv`), the message naming the variable and its value; otherwise empty.
std::string EnvironmentErrorMessage(const CLI::App& app, const CLI::ParseError& error, int argc,
                                    const char* const* argv);

// Every flag's effective value (command line, environment or default), one
// `INFERD_FLAG=value` line each, in the order the flags were declared: the format of
// /etc/default/inferd.
std::string EffectiveSettings(const CLI::App& app);

}  // namespace inferd
