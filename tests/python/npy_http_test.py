# SPDX-License-Identifier: Apache-2.0
"""End-to-end: NumPy .npy bodies on the HTTP infer endpoint of the real inferd binary, with .npy
files written and read by Debian's numpy (an implementation no one here wrote). Run by ctest
(tests/CMakeLists.txt) with /usr/bin/python3:

  npy_http_test.py --inferd build/bin/inferd --example-repository examples/model_repository
"""
import argparse
import http.client
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import numpy as np

ARGS = None
SERVER = None  # (process, port, output lines)
MAX_INPUT_SIZE = 1 << 20  # --http-max-input-size of the test server

# KServe datatype, config.pbtxt type, numpy dtype: every dtype the .npy format maps.
DATATYPES = [
    ("BOOL", "TYPE_BOOL", np.bool_), ("UINT8", "TYPE_UINT8", np.uint8),
    ("UINT16", "TYPE_UINT16", np.uint16), ("UINT32", "TYPE_UINT32", np.uint32),
    ("UINT64", "TYPE_UINT64", np.uint64), ("INT8", "TYPE_INT8", np.int8),
    ("INT16", "TYPE_INT16", np.int16), ("INT32", "TYPE_INT32", np.int32),
    ("INT64", "TYPE_INT64", np.int64), ("FP16", "TYPE_FP16", np.float16),
    ("FP32", "TYPE_FP32", np.float32), ("FP64", "TYPE_FP64", np.float64),
    ("BYTES", "TYPE_STRING", np.bytes_),
]
SHAPES_1D = [(0,), (1,), (7,), (100,)]
SHAPES_3D = [(2, 3, 4), (1, 1, 5), (3, 0, 2)]


def write_repository(root, examples):
    for model in ("identity", "add_sub"):
        os.makedirs(os.path.join(root, model, "1"))
        shutil.copy(os.path.join(examples, model, "config.pbtxt"), os.path.join(root, model))
    for name, config_type, _ in DATATYPES:
        for suffix, dims in (("", "[ -1 ]"), ("_3d", "[ -1, -1, -1 ]")):
            model = "identity_" + name.lower() + suffix
            os.makedirs(os.path.join(root, model, "1"))
            with open(os.path.join(root, model, "config.pbtxt"), "w") as f:
                f.write(f'name: "{model}"\nbackend: "builtin"\nmax_batch_size: 0\n'
                        f'input [ {{ name: "INPUT0" data_type: {config_type} dims: {dims} }} ]\n'
                        f'output [ {{ name: "OUTPUT0" data_type: {config_type} dims: {dims} }} ]\n'
                        'instance_group [ { count: 1 kind: KIND_CPU } ]\n'
                        'parameters { key: "builtin_model" value { string_value: "identity" } }\n')


