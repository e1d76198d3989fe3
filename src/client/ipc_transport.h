// SPDX-License-Identifier: Apache-2.0
// ipc://<socket path>[?region_mb=N&spin_us=N&max_spin_us=N&ring=N]: the native shared-memory
// transport for a server on the same machine (protocol: src/transport/ipc/ipc_protocol.h).
//
// The client creates one sealed memfd region (default 128 MiB, allocated lazily by the kernel)
// and passes it to the server over the Unix socket; after that requests and responses travel
// through rings in that region with futex wake-ups, and the socket is only watched for hang-up.
// Inputs whose bytes already lie in the region (Client::AllocateInput) are sent by offset, with
// no copy; other inputs are copied in once. Outputs are written by the backend into the region and
// returned as views into it (InferOutput::owner keeps that memory reserved).
//
// Waiting: spin_us (default 20) is how long a waiter spins before it sleeps on the futex; a caller
// of Infer spins up to twice its recent round trip instead when that is at most max_spin_us
// (default 200; 0 turns the adaptation off), so a fast model answers a spinning caller rather than
// paying a futex wake-up. While callers wait in Infer they drain the response ring themselves and
// the receiver thread parks; InferAsync wakes it.
//
// Callbacks run on the transport's receiver thread, or on a thread waiting in Infer that drained
// the response ring. A server that goes away fails every pending
// request with UNAVAILABLE. Inference only: the health, metadata and repository calls answer
// UNIMPLEMENTED (use http:// or grpc:// for those), except IsServerLive.
#pragma once

#include <memory>
#include <string_view>

#include "client/client_transport.h"

namespace inferd {

absl::StatusOr<std::unique_ptr<ClientTransport>> CreateIpcTransport(std::string_view target,
                                                                    const ClientOptions& options);

}  // namespace inferd
