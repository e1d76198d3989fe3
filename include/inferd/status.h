// SPDX-License-Identifier: Apache-2.0
// Errors in inferd are absl::Status values. This header is the one place that maps a status code
// to the HTTP status and gRPC code a transport sends, so every transport reports the same failure
// the same way.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace inferd {

// HTTP status for a Status. OK → 200; INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE,
// ALREADY_EXISTS, CANCELLED, UNKNOWN → 400 (as Triton); NOT_FOUND → 404; UNAVAILABLE and
// RESOURCE_EXHAUSTED → 503; DEADLINE_EXCEEDED → 504; UNIMPLEMENTED → 501; PERMISSION_DENIED → 403;
// UNAUTHENTICATED → 401; INTERNAL, DATA_LOSS, ABORTED → 500.
int HttpStatusFromStatusCode(absl::StatusCode code);

// gRPC status code (the numeric value of grpc::StatusCode) for a Status. absl's codes are defined
// with gRPC's numbering, so this is the identity, kept as a function so transports never assume it.
int GrpcCodeFromStatusCode(absl::StatusCode code);

// The canonical upper-case name of a code ("INVALID_ARGUMENT"), for logs and error bodies.
std::string_view StatusCodeName(absl::StatusCode code);

}  // namespace inferd
