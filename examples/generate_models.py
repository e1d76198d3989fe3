# SPDX-License-Identifier: Apache-2.0
"""Generates the model files of the example repository, and the small test models.

Run with Debian's Python, which sees python3-torch, python3-torchvision and python3-onnx:

  /usr/bin/python3 examples/generate_models.py                      # examples/model_repository
  /usr/bin/python3 examples/generate_models.py --test-models DIR    # small models for the tests

Nothing is downloaded: ResNet50 has torchvision's architecture and random weights (seeded, so
every run writes the same model). Files that exist already are kept, so `make serve` can run this
every time; --force rewrites them.

Example repository (`--repository`, default examples/model_repository). The ResNet50 configs are
committed in examples/resnet50/ and copied from there, so a checkout's example repository holds
only the built-in models (identity, add_sub, busy) until this script has run:
  resnet50_*/config.pbtxt              copied from examples/resnet50/<model>/config.pbtxt
  resnet50_torchscript/1/model.pt      torch.jit.trace of resnet50, input [N,3,224,224]
  resnet50_onnx/1/model.onnx           torch.onnx.export of the same module, opset 13, dynamic
                                       batch. It is the exporter's output as is, including the
                                       Identity-on-initializer nodes OpenCV 4.6 rejects: the onnx
                                       backend rewrites them when it loads the model.
  resnet50_*/reference/                input_b{1,8}.f32 and output_b{1,8}.f32: a seeded uniform
                                       [0,1) input and PyTorch's output for it, raw little-endian
                                       float32 in row-major order.

Test models (`--test-models DIR`, what the end-to-end tests load):
  small_cnn.pt, small_cnn.onnx         a 3-conv CNN with BatchNorm, input [N,3,32,32] -> [N,10];
                                       its ONNX export has the Identity-on-initializer pattern
  small_cnn_input_b{1,4}.f32           reference input; small_cnn_output_b{1,4}.f32: PyTorch's
                                       eager output for it
  add_sub.pt                           scripted forward(a, b) -> (a + b, a - b)
  throws_on_negative.pt                scripted: returns 2x, raises for any negative element
"""

import argparse
import os
import sys
import time

import numpy as np
import torch
from torch import nn

RESNET_BATCHES = (1, 8)
SMALL_CNN_BATCHES = (1, 4)


def log(message):
    print(f"generate_models: {message}", flush=True)


def write_f32(path, tensor):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.ascontiguousarray(tensor.detach().numpy(), dtype="<f4").tofile(path)


def needed(paths, force):
    return force or not all(os.path.exists(p) for p in paths)


def save_atomically(path, save):
    """Writes through a temporary name, so an interrupted run never leaves a half file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    save(tmp)
    os.replace(tmp, path)


def export_onnx(module, example, path):
    import onnx  # imported here: only the ONNX outputs need it

    def save(tmp):
        torch.onnx.export(module, example, tmp, opset_version=13, input_names=["input"],
                          output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        onnx.checker.check_model(onnx.load(tmp))

    save_atomically(path, save)


def count_identity_on_initializer(path):
    import onnx
    model = onnx.load(path)
    initializers = {i.name for i in model.graph.initializer}
    return sum(1 for n in model.graph.node
               if n.op_type == "Identity" and n.input and n.input[0] in initializers)


def install_configs(repository):
    """Copies the committed ResNet50 configs into the repository (when missing or changed)."""
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resnet50")
    for model in ("resnet50_torchscript", "resnet50_onnx"):
        with open(os.path.join(source, model, "config.pbtxt")) as f:
            text = f.read()
        target = os.path.join(repository, model, "config.pbtxt")
        if os.path.exists(target):
            with open(target) as f:
                if f.read() == text:
                    continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as f:
            f.write(text)
        log(f"installed {target}")


def generate_resnet50(repository, force):
    import torchvision
    pt = os.path.join(repository, "resnet50_torchscript", "1", "model.pt")
    onnx_path = os.path.join(repository, "resnet50_onnx", "1", "model.onnx")
    refs = []
    for model_dir in ("resnet50_torchscript", "resnet50_onnx"):
        for b in RESNET_BATCHES:
            for kind in ("input", "output"):
                refs.append(os.path.join(repository, model_dir, "reference", f"{kind}_b{b}.f32"))
    if not needed([pt, onnx_path] + refs, force):
        install_configs(repository)
        log("resnet50 model files exist; nothing to do (--force rewrites them)")
        return
    start = time.time()
    torch.manual_seed(0)
    module = torchvision.models.resnet50(weights=None).eval()
    example = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        traced = torch.jit.trace(module, example)
        save_atomically(pt, traced.save)
        log(f"wrote {pt} ({os.path.getsize(pt)} bytes)")
        export_onnx(module, example, onnx_path)
        log(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes, "
            f"{count_identity_on_initializer(onnx_path)} Identity-on-initializer nodes)")
        generator = torch.Generator().manual_seed(1)
        inputs = torch.rand(max(RESNET_BATCHES), 3, 224, 224, generator=generator)
        for b in RESNET_BATCHES:
            output = module(inputs[:b])
            for model_dir in ("resnet50_torchscript", "resnet50_onnx"):
                ref = os.path.join(repository, model_dir, "reference")
                write_f32(os.path.join(ref, f"input_b{b}.f32"), inputs[:b])
                write_f32(os.path.join(ref, f"output_b{b}.f32"), output)
    install_configs(repository)  # last: a config appears only beside its model file
    log(f"resnet50 generated in {time.time() - start:.1f} s")


class SmallCnn(nn.Module):
    """Three conv+BatchNorm blocks and a linear head: [N,3,32,32] -> [N,10]. The two BatchNorm(8)
    layers keep their initial statistics, so the ONNX exporter deduplicates their folded
    constants into an Identity on an initializer, the pattern OpenCV 4.6 cannot read."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(16, 10)
        with torch.no_grad():  # non-trivial statistics for the last BatchNorm
            bn = self.features[8]
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 1.5)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        return self.head(self.features(x))


