#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Measures the HTTP limits of issue 13 against the real inferd binary (make measure-http-limits).

1. RSS idle, then after one 64 MiB request (resident memory must come back near idle).
2. 50 clients that each send a 50 MB request and never read its 50 MB response: server peak RSS.
3. 2,000 slow-header connections (slowloris): how many the header timeout closes, and the median
   latency of a normal client meanwhile, against its median without them.
4. GET /metrics latency with 100 idle connections open to the metrics port.

Prints a Markdown table of figures. Not part of `make test` (about a minute, timing figures).
"""
import argparse
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

IDENTITY_CONFIG = """backend: "builtin"
max_batch_size: 0
input { name: "INPUT0" data_type: TYPE_FP32 dims: [ -1 ] }
output { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ -1 ] }
"""


class Server:
    def __init__(self, binary, flags):
        self.repo = tempfile.mkdtemp(prefix="inferd_measure_")
        os.makedirs(os.path.join(self.repo, "identity", "1"))
        with open(os.path.join(self.repo, "identity", "config.pbtxt"), "w") as f:
            f.write(IDENTITY_CONFIG)
        self.log = tempfile.TemporaryFile()
        args = [binary, "--model-repository=" + self.repo, "--http-port=0",
                "--http-address=127.0.0.1", "--allow-grpc=false", "--metrics-port=0",
                "--metrics-address=127.0.0.1", "--allow-gpu-metrics=false"] + flags
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            out = self.output()
            if "inferd ready" in out:
                self.port = int(re.search(r"HTTP server listening on [^:]+:(\d+)", out).group(1))
                m = re.search(r"METRICS server listening on [^:]+:(\d+)", out)
                self.metrics_port = int(m.group(1)) if m else 0
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("inferd did not start:\n" + self.output())

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def rss(self):
        with open("/proc/%d/status" % self.process.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.repo, ignore_errors=True)


def infer_request(floats):
    """A binary-extension request to identity with `floats` FP32 values, binary output."""
    header = ('{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[%d],'
              '"parameters":{"binary_data_size":%d}}],"parameters":{"binary_data_output":true}}'
              % (floats, floats * 4)).encode()
    body_len = len(header) + floats * 4
    head = ("POST /v2/models/identity/infer HTTP/1.1\r\nHost: x\r\n"
            "Inference-Header-Content-Length: %d\r\nContent-Length: %d\r\n\r\n"
            % (len(header), body_len)).encode()
    return head + header, floats * 4


def send_infer(sock, floats):
    head, payload = infer_request(floats)
    sock.sendall(head)
    chunk = b"\x01" * (1 << 20)
    left = payload
    while left > 0:
        n = min(left, len(chunk))
        sock.sendall(chunk[:n])
        left -= n


def read_response(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            raise RuntimeError("closed")
        data += part
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
    status = int(head.split()[1])
    got = len(rest)
    while got < length:
        part = sock.recv(1 << 20)
        if not part:
            raise RuntimeError("closed")
        got += len(part)
    return status


def connect(port, rcvbuf=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.connect(("127.0.0.1", port))
    return s


def mib(n):
    return "%.1f MiB" % (n / (1 << 20))


def measure_memory(binary):
    server = Server(binary, [])
    try:
        for _ in range(20):
            s = connect(server.port)
            send_infer(s, 1024)
            read_response(s)
            s.close()
        time.sleep(2)
        idle = server.rss()
        s = connect(server.port)
        send_infer(s, (64 << 20) // 4 - 1024)
        status = read_response(s)
        s.close()
        peak = server.rss()
        time.sleep(3)
        after = server.rss()
        return [("RSS idle (after 20 small requests)", mib(idle)),
                ("RSS right after one 64 MiB request (status %d)" % status, mib(peak)),
                ("RSS 3 s after it", "%s (idle %+.1f MiB)" % (mib(after), (after - idle) / (1 << 20)))]
    finally:
        server.stop()


def measure_non_readers(binary, clients=50, size=50_000_000):
    server = Server(binary, [])
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], server.rss())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    socks = []
    errors = []

    def client():
        try:
            s = connect(server.port, rcvbuf=16384)
            socks.append(s)
            send_infer(s, size // 4)  # ... and never reads the response.
        except OSError as e:
            errors.append(str(e))

    try:
        idle = server.rss()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # The server may still be reading and answering: wait until its RSS settles.
        held = server.rss()
        for _ in range(60):
            time.sleep(1)
            now = server.rss()
            if abs(now - held) < (1 << 20):
                break
            held = now
        # A normal client meanwhile.
        s = connect(server.port)
        t0 = time.perf_counter()
        s.sendall(b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n")
        status = read_response(s)
        ready_ms = (time.perf_counter() - t0) * 1000
        s.close()
        stop.set()
        sampler.join()
        for s in socks:
            s.close()
        return [("RSS idle", mib(idle)),
                ("%d clients sent a 50 MB request and never read the 50 MB response: peak RSS" %
                 clients, mib(peak[0])),
                ("RSS once the server settled, while they all wait", mib(held)),
                ("a normal health check meanwhile", "%d in %.1f ms" % (status, ready_ms))] + (
                    [("client errors", "; ".join(errors[:3]))] if errors else [])
    finally:
        stop.set()
        server.stop()


def median_latency_ms(port, n=300):
    s = connect(port)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        s.sendall(b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n")
        read_response(s)
        samples.append((time.perf_counter() - t0) * 1000)
    s.close()
    return statistics.median(samples)


def measure_slowloris(binary, count=2000, timeout_ms=10000):
    server = Server(binary, ["--http-header-timeout-ms=%d" % timeout_ms])
    try:
        baseline = median_latency_ms(server.port)
        socks = []
        t_open = time.time()
        for _ in range(count):
            s = connect(server.port)
            s.sendall(b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n")  # ... and no end.
            s.setblocking(False)
            socks.append(s)
        during = median_latency_ms(server.port)
        # Keep dribbling header lines, as slowloris does, and count the connections closed.
        closed = set()
        deadline = t_open + timeout_ms / 1000 * 2 + 5
        last_close = None
        while len(closed) < count and time.time() < deadline:
            for i, s in enumerate(socks):
                if i in closed:
                    continue
                try:
                    data = s.recv(4096)
                    if not data or b" 408 " in data:
                        closed.add(i)
                        last_close = time.time()
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    closed.add(i)
                    last_close = time.time()
                    continue
                try:
                    s.send(b"X-a: b\r\n")
                except OSError:
                    pass
            time.sleep(0.5)
        after = median_latency_ms(server.port)
        for s in socks:
            s.close()
        return [("normal client's median latency (GET /v2/health/ready, keep-alive)",
                 "%.3f ms" % baseline),
                ("... with %d slow-header connections open" % count, "%.3f ms" % during),
                ("slow-header connections closed by --http-header-timeout-ms=%d" % timeout_ms,
                 "%d of %d, the last %.1f s after they opened" %
                 (len(closed), count, (last_close or t_open) - t_open)),
                ("normal client's median latency after they were closed", "%.3f ms" % after)]
    finally:
        server.stop()


def measure_metrics(binary, idle_count=100, n=50):
    server = Server(binary, [])
    try:
        idle = [connect(server.metrics_port) for _ in range(idle_count)]
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            s = connect(server.metrics_port)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            status = read_response(s)
            samples.append((time.perf_counter() - t0) * 1000)
            s.close()
        for s in idle:
            s.close()
        return [("GET /metrics with %d idle connections open (status %d): median / max of %d" %
                 (idle_count, status, n),
                 "%.2f ms / %.2f ms" % (statistics.median(samples), max(samples)))]
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", default="build/bin/inferd")
    parser.add_argument("--slow-clients", type=int, default=2000)
    parser.add_argument("--only", default="", help="comma-separated subset: memory,non-readers,"
                        "slowloris,metrics")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # For us and the server.
    rows = []
    for name, run in [("memory", lambda: measure_memory(args.binary)),
                      ("non-readers", lambda: measure_non_readers(args.binary)),
                      ("slowloris", lambda: measure_slowloris(args.binary, args.slow_clients)),
                      ("metrics", lambda: measure_metrics(args.binary))]:
        if args.only and name not in args.only.split(","):
            continue
        print("measuring %s ..." % name, file=sys.stderr, flush=True)
        rows += run()
    print("| measurement | figure |\n|---|---|")
    for what, figure in rows:
        print("| %s | %s |" % (what, figure))


if __name__ == "__main__":
    main()
