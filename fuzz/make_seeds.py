#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (committed; rerun after
changing this file). Each seed is a small valid (or nearly valid) input that reaches a different
part of its target, so that the fuzzer starts from the request shapes clients really send.

gRPC seeds are encoded with `protoc --encode` from proto/grpc_service.proto."""
import gzip
import os
import pathlib
import shutil
import struct
import subprocess
import zlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


# --- HTTP: the bytes of one connection ------------------------------------------------------


def http(method, target, body=b"", headers=(), chunked=False):
    if isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {target} HTTP/1.1", "Host: localhost"]
    lines += list(headers)
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        half = len(body) // 2
        parts = [body[:half], body[half:]]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts if p) + b"0\r\n\r\n"
    else:
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        payload = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


IDENTITY_JSON = '{"id":"a","inputs":[{"name":"INPUT0","shape":[3],"datatype":"FP32","data":[1,2.5,-3]}]}'
ADD_SUB_JSON = ('{"inputs":[{"name":"INPUT0","shape":[1,16],"datatype":"INT32","data":[%s]},'
                '{"name":"INPUT1","shape":[1,16],"datatype":"INT32","data":[%s]}],'
                '"outputs":[{"name":"OUTPUT1","parameters":{"binary_data":true}}]}') % (
                    ",".join(str(i) for i in range(16)), ",".join("1" for _ in range(16)))


def binary_infer(model, inputs, outputs=()):
    """A JSON header with binary_data_size inputs, followed by their bytes."""
    specs, blobs = [], b""
    for name, dtype, shape, data in inputs:
        specs.append('{"name":"%s","shape":%s,"datatype":"%s","parameters":{"binary_data_size":%d}}'
                     % (name, shape, dtype, len(data)))
        blobs += data
    outs = ",".join('{"name":"%s","parameters":{"binary_data":true}}' % o for o in outputs)
    header = '{"inputs":[%s]%s}' % (",".join(specs), ',"outputs":[%s]' % outs if outs else "")
    body = header.encode() + blobs
    return http("POST", f"/v2/models/{model}/infer", body,
                [f"Inference-Header-Content-Length: {len(header)}"])


def bytes_tensor(*items):
    return b"".join(struct.pack("<I", len(i)) + i for i in items)


def http_seeds():
    t = "http_request_fuzzer"
    write(t, "health", http("GET", "/v2/health/ready") + http("GET", "/v2/health/live"))
    write(t, "server_metadata", http("GET", "/v2"))
    write(t, "model_metadata", http("GET", "/v2/models/identity/versions/1"))
    write(t, "model_ready", http("GET", "/v2/models/add_sub/ready"))
    write(t, "config", http("GET", "/v2/models/add_sub_batched/config"))
    write(t, "stats", http("GET", "/v2/models/stats"))
    write(t, "repository_index", http("POST", "/v2/repository/index", '{"ready":true}'))
    write(t, "repository_load", http("POST", "/v2/repository/models/identity/load",
                                     '{"parameters":{"config":"{}"}}'))
    write(t, "repository_unload", http("POST", "/v2/repository/models/identity/unload",
                                       '{"parameters":{"unload_dependents":true}}'))
    write(t, "shm_status", http("GET", "/v2/systemsharedmemory/status"))
    write(t, "shm_register", http("POST", "/v2/systemsharedmemory/region/r/register",
                                  '{"key":"/k","offset":0,"byte_size":64}'))
    write(t, "infer_json", http("POST", "/v2/models/identity/infer", IDENTITY_JSON))
    write(t, "infer_json_add_sub", http("POST", "/v2/models/add_sub/versions/1/infer", ADD_SUB_JSON))
    write(t, "infer_json_bytes", http(
        "POST", "/v2/models/identity_bytes/infer",
        '{"inputs":[{"name":"INPUT0","shape":[1,2],"datatype":"BYTES","data":["ab","\\u00e9"]}],'
        '"parameters":{"binary_data_output":true}}'))
    write(t, "infer_json_batched", http(
        "POST", "/v2/models/add_sub_batched/infer",
        '{"inputs":[{"name":"INPUT0","shape":[2,4],"datatype":"FP32","data":[[1,2,3,4],[5,6,7,8]]},'
        '{"name":"INPUT1","shape":[2,4],"datatype":"FP32","data":[1,1,1,1,1,1,1,1]}]}'))
    write(t, "infer_chunked", http("POST", "/v2/models/identity/infer", IDENTITY_JSON,
                                   chunked=True))
    write(t, "infer_gzip", http("POST", "/v2/models/identity/infer",
                                gzip.compress(IDENTITY_JSON.encode(), mtime=0),
                                ["Content-Encoding: gzip", "Accept-Encoding: gzip"]))
    write(t, "infer_deflate", http("POST", "/v2/models/identity/infer",
                                   zlib.compress(IDENTITY_JSON.encode()),
                                   ["Content-Encoding: deflate", "Accept-Encoding: deflate;q=1, gzip;q=0"]))
    write(t, "infer_binary", binary_infer(
        "identity", [("INPUT0", "FP32", "[4]", struct.pack("<4f", 1, 2, 3, 4))], ["OUTPUT0"]))
    write(t, "infer_binary_add_sub", binary_infer(
        "add_sub", [("INPUT0", "INT32", "[1,16]", struct.pack("<16i", *range(16))),
                    ("INPUT1", "INT32", "[1,16]", struct.pack("<16i", *([2] * 16)))],
        ["OUTPUT0", "OUTPUT1"]))
    write(t, "infer_binary_bytes", binary_infer(
        "identity_bytes", [("INPUT0", "BYTES", "[1,3]", bytes_tensor(b"x", b"", b"hello"))],
        ["OUTPUT0"]))
    raw = struct.pack("<3f", 1, 2, 3)
    write(t, "infer_raw_binary", http("POST", "/v2/models/identity/infer", raw,
                                      ["Inference-Header-Content-Length: 0",
                                       "Content-Type: application/octet-stream"]))
    write(t, "expect_continue", http("POST", "/v2/models/identity/infer", IDENTITY_JSON,
                                     ["Expect: 100-continue"]))
    write(t, "pipelined", http("GET", "/v2/health/ready") +
          http("POST", "/v2/models/identity/infer", IDENTITY_JSON) +
          http("GET", "/v2/models/identity/stats", headers=["Connection: close"]))
    write(t, "http10", b"GET /v2/health/live HTTP/1.0\r\n\r\n")


# --- gRPC: serialized ModelInferRequest messages ---------------------------------------------


def protoc_encode(text):
    return subprocess.run(
        ["protoc", f"--proto_path={ROOT / 'proto'}", "--encode=inference.ModelInferRequest",
         "grpc_service.proto"], input=text.encode(), capture_output=True, check=True).stdout


def c_bytes(data):
    return "".join("\\%03o" % b for b in data)


def grpc_seeds():
    t = "grpc_infer_fuzzer"
    fp = c_bytes(struct.pack("<4f", 1, 2, 3, 4))
    write(t, "raw_identity", protoc_encode(f'''
model_name: "identity" id: "r1"
inputs {{ name: "INPUT0" datatype: "FP32" shape: 4 }}
outputs {{ name: "OUTPUT0" }}
raw_input_contents: "{fp}"'''))
    write(t, "typed_identity", protoc_encode('''
model_name: "identity" model_version: "1"
inputs { name: "INPUT0" datatype: "FP32" shape: 2 contents { fp32_contents: [1.5, -2] } }'''))
    i32 = c_bytes(struct.pack("<16i", *range(16)))
    write(t, "raw_add_sub", protoc_encode(f'''
model_name: "add_sub"
inputs {{ name: "INPUT0" datatype: "INT32" shape: [1, 16] }}
inputs {{ name: "INPUT1" datatype: "INT32" shape: [1, 16] }}
raw_input_contents: "{i32}" raw_input_contents: "{i32}"'''))
    write(t, "typed_add_sub_batched", protoc_encode('''
model_name: "add_sub_batched"
parameters { key: "priority" value { int64_param: 1 } }
inputs { name: "INPUT0" datatype: "FP32" shape: [1, 4] contents { fp32_contents: [1, 2, 3, 4] } }
inputs { name: "INPUT1" datatype: "FP32" shape: [1, 4] contents { fp32_contents: [1, 1, 1, 1] } }
outputs { name: "OUTPUT1" parameters { key: "classification" value { int64_param: 2 } } }'''))
    b = c_bytes(bytes_tensor(b"ab", b"", b"xyz"))
    write(t, "raw_bytes", protoc_encode(f'''
model_name: "identity_bytes"
inputs {{ name: "INPUT0" datatype: "BYTES" shape: [1, 3] }}
raw_input_contents: "{b}"'''))
    write(t, "typed_bytes", protoc_encode('''
model_name: "identity_bytes"
inputs { name: "INPUT0" datatype: "BYTES" shape: [1, 2] contents { bytes_contents: ["a", "bc"] } }'''))
    write(t, "shm_params", protoc_encode('''
model_name: "identity"
inputs { name: "INPUT0" datatype: "FP32" shape: 4
  parameters { key: "shared_memory_region" value { string_param: "r" } }
  parameters { key: "shared_memory_byte_size" value { int64_param: 16 } } }'''))


# --- config.pbtxt ---------------------------------------------------------------------------


def config_seeds():
    t = "model_config_fuzzer"
    for p in sorted(ROOT.glob("examples/**/config.pbtxt")):
        write(t, p.parent.name, p.read_bytes())
    write(t, "full", '''name: "fuzz"
platform: "pytorch_libtorch"
max_batch_size: 8
version_policy { specific { versions: [1, 3] } }
input [ { name: "INPUT__0" data_type: TYPE_FP32 format: FORMAT_NCHW dims: [ 3, -1, -1 ]
          reshape { shape: [ 3, 2, 2 ] } } ]
output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 1000 ] label_filename: "labels.txt" } ]
instance_group [ { name: "g" count: 2 kind: KIND_CPU }, { kind: KIND_GPU gpus: [ 0 ] } ]
dynamic_batching {
  preferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 100 preserve_ordering: true
  priority_levels: 2 default_priority_level: 1
  default_queue_policy { timeout_action: DELAY default_timeout_microseconds: 1000
                         allow_timeout_override: true max_queue_size: 4 }
  priority_queue_policy { key: 2 value { max_queue_size: 8 } }
}
parameters { key: "k" value { string_value: "v" } }
optimization { input_pinned_memory { enable: true } }
default_model_filename: "model.pt"
''')
    write(t, "onnx_scalar", '''backend: "onnxruntime"
version_policy: { latest: { num_versions: 2 } }
input [ { name: "x" data_type: TYPE_INT64 dims: [ 1 ] reshape: { shape: [ ] } } ]
output [ { name: "y" data_type: TYPE_STRING dims: [ -1 ] } ]
''')


# --- ipc:// ---------------------------------------------------------------------------------


def s(text):
    b = text.encode()
    return struct.pack("<I", len(b)) + b


def tensor(name, dtype, shape, offset, nbytes):
    return (s(name) + struct.pack("<II", dtype, len(shape)) +
            b"".join(struct.pack("<q", d) for d in shape) + struct.pack("<QQ", offset, nbytes))


def request_blob(model, inputs, outputs, out_offset, out_bytes):
    return (struct.pack("<I", 0x51455269) + s(model) + struct.pack("<q", 0) + s("id") +
            struct.pack("<I", len(inputs)) + b"".join(inputs) +
            struct.pack("<I", len(outputs)) + b"".join(s(o) for o in outputs) +
            struct.pack("<QQ", out_offset, out_bytes))


def ipc_seeds():
    t = "ipc_protocol_fuzzer"
    blob = request_blob("identity", [tensor("INPUT0", 11, [4], 0, 16)], ["OUTPUT0"], 64, 256)
    write(t, "request_blob", b"\x01" + blob)
    write(t, "request_blob_bytes", b"\x01" + request_blob(
        "identity_bytes", [tensor("INPUT0", 13, [1, 2], 0, 11)], [], 0, 4096))
    resp = (struct.pack("<I", 0x50535269) + s("identity") + struct.pack("<q", 1) + s("id") +
            struct.pack("<I", 1) + tensor("OUTPUT0", 11, [4], 128, 16))
    write(t, "response_blob", b"\x02" + resp)
    write(t, "layout", b"\x03" + struct.pack("<QI", 1 << 20, 64))
    # A ring of capacity 2 (selector byte 1) with head 2: two slots, each pointing at the blob,
    # which sits at arena offset 16 after 16 bytes of tensor data.
    arena = struct.pack("<4f", 1, 2, 3, 4) + blob
    slot = struct.pack("<QQQQ", 7, 16, len(blob), 0)
    # FuzzedDataProvider takes integers from the end of the data: capacity selector, then head.
    body = slot + slot + arena
    write(t, "ring", b"\x00" + body + struct.pack("<I", 2) + b"\x01")


# --- shared-memory parameters (FuzzedDataProvider bytes: any bytes are a request) -------------


def shm_seeds():
    t = "shm_parameters_fuzzer"
    for i, seed in enumerate([b"\x00" * 64, b"\x01" * 64, bytes(range(64)), b"\xff" * 64,
                              bytes(range(255, 0, -3))]):
        write(t, f"bytes{i}", seed)


def main():
    for d in ["http_request_fuzzer", "grpc_infer_fuzzer", "model_config_fuzzer",
              "ipc_protocol_fuzzer", "shm_parameters_fuzzer"]:
        shutil.rmtree(CORPUS / d, ignore_errors=True)
    http_seeds()
    grpc_seeds()
    config_seeds()
    ipc_seeds()
    shm_seeds()


if __name__ == "__main__":
    main()
