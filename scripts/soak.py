#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""make soak: mixed HTTP, gRPC and ipc:// traffic with load/unload cycles against the release
inferd binary, sampling the server's resident memory, open file descriptors and threads.

Three `inferd-bench soak-load` clients (one per transport; each reconnects every few hundred
requests, sends 16-byte and 602,112-byte identity requests, add_sub requests, and over gRPC short
streams) run for the whole soak, while this script unloads and reloads add_sub every
--cycle-seconds and scrapes /metrics. Every --sample-seconds it reads /proc/<pid>/status (VmRSS,
Threads) and counts /proc/<pid>/fd.

After the warm-up (the first --warmup-fraction of the run) it prints the RSS slope (least squares,
MB per hour), and fd and thread min/max. It fails when the server dies or does not exit 0 on
SIGTERM, a client saw a wrong answer or an unexpected error, the RSS slope exceeds
--max-rss-slope-mb-per-hour, or fds or threads grow: the maximum over the last quarter of the
post-warm-up samples exceeds the maximum over its first quarter by more than the slack (clients
reconnect, so a few fds come and go)."""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample(pid):
    rss_kb = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss_kb / 1024.0, fds, threads


def http(port, method, path, body=None, timeout=30):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def slope_per_hour(points):
    n = len(points)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return sum((t - mt) * (v - mv) for t, v in points) / var * 3600.0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--sample-seconds", type=float, default=10)
    p.add_argument("--cycle-seconds", type=float, default=5)
    p.add_argument("--warmup-fraction", type=float, default=0.2)
    p.add_argument("--max-rss-slope-mb-per-hour", type=float, default=8.0)
    p.add_argument("--fd-slack", type=int, default=8)
    p.add_argument("--thread-slack", type=int, default=2)
    args = p.parse_args()

    inferd = os.path.join(args.build, "bin", "inferd")
    bench = os.path.join(args.build, "bin", "inferd-bench")
    work = tempfile.mkdtemp(prefix="inferd-soak-")
    repo = os.path.join(work, "repository")
    for model in ("identity", "add_sub"):
        shutil.copytree(os.path.join(ROOT, "examples", "model_repository", model),
                        os.path.join(repo, model))
    http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    ipc_path = os.path.join(work, "inferd.sock")
    log = open(os.path.join(work, "inferd.log"), "w")
    server = subprocess.Popen(
        [inferd, f"--model-repository={repo}", "--model-control-mode=explicit",
         "--load-model=identity", "--load-model=add_sub", f"--http-port={http_port}",
         f"--grpc-port={grpc_port}", f"--metrics-port={metrics_port}",
         f"--ipc-socket-path={ipc_path}", "--log-info=false"],
        stdout=log, stderr=subprocess.STDOUT)
    failures = []
    clients = []
    try:
        for _ in range(300):
            try:
                if http(http_port, "GET", "/v2/health/ready", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None:
                sys.exit(f"soak: inferd exited with {server.returncode} at start (log {log.name})")
            time.sleep(0.1)
        seconds = args.minutes * 60
        for url in (f"http://127.0.0.1:{http_port}", f"grpc://127.0.0.1:{grpc_port}",
                    f"ipc://{ipc_path}"):
            clients.append(subprocess.Popen(
                [bench, "soak-load", f"--url={url}", f"--seconds={seconds}"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        print(f"soak: {args.minutes:g} minutes against {inferd} (pid {server.pid}), "
              f"sampling every {args.sample_seconds:g} s; log {log.name}")
        print(f"{'t (s)':>7} {'RSS (MB)':>9} {'fds':>5} {'threads':>7} {'cycles':>6}")
        start = time.monotonic()
        samples, cycles, next_sample, next_cycle, loaded = [], 0, start, start, True
        while time.monotonic() - start < seconds:
            now = time.monotonic()
            if server.poll() is not None:
                failures.append(f"inferd died with {server.returncode}")
                break
            if now >= next_cycle:
                path = "/v2/repository/models/add_sub/" + ("unload" if loaded else "load")
                status, body = http(http_port, "POST", path, b"{}")
                if status != 200:
                    failures.append(f"{path}: HTTP {status} {body[:200]!r}")
                loaded = not loaded
                cycles += not loaded
                next_cycle = now + (1.0 if not loaded else args.cycle_seconds)
            if now >= next_sample:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                           timeout=10).read()
                except OSError as e:
                    failures.append(f"/metrics: {e}")
                rss, fds, threads = sample(server.pid)
                samples.append((now - start, rss, fds, threads))
                print(f"{now - start:7.0f} {rss:9.1f} {fds:5d} {threads:7d} {cycles:6d}",
                      flush=True)
                next_sample += args.sample_seconds
            time.sleep(0.05)
        for c in clients:
            out, _ = c.communicate(timeout=120)
            print(out.strip())
            if c.returncode != 0:
                failures.append(f"a client failed: {out.strip()[-300:]}")
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            if server.wait(timeout=60) != 0:
                failures.append(f"inferd exited with {server.returncode} on SIGTERM")
        else:
            failures.append(f"inferd died with {server.returncode}")
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
        if server.poll() is None:
            server.kill()

    steady = [s for s in samples if s[0] >= seconds * args.warmup_fraction]
    if len(steady) < 4:
        failures.append("too few samples after warm-up")
    else:
        slope = slope_per_hour([(t, rss) for t, rss, _, _ in steady])
        q = max(1, len(steady) // 4)
        fds = [s[2] for s in steady]
        threads = [s[3] for s in steady]
        print(f"soak: after {seconds * args.warmup_fraction:.0f} s warm-up, {len(steady)} samples: "
              f"RSS {steady[0][1]:.1f} -> {steady[-1][1]:.1f} MB (min {min(s[1] for s in steady):.1f}, "
              f"max {max(s[1] for s in steady):.1f}), slope {slope:+.2f} MB/hour "
              f"(bound {args.max_rss_slope_mb_per_hour:g}); fds {min(fds)}..{max(fds)}; "
              f"threads {min(threads)}..{max(threads)}; {cycles} unload/load cycles")
        if slope > args.max_rss_slope_mb_per_hour:
            failures.append(f"RSS grows {slope:.2f} MB/hour")
        if max(fds[-q:]) > max(fds[:q]) + args.fd_slack:
            failures.append(f"fds grow: {max(fds[:q])} -> {max(fds[-q:])}")
        if max(threads[-q:]) > max(threads[:q]) + args.thread_slack:
            failures.append(f"threads grow: {max(threads[:q])} -> {max(threads[-q:])}")
    for f in failures:
        print(f"soak: FAIL: {f}")
    if not failures:
        shutil.rmtree(work, ignore_errors=True)
        print("soak: OK")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
