#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The figures that size an inferd pod (docs/deployment.md): resident memory idle (no model, and
the built-in examples), after loading ResNet50 (ONNX Runtime, TorchScript), and after traffic;
CPU time the server spends per ResNet50 request at batch 1 (process utime + stime over N
sequential HTTP requests, binary tensor extension), with the wall time per request beside it.

Needs the ResNet50 models (make models). Usage:
  /usr/bin/python3 scripts/measure_pod_sizing.py --binary build/bin/inferd \
      --repository examples/model_repository --requests 100
"""
import argparse
import http.client
import json
import os
import random
import shutil
import struct
import subprocess
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


class Server:
    def __init__(self, binary, repository, models):
        args = [binary, f"--model-repository={repository}", "--http-port=0", "--grpc-port=0",
                "--metrics-port=0"]
        if models is not None:
            args.append("--model-control-mode=explicit")
            args += [f"--load-model={m}" for m in models]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.port = 0
        for line in self.proc.stdout:
            if "HTTP server listening on" in line:
                self.port = int(line.rsplit(":", 1)[1])
            if "inferd ready" in line or "failed to start" in line:
                break
        if not self.port:
            raise RuntimeError("inferd did not start")
        time.sleep(1.0)  # Let start-up allocations settle.

    def rss_mib(self):
        return status_kib(self.proc.pid, "VmRSS") / 1024

    def peak_mib(self):
        return status_kib(self.proc.pid, "VmHWM") / 1024

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)


def infer_body(input_name):
    values = [random.random() for _ in range(3 * 224 * 224)]
    data = struct.pack(f"<{len(values)}f", *values)
    header = json.dumps({
        "inputs": [{"name": input_name, "shape": [1, 3, 224, 224], "datatype": "FP32",
                    "parameters": {"binary_data_size": len(data)}}],
        "outputs": [{"name": "output" if input_name == "input" else "OUTPUT__0",
                     "parameters": {"binary_data": True}}],
    }).encode()
    return header + data, len(header)


def measure_model(binary, repository, model, input_name, requests):
    server = Server(binary, repository, [model])
    loaded = server.rss_mib()
    body, header_length = infer_body(input_name)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    headers = {"Inference-Header-Content-Length": str(header_length),
               "Content-Type": "application/octet-stream"}

    def infer():
        conn.request("POST", f"/v2/models/{model}/infer", body, headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{model}: HTTP {response.status}")

    for _ in range(5):  # Warm-up (first calls allocate and optimise).
        infer()
    cpu0, wall0 = cpu_seconds(server.proc.pid), time.monotonic()
    for _ in range(requests):
        infer()
    cpu = (cpu_seconds(server.proc.pid) - cpu0) / requests * 1000
    wall = (time.monotonic() - wall0) / requests * 1000
    after = server.rss_mib()
    peak = server.peak_mib()
    server.stop()
    return loaded, after, peak, cpu, wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default="build/bin/inferd")
    parser.add_argument("--repository", default="examples/model_repository")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    empty = tempfile.mkdtemp(prefix="inferd_sizing_")
    try:
        server = Server(args.binary, empty, None)
        idle_empty = server.rss_mib()
        server.stop()
    finally:
        shutil.rmtree(empty)
    server = Server(args.binary, args.repository, ["identity", "add_sub", "busy"])
    idle_builtin = server.rss_mib()
    server.stop()
    print(f"cores: {os.cpu_count()}, requests per model: {args.requests} (batch 1, sequential)")
    print("| state | RSS MiB | peak RSS MiB | server CPU ms / request | wall ms / request |")
    print("|---|---|---|---|---|")
    print(f"| idle, empty repository | {idle_empty:.0f} | | | |")
    print(f"| idle, built-in examples (identity, add_sub, busy) | {idle_builtin:.0f} | | | |")
    for model, input_name, label in (("resnet50_onnx", "input", "ONNX Runtime"),
                                     ("resnet50_torchscript", "INPUT__0", "TorchScript")):
        if not os.path.isdir(os.path.join(args.repository, model)):
            print(f"| {model}: not in {args.repository} (make models) | | | | |")
            continue
        loaded, after, peak, cpu, wall = measure_model(args.binary, args.repository, model,
                                                       input_name, args.requests)
        print(f"| ResNet50 ({label}) loaded | {loaded:.0f} | | | |")
        print(f"| ResNet50 ({label}) after {args.requests} requests | {after:.0f} | {peak:.0f} "
              f"| {cpu:.1f} | {wall:.1f} |")


if __name__ == "__main__":
    main()
