// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>

namespace inferd::bench {

struct CodecBenchOptions {
  size_t min_bytes = 16;  // Smallest tensor; sizes grow by 4x up to max_bytes.
  size_t max_bytes = size_t{64} << 20;
  double min_seconds = 0.2;  // Per format and size, repeat at least this long...
  int min_repeats = 3;       // ...and at least this often; the figure is the fastest.
};

// Encode + decode of one FP32 tensor, in process, in each wire format of the server: KServe JSON,
// JSON with Triton's binary extension, NumPy .npy, an Arrow IPC stream, Protobuf typed contents
// (fp32_contents) and Protobuf raw_input_contents, against a memcpy of the same bytes. Encode is
// the client's side (a request body in one contiguous buffer, as the bytes on the wire), decode
// the server's (that buffer to the InferRequest a backend reads). Prints a table; returns main's
// exit code.
int RunCodecBench(const CodecBenchOptions& options);

}  // namespace inferd::bench
