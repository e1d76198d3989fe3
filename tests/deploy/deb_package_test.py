#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The Debian packages (issue 21): builds them with scripts/make_deb.sh from the build tree and
asserts what a user installing them gets: the binaries, plugins and unit file where they belong,
libtorch only in inferd-backends-ml, no build paths or search paths outside the package, the packaged server
starting from its packaged layout, and lintian reporting no errors.

Usage: deb_package_test.py --build BUILD_DIR --source SOURCE_DIR
"""
import argparse
import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ARGS = None
VERSION_RE = re.compile(r"^project\(inferd VERSION ([0-9.]+)", re.M)

INFERD_FILES = [
    "usr/bin/inferd",
    "usr/bin/inferd-top",
    "usr/lib/inferd/bin/inferd",
    "usr/lib/inferd/bin/inferd-top",
    "usr/lib/inferd/backends/libinferd_backend_builtin.so",
    "usr/lib/inferd/backends/libinferd_backend_onnxruntime.so",
    "usr/lib/inferd/backends/libonnxruntime.so.1.20.1",
    "lib/systemd/system/inferd.service",
    "etc/default/inferd",
    "usr/share/doc/inferd/copyright",
    "usr/share/doc/inferd/changelog.gz",
    "usr/share/inferd/examples/model_repository/identity/config.pbtxt",
]
ML_FILES = [
    "usr/lib/inferd/backends/libinferd_backend_torchscript.so",
    "usr/lib/inferd/backends/libinferd_backend_opencv_dnn.so",
    "usr/share/doc/inferd-backends-ml/copyright",
]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


class DebPackages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(ARGS.source, "CMakeLists.txt")) as f:
            cls.version = VERSION_RE.search(f.read()).group(1)
        cls.tmp = tempfile.mkdtemp(prefix="inferd_deb_test_")
        env = dict(os.environ, INFERD_DEB_COMPRESSION="-Zgzip -z1")
        built = run([os.path.join(ARGS.source, "scripts/make_deb.sh"), ARGS.build, cls.tmp],
                    env=env)
        if built.returncode != 0:
            raise RuntimeError(f"make_deb.sh failed:\n{built.stdout}{built.stderr}")
        cls.debs = {p: os.path.join(cls.tmp, f"{p}_{cls.version}_amd64.deb")
                    for p in ("inferd", "inferd-backends-ml")}
        cls.root = os.path.join(cls.tmp, "root")
        for deb in cls.debs.values():
            subprocess.run(["dpkg-deb", "-x", deb, cls.root], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def field(self, package, name):
        return run(["dpkg-deb", "-f", self.debs[package], name]).stdout.strip()

    def contents(self, package):
        listing = run(["dpkg-deb", "-c", self.debs[package]]).stdout
        return {line.split()[5].removeprefix("./") for line in listing.splitlines()}

    def test_file_names_carry_the_version(self):
        for package, deb in self.debs.items():
            self.assertTrue(os.path.isfile(deb), deb)
            self.assertEqual(self.field(package, "Version"), self.version)
            self.assertEqual(self.field(package, "Architecture"), "amd64")

    def test_inferd_holds_the_server_and_the_non_ml_plugins(self):
        files = self.contents("inferd")
        for f in INFERD_FILES:
            self.assertIn(f, files)
        self.assertFalse([f for f in files if "torchscript" in f or "opencv" in f])

    def test_ml_plugins_are_a_separate_package(self):
        files = self.contents("inferd-backends-ml")
        for f in ML_FILES:
            self.assertIn(f, files)
        self.assertFalse([f for f in files if f.startswith("usr/bin/")])

    def test_a_plain_server_does_not_pull_libtorch(self):
        depends = self.field("inferd", "Depends")
        self.assertNotRegex(depends, r"libtorch|libopencv")
        self.assertRegex(depends, r"libgrpc\+\+1\.51")  # From dpkg-shlibdeps, not a hand list.
        self.assertIn("adduser", depends)
        self.assertIn("inferd-backends-ml", self.field("inferd", "Suggests"))
        ml = self.field("inferd-backends-ml", "Depends")
        self.assertRegex(ml, r"libtorch1\.13")
        self.assertRegex(ml, r"libopencv-dnn406")
        self.assertIn(f"inferd (= {self.version})", ml)

    def test_no_build_paths_and_no_search_path_outside_the_package(self):
        needles = [os.path.realpath(ARGS.build).encode(), os.path.realpath(ARGS.source).encode(),
                   b"/work/", b"/tmp/"]
        checked = 0
        for dirpath, _, names in os.walk(self.root):
            for name in names:
                path = os.path.join(dirpath, name)
                if os.path.islink(path):
                    continue
                with open(path, "rb") as f:
                    data = f.read()
                for needle in needles:
                    self.assertNotIn(needle, data, f"{path} contains {needle!r}")
                if data[:4] == b"\x7fELF":
                    # No search path into the build tree: none, or $ORIGIN-relative (ONNX
                    # Runtime's own library carries $ORIGIN).
                    dynamic = run(["readelf", "-d", path]).stdout
                    for paths in re.findall(r"R(?:UN)?PATH\).*\[(.*)\]", dynamic):
                        for entry in paths.split(":"):
                            self.assertTrue(entry.startswith("$ORIGIN"), f"{path}: {entry}")
                    sections = run(["readelf", "-S", path]).stdout
                    self.assertNotIn(".debug_info", sections, f"{path} is not stripped")
                checked += 1
        self.assertGreater(checked, 10)

    def test_systemd_unit(self):
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.optionxform = str
        unit.read(os.path.join(self.root, "lib/systemd/system/inferd.service"))
        service = unit["Service"]
        self.assertEqual(service["ExecStart"], "/usr/bin/inferd")
        self.assertEqual(service["User"], "inferd")
        self.assertEqual(service["Restart"], "on-failure")
        self.assertEqual(service["KillSignal"], "SIGTERM")
        self.assertEqual(service["EnvironmentFile"], "-/etc/default/inferd")
        # The stop timeout covers the drain: delay + exit timeout, as the packaged binary and its
        # /etc/default/inferd configure them.
        settings = self.packaged_settings()
        drain = int(settings["INFERD_DRAIN_DELAY_SECS"]) + int(settings["INFERD_EXIT_TIMEOUT_SECS"])
        self.assertGreater(int(service["TimeoutStopSec"]), drain)
        self.assertEqual(unit["Install"]["WantedBy"], "multi-user.target")
        conffiles = run(["dpkg-deb", "-I", self.debs["inferd"], "conffiles"]).stdout
        self.assertIn("/etc/default/inferd", conffiles)
        postinst = run(["dpkg-deb", "-I", self.debs["inferd"], "postinst"]).stdout
        self.assertIn("adduser --system", postinst)

    def packaged_settings(self):
        env = {"PATH": "/usr/bin:/bin"}
        with open(os.path.join(self.root, "etc/default/inferd")) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    k, v = line.split("=", 1)
                    env[k] = v
        out = run([os.path.join(self.root, "usr/lib/inferd/bin/inferd"), "--print-config"],
                  env=env)
        self.assertEqual(out.returncode, 0, out.stderr)
        return dict(l.split("=", 1) for l in out.stdout.splitlines() if "=" in l)

    def serve(self, repo):
        """Starts the packaged server through the /usr/bin symlink, as systemd does; its log up to
        readiness (or failure). The plugins must be found next to the real executable
        (../backends), ONNX Runtime's library next to its plugin."""
        binary = os.path.join(self.root, "usr/bin/inferd")
        proc = subprocess.Popen([binary, f"--model-repository={repo}", "--http-port=0",
                                 "--grpc-port=0", "--metrics-port=0"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output = ""
        try:
            for line in proc.stdout:
                output += line
                if "inferd ready" in line or "failed to start" in line:
                    break
        finally:
            proc.terminate()
            rest, _ = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, output + rest)
        return output

    def test_packaged_server_serves_the_packaged_examples(self):
        output = self.serve(os.path.join(self.root, "usr/share/inferd/examples/model_repository"))
        self.assertIn("3 model version(s) loaded", output)

    def test_packaged_server_runs_onnx_models_with_the_packaged_onnx_runtime(self):
        model = os.path.join(ARGS.build, "test_models", "small_cnn.onnx")
        if not os.path.isfile(model):
            self.skipTest(f"{model} is not built")
        repo = os.path.join(self.tmp, "onnx_repo")
        os.makedirs(os.path.join(repo, "small_cnn", "1"), exist_ok=True)
        shutil.copy(model, os.path.join(repo, "small_cnn", "1", "model.onnx"))
        output = self.serve(repo)  # No config.pbtxt: completed from the model, onnxruntime.
        self.assertIn("1 model version(s) loaded", output)

    def test_lintian_reports_no_errors(self):
        if shutil.which("lintian") is None:
            self.fail("lintian is missing (scripts/packages.txt; make deps)")
        out = run(["lintian", "--fail-on", "error", "--tag-display-limit", "0",
                   *self.debs.values()])
        errors = [l for l in out.stdout.splitlines() if l.startswith("E:")]
        self.assertEqual(errors, [], out.stdout)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True)
    parser.add_argument("--source", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