class AddSub(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor):
        return a + b, a - b


class ThrowsOnNegative(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool((x < 0).any()):
            raise RuntimeError("inferd test model: negative input")
        return x * 2


def generate_test_models(out_dir, force):
    files = [os.path.join(out_dir, f) for f in
             ("small_cnn.pt", "small_cnn.onnx", "add_sub.pt", "throws_on_negative.pt")]
    files += [os.path.join(out_dir, f"small_cnn_{kind}_b{b}.f32")
              for b in SMALL_CNN_BATCHES for kind in ("input", "output")]
    if not needed(files, force):
        log(f"test models in {out_dir} exist; nothing to do")
        return
    start = time.time()
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    module = SmallCnn().eval()
    example = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        save_atomically(os.path.join(out_dir, "small_cnn.pt"),
                        torch.jit.trace(module, example).save)
        onnx_path = os.path.join(out_dir, "small_cnn.onnx")
        export_onnx(module, example, onnx_path)
        if count_identity_on_initializer(onnx_path) == 0:
            sys.exit("generate_models: small_cnn.onnx lacks the Identity-on-initializer pattern "
                     "the onnx backend tests rely on (has the exporter changed?)")
        generator = torch.Generator().manual_seed(1)
        inputs = torch.rand(max(SMALL_CNN_BATCHES), 3, 32, 32, generator=generator)
        for b in SMALL_CNN_BATCHES:
            write_f32(os.path.join(out_dir, f"small_cnn_input_b{b}.f32"), inputs[:b])
            write_f32(os.path.join(out_dir, f"small_cnn_output_b{b}.f32"), module(inputs[:b]))
    save_atomically(os.path.join(out_dir, "add_sub.pt"), torch.jit.script(AddSub()).save)
    save_atomically(os.path.join(out_dir, "throws_on_negative.pt"),
                    torch.jit.script(ThrowsOnNegative()).save)
    log(f"test models written to {out_dir} in {time.time() - start:.1f} s")


def generate_bench_models(out_dir, repository, force):
    """MobileNetV3-small (random weights, seeded) as TorchScript and ONNX for
    `inferd-backend-bench --compare`, beside links to the repository's ResNet50 folders. No
    configs: the bench reads the files directly."""
    import torchvision
    os.makedirs(out_dir, exist_ok=True)
    for model in ("resnet50_torchscript", "resnet50_onnx"):
        link = os.path.join(out_dir, model)
        if not os.path.exists(link):
            os.symlink(os.path.abspath(os.path.join(repository, model)), link)
    pt = os.path.join(out_dir, "mobilenet_v3_small_torchscript", "1", "model.pt")
    onnx_path = os.path.join(out_dir, "mobilenet_v3_small_onnx", "1", "model.onnx")
    if not needed([pt, onnx_path], force):
        log("bench models exist; nothing to do")
        return
    torch.manual_seed(0)
    module = torchvision.models.mobilenet_v3_small(weights=None).eval()
    example = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        save_atomically(pt, torch.jit.trace(module, example).save)
        export_onnx(module, example, onnx_path)
    log(f"wrote {pt} and {onnx_path}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repository", default=os.path.join(here, "model_repository"),
                        help="example repository to fill (default: %(default)s)")
    parser.add_argument("--test-models", metavar="DIR",
                        help="write only the small test models, into DIR")
    parser.add_argument("--bench-models", metavar="DIR",
                        help="write MobileNetV3-small for inferd-backend-bench --compare into DIR "
                             "(with links to the repository's ResNet50)")
    parser.add_argument("--force", action="store_true", help="rewrite existing files")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    if args.test_models:
        generate_test_models(args.test_models, args.force)
    elif args.bench_models:
        generate_bench_models(args.bench_models, args.repository, args.force)
    else:
        generate_resnet50(args.repository, args.force)


if __name__ == "__main__":
    main()
