// SPDX-License-Identifier: Apache-2.0
// HTTP/2 settings inferd's gRPC server and its grpc:// client both use, so that a large tensor
// (a 602,112-byte ResNet50 input) crosses in one window instead of many. With grpc++ 1.51's
// defaults a stream starts with a 64 KiB flow-control window that BDP probing grows only after
// several round trips, and the receiver reads the socket 8 KiB at a time: a 602 KB round trip took
// 2.2-9 ms on a 2-vCPU VM, for inferd and the bare grpc++ echo alike, where HTTP/1.1 took 0.27 ms
// (docs/benchmarks.md, "Large messages over gRPC"). Other gRPC clients get the same by setting
// these channel arguments (docs/compatibility.md lists them for grpcio and tritonclient).
#pragma once

namespace inferd::grpc_tuning {

// The initial per-stream receive window the receiver advertises (bytes).
inline constexpr int kStreamLookaheadBytes = 8 * 1024 * 1024;
// Largest DATA frame the receiver accepts (HTTP/2 allows up to 16 MiB - 1).
inline constexpr int kMaxFrameSize = 4 * 1024 * 1024;
// How much the transport reads from the socket at once, and the bounds of its adaptive size.
inline constexpr int kTcpReadChunkSize = 1024 * 1024;
inline constexpr int kTcpMinReadChunkSize = 256 * 1024;
inline constexpr int kTcpMaxReadChunkSize = 4 * 1024 * 1024;

// Calls set(key, value) for each setting: ServerBuilder::AddChannelArgument on the server,
// ChannelArguments::SetInt on a client.
template <typename Set>
void ForEachHttp2Setting(Set&& set) {
  set("grpc.http2.lookahead_bytes", kStreamLookaheadBytes);
  set("grpc.http2.max_frame_size", kMaxFrameSize);
  set("grpc.experimental.tcp_read_chunk_size", kTcpReadChunkSize);
  set("grpc.experimental.tcp_min_read_chunk_size", kTcpMinReadChunkSize);
  set("grpc.experimental.tcp_max_read_chunk_size", kTcpMaxReadChunkSize);
}

}  // namespace inferd::grpc_tuning
