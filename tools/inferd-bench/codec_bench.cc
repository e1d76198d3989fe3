// SPDX-License-Identifier: Apache-2.0
// `inferd-bench codec`: what each wire format costs to encode and decode one tensor.
#include "codec_bench.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "codec/arrow_ipc.h"
#include "codec/kserve_json.h"
#include "codec/npy.h"
#include "fmt/format.h"
#include "grpc_service.pb.h"
#include "transport/grpc/infer_codec.h"

namespace inferd::bench {
namespace {

using Clock = std::chrono::steady_clock;

// A body in one 64-byte-aligned block, as the HTTP server reads it.
struct Body {
  std::shared_ptr<std::byte[]> block;
  std::byte* data = nullptr;
  size_t size = 0;
  void Reserve(size_t n) {
    if (block && n <= capacity) return;
    block.reset(new std::byte[n + 64]);
    capacity = n;
    const auto base = reinterpret_cast<uintptr_t>(block.get());
    data = block.get() + (64 - base % 64) % 64;
  }
  void Assign(std::string_view head, std::span<const std::span<const std::byte>> chunks) {
    size_t n = head.size();
    for (auto c : chunks) n += c.size();
    Reserve(n);
    std::memcpy(data, head.data(), head.size());
    size = head.size();
    for (auto c : chunks) {
      if (!c.empty()) std::memcpy(data + size, c.data(), c.size());
      size += c.size();
    }
  }
  size_t capacity = 0;
};

struct Format {
  std::string name;
  std::function<void()> encode;  // Tensor -> a contiguous body.
  std::function<void()> decode;  // That body -> an InferRequest (its inputs' bytes readable).
};

// The fastest of repeated runs, in seconds.
double Time(const std::function<void()>& f, const CodecBenchOptions& o) {
  double best = 1e30, total = 0;
  for (int i = 0; i < o.min_repeats || total < o.min_seconds; ++i) {
    const auto start = Clock::now();
    f();
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::min(best, s);
    total += s;
  }
  return best;
}

void Check(bool ok, std::string_view what) {
  if (!ok) {
    fmt::print(stderr, "codec bench: {} failed\n", what);
    std::abort();
  }
}

}  // namespace

int RunCodecBench(const CodecBenchOptions& options) {
  fmt::print("{:<22} {:>10} {:>12} {:>9} {:>12} {:>9}\n", "format", "bytes", "encode us",
             "enc GB/s", "decode us", "dec GB/s");
  for (size_t bytes = options.min_bytes; bytes <= options.max_bytes; bytes *= 4) {
    const size_t n = bytes / 4;
    std::vector<float> tensor(n);
    for (size_t i = 0; i < n; ++i) tensor[i] = static_cast<float>(i % 1000) * 0.25f;
    std::vector<float> copy(n);
    InferRequest request;
    request.inputs.push_back(InferInput{"INPUT0",
                                        DataType::kFp32,
                                        {static_cast<int64_t>(n)},
                                        reinterpret_cast<const std::byte*>(tensor.data()),
                                        bytes,
                                        nullptr,
                                        {}});
    Body body;
    std::string wire;
    inference::ModelInferRequest message;
    std::vector<Format> formats;
    formats.push_back({"memcpy",
                       [&] {
                         body.Reserve(bytes);
                         std::memcpy(body.data, tensor.data(), bytes);
                         body.size = bytes;
                       },
                       [&] { std::memcpy(copy.data(), body.data, bytes); }});
    for (const bool binary : {false, true}) {
      formats.push_back({binary ? "binary extension" : "KServe JSON",
                         [&, binary] {
                           auto e = codec::EncodeInferRequest(request, binary);
                           Check(e.ok(), "JSON encode");
                           body.Assign(e->json, e->binary);
                           wire = std::to_string(e->json.size());
                         },
                         [&, binary] {
                           const size_t header = binary ? std::stoul(wire) : body.size;
                           auto d = codec::DecodeInferRequest(
                               {reinterpret_cast<const char*>(body.data), header},
                               {body.data + header, body.size - header}, body.block);
                           Check(d.ok() && d->inputs[0].byte_size == bytes, "JSON decode");
                         }});
    }
    formats.push_back({"npy",
                       [&] {
                         auto e = codec::EncodeNpy(request.inputs[0].view());
                         Check(e.ok(), "npy encode");
                         const std::span<const std::byte> chunks[] = {e->data};
                         body.Assign(e->header, chunks);
                       },
                       [&] {
                         auto d = codec::DecodeNpy({body.data, body.size}, body.block);
                         Check(d.ok() && d->byte_size == bytes, "npy decode");
                       }});
    formats.push_back(
        {"Arrow IPC stream",
         [&] {
           InferOutput o;
           o.name = "INPUT0";
           o.datatype = DataType::kFp32;
           o.shape = {static_cast<int64_t>(n)};
           o.data = request.inputs[0].data;
           o.byte_size = bytes;
           auto e = codec::EncodeArrowStream(std::span(&o, 1), false);
           Check(e.ok(), "Arrow encode");
           body.Assign(e->head, e->body);
         },
         [&] {
           auto d = codec::DecodeArrowStream({body.data, body.size}, body.block, false);
           Check(d.ok() && (*d)[0].byte_size == bytes, "Arrow decode");
         }});
    for (const bool typed : {true, false}) {
      formats.push_back(
          {typed ? "Protobuf fp32_contents" : "Protobuf raw",
           [&, typed] {
             message.Clear();
             message.set_model_name("m");
             auto* in = message.add_inputs();
             in->set_name("INPUT0");
             in->set_datatype("FP32");
             in->add_shape(static_cast<int64_t>(n));
             if (typed) {
               in->mutable_contents()->mutable_fp32_contents()->Add(tensor.begin(), tensor.end());
             } else {
               message.add_raw_input_contents()->assign(
                   reinterpret_cast<const char*>(tensor.data()), bytes);
             }
             Check(message.SerializeToString(&wire), "Protobuf encode");
           },
           [&] {
             inference::ModelInferRequest parsed;
             Check(parsed.ParseFromArray(wire.data(), static_cast<int>(wire.size())),
                   "Protobuf parse");
             auto d = grpc_transport::DecodeInferRequest(parsed);
             Check(d.ok() && d->request.inputs[0].byte_size == bytes, "Protobuf decode");
           }});
    }
    for (const Format& f : formats) {
      f.encode();
      const double enc = Time(f.encode, options);
      const double dec = Time(f.decode, options);
      fmt::print("{:<22} {:>10} {:>12.2f} {:>9.2f} {:>12.2f} {:>9.2f}\n", f.name, bytes, enc * 1e6,
                 static_cast<double>(bytes) / enc / 1e9, dec * 1e6,
                 static_cast<double>(bytes) / dec / 1e9);
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace inferd::bench