def start_server(repo):
    proc = subprocess.Popen([ARGS.inferd, f"--model-repository={repo}", "--http-port=0",
                             "--allow-grpc=false", "--allow-metrics=false",
                             f"--http-max-input-size={MAX_INPUT_SIZE}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    port = None
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"HTTP server listening on \S+:(\d+)", line)
        if m:
            port = int(m.group(1))
        if "inferd ready" in line:
            break
    if port is None:
        raise RuntimeError("inferd did not start:\n" + "".join(lines))
    threading.Thread(target=lambda: [lines.append(l) for l in proc.stdout], daemon=True).start()
    return proc, port, lines


def npy_bytes(arr, version=None):
    f = io.BytesIO()
    np.lib.format.write_array(f, arr, version=version, allow_pickle=False)
    return f.getvalue()


def sample(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if dtype == np.bytes_:
        # The longest element fills the width, so the reply's 'S<n>' is the same dtype.
        words = [b"x" * (1 + (i * 7) % 9) for i in range(n)]
        if n:
            words[0] = b"y" * 9
        return np.array(words, dtype="S9").reshape(shape)
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


class NpyHttpTest(unittest.TestCase):
    def post(self, path, body, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", SERVER[1], timeout=30)
        try:
            conn.request("POST", path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.getheader("Content-Type"), r.read()
        finally:
            conn.close()

    def infer_npy(self, model, arr, query="", version=None, headers=None):
        h = {"Content-Type": "application/x-npy"}
        h.update(headers or {})
        return self.post(f"/v2/models/{model}/infer{query}", npy_bytes(arr, version), h)

    def assert_still_serving(self):
        status, ctype, body = self.infer_npy("identity", np.array([1.5, 2.5], np.float32))
        self.assertEqual(status, 200, body)
        self.assertEqual(ctype, "application/x-npy")
        np.testing.assert_array_equal(np.load(io.BytesIO(body)), [1.5, 2.5])

    def assert_error(self, response, status, *words):
        code, ctype, body = response
        self.assertEqual(code, status, body)
        self.assertEqual(ctype, "application/json")
        message = json.loads(body)["error"]
        for w in words:
            self.assertIn(w, message)
        self.assert_still_serving()

    def test_every_dtype_and_shape_round_trips_bit_for_bit(self):
        seed = 0
        for name, _, dtype in DATATYPES:
            for shapes, suffix in ((SHAPES_1D, ""), (SHAPES_3D, "_3d")):
                for shape in shapes:
                    seed += 1
                    arr = sample(dtype, shape, seed)
                    with self.subTest(datatype=name, shape=shape):
                        status, ctype, body = self.infer_npy(
                            f"identity_{name.lower()}{suffix}", arr)
                        self.assertEqual(status, 200, body)
                        self.assertEqual(ctype, "application/x-npy")
                        self.assertEqual(len(body[:body.index(b"\n") + 1]) % 64, 0)
                        out = np.load(io.BytesIO(body), allow_pickle=False)
                        # An empty BYTES array has no longest element: the reply is 'S1' whatever
                        # width was sent. Every other dtype comes back as sent.
                        if arr.dtype.kind == "S" and arr.size == 0:
                            self.assertEqual(out.dtype.kind, "S")
                        else:
                            self.assertEqual(out.dtype.str, arr.dtype.str)
                        self.assertEqual(out.shape, arr.shape)
                        self.assertEqual(out.tobytes(), arr.tobytes())

    def test_format_versions_byte_orders_and_fortran_order(self):
        arr = sample(np.float32, (2, 3, 4), 99)
        for version in [(1, 0), (2, 0), (3, 0)]:
            with self.subTest(version=version):
                status, _, body = self.infer_npy("identity_fp32_3d", arr, version=version)
                self.assertEqual(status, 200, body)
                self.assertEqual(np.load(io.BytesIO(body)).tobytes(), arr.tobytes())
        for variant in (arr.astype(">f4"), np.asfortranarray(arr),
                        np.asfortranarray(arr.astype(">f4"))):
            with self.subTest(dtype=variant.dtype.str, fortran=variant.flags.f_contiguous):
                status, _, body = self.infer_npy("identity_fp32_3d", variant)
                self.assertEqual(status, 200, body)
                out = np.load(io.BytesIO(body))
                self.assertEqual(out.dtype.str, "<f4")
                self.assertEqual(out.tobytes(), arr.tobytes())  # Native order, C order.
        wide = sample(np.int64, (50,), 5).astype(">i8")
        status, _, body = self.infer_npy("identity_int64", wide)
        self.assertEqual(status, 200, body)
        np.testing.assert_array_equal(np.load(io.BytesIO(body)), wide)

    def test_named_input_and_output_and_batched_model(self):
        a = np.arange(32, dtype=np.int32).reshape(2, 16)
        # add_sub needs both inputs: the other comes in a JSON request, the answer as .npy.
        request = {"inputs": [
            {"name": "INPUT0", "datatype": "INT32", "shape": [2, 16], "data": a.flatten().tolist()},
            {"name": "INPUT1", "datatype": "INT32", "shape": [2, 16], "data": [1] * 32}]}
        status, ctype, body = self.post("/v2/models/add_sub/infer?output=OUTPUT1",
                                        json.dumps(request), {"Accept": "application/x-npy"})
        self.assertEqual(status, 200, body)
        self.assertEqual(ctype, "application/x-npy")
        np.testing.assert_array_equal(np.load(io.BytesIO(body)), a - 1)
        # An .npy request with a JSON answer.
        status, ctype, body = self.infer_npy("identity", np.array([4.0], np.float32),
                                             query="?input=INPUT0",
                                             headers={"Accept": "application/json"})
        self.assertEqual(status, 200, body)
        self.assertEqual(ctype, "application/json")
        self.assertEqual(json.loads(body)["outputs"][0]["data"], [4.0])
        # A versioned path.
        status, _, body = self.post("/v2/models/identity/versions/1/infer",
                                    npy_bytes(np.array([7.0], np.float32)),
                                    {"Content-Type": "application/x-npy", "Accept": "*/*"})
        self.assertEqual(status, 200, body)
        np.testing.assert_array_equal(np.load(io.BytesIO(body)), [7.0])

    # ---- bad inputs: each a clear 4xx, and the server keeps serving ----

    def test_truncated_header(self):
        body = npy_bytes(np.zeros(4, np.float32))[:40]
        self.assert_error(self.post("/v2/models/identity/infer", body,
                                    {"Content-Type": "application/x-npy"}),
                          400, "header is truncated")

    def test_header_claiming_more_data_than_the_body(self):
        body = npy_bytes(np.zeros(4, np.float32))[:-3]
        self.assert_error(self.post("/v2/models/identity/infer", body,
                                    {"Content-Type": "application/x-npy"}),
                          400, "declares shape (4,)", "13 bytes follow the header")

    def test_unsupported_dtypes(self):
        for arr, words in ((np.zeros(2, np.complex64), ["'<c8'", "complex"]),
                           (np.array(["ab"]), ["'<U2'", "unicode"]),
                           (np.zeros(2, [("a", "<i4"), ("b", "<f4")]), ["structured"])):
            with self.subTest(dtype=arr.dtype.str):
                self.assert_error(self.infer_npy("identity", arr), 400, *words)

    def test_wrong_shape_and_datatype_for_the_model(self):
        self.assert_error(self.infer_npy("identity", np.zeros((2, 3), np.float32)), 400,
                          "INPUT0", "[2,3]")
        self.assert_error(self.infer_npy("identity", np.zeros(3, np.int32)), 400,
                          "INPUT0", "INT32")

    def test_unknown_and_missing_inputs(self):
        self.assert_error(self.infer_npy("identity", np.zeros(2, np.float32), "?input=NOPE"),
                          400, "NOPE")
        self.assert_error(self.infer_npy("add_sub", np.zeros((1, 16), np.int32)), 400,
                          "has 2 inputs", "?input=NAME")
        self.assert_error(self.infer_npy("add_sub", np.zeros((1, 16), np.int32),
                                         "?input=INPUT0&output=OUTPUT0"), 400, "INPUT1")

    def test_output_must_be_named_for_a_model_with_several(self):
        request = {"inputs": [
            {"name": n, "datatype": "INT32", "shape": [1, 16], "data": [0] * 16}
            for n in ("INPUT0", "INPUT1")]}
        self.assert_error(self.post("/v2/models/add_sub/infer", json.dumps(request),
                                    {"Accept": "application/x-npy"}),
                          400, "has 2", "?output=NAME")

    def test_body_over_the_size_limit(self):
        body = npy_bytes(np.zeros(MAX_INPUT_SIZE // 4 + 16, np.float32))
        self.assert_error(self.post("/v2/models/identity/infer", body,
                                    {"Content-Type": "application/x-npy"}),
                          413, "--http-max-input-size")

    def test_accept_the_server_cannot_produce(self):
        self.assert_error(self.infer_npy("identity", np.zeros(2, np.float32),
                                         headers={"Accept": "text/csv, image/png"}),
                          406, "'text/csv, image/png'", "application/x-npy")


def main():
    global ARGS, SERVER
    parser = argparse.ArgumentParser()
    parser.add_argument("--inferd", required=True)
    parser.add_argument("--example-repository", required=True)
    ARGS, rest = parser.parse_known_args()
    repo = tempfile.mkdtemp(prefix="inferd_npy_py_")
    try:
        write_repository(repo, ARGS.example_repository)
        SERVER = start_server(repo)
        result = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2).result
        proc = SERVER[0]
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        if code != 0:
            print("inferd exited with", code, "".join(SERVER[2]))
            return 1
        return 0 if result.wasSuccessful() else 1
    finally:
        if SERVER and SERVER[0].poll() is None:
            SERVER[0].kill()
        shutil.rmtree(repo, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
