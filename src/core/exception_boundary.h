// SPDX-License-Identifier: Apache-2.0
// Exception boundaries. inferd reports errors as absl::Status, but the libraries under it (the
// standard library's allocations, libtorch, protobuf, Beast, a backend plugin) may throw. Every
// thread that serves requests (transport I/O threads, gRPC completion-queue threads, ipc://
// connection threads, model instance threads) calls request work through one of these, so an
// exception fails that one request with INTERNAL (HTTP 500) instead of std::terminate for all.
#pragma once

#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"

namespace inferd {

// The INTERNAL status for an exception caught while doing `what` ("running model 'x'").
inline absl::Status StatusFromException(std::string_view what, std::exception_ptr exception) {
  std::string message = "internal error while ";
  message += what;
  try {
    std::rethrow_exception(std::move(exception));
  } catch (const std::bad_alloc&) {
    message += ": out of memory";
  } catch (const std::exception& e) {
    message += ": ";
    message += e.what();
  } catch (...) {
    message += ": unknown exception";
  }
  return absl::InternalError(message);
}

// Calls `fn` (returning absl::Status or void); an exception escaping it becomes INTERNAL.
template <typename Fn>
absl::Status CallCatchingExceptions(std::string_view what, Fn&& fn) noexcept {
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<Fn>>) {
      std::forward<Fn>(fn)();
      return absl::OkStatus();
    } else {
      return std::forward<Fn>(fn)();
    }
  } catch (...) {
    try {
      return StatusFromException(what, std::current_exception());
    } catch (...) {
      return absl::InternalError("internal error");  // Not even the message could be built.
    }
  }
}

}  // namespace inferd
