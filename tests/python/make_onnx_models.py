# SPDX-License-Identifier: Apache-2.0
"""Writes the model repository the onnxruntime backend tests serve (run at build time):

  /usr/bin/python3 tests/python/make_onnx_models.py OUT_DIR

Random weights, seeded; torch.onnx.export (opset 14) of torchvision and PyTorch modules, and
graphs written with onnx.helper for the datatype tests. Each PyTorch module is also traced to
TorchScript as <name>_torchscript (platform pytorch_libtorch), checked against the same reference. Each model folder holds config.pbtxt,
1/model.onnx and reference/: inputs and PyTorch's outputs as raw little-endian files (BYTES in
the KServe layout: 4-byte length, then the bytes), listed in reference/tensors.txt, one line each:

  input  NAME DATATYPE D0,D1,... FILE
  output NAME DATATYPE D0,D1,... FILE ATOL RTOL

An output matches when |got - want| <= ATOL + RTOL * |want| element-wise (exact for integers,
BOOL and BYTES). Files that exist are kept unless --force.
"""

import argparse
import os
import struct
import sys
import time

import numpy as np
import torch
from torch import nn

OPSET = 14

NP_TYPES = {
    "FP32": "<f4", "FP64": "<f8", "FP16": "<f2", "INT8": "i1", "INT16": "<i2", "INT32": "<i4",
    "INT64": "<i8", "UINT8": "u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8",
    "BOOL": "?",
}
CONFIG_TYPES = {
    "FP32": "TYPE_FP32", "FP64": "TYPE_FP64", "FP16": "TYPE_FP16", "BF16": "TYPE_BF16",
    "INT8": "TYPE_INT8", "INT16": "TYPE_INT16", "INT32": "TYPE_INT32", "INT64": "TYPE_INT64",
    "UINT8": "TYPE_UINT8", "UINT16": "TYPE_UINT16", "UINT32": "TYPE_UINT32",
    "UINT64": "TYPE_UINT64", "BOOL": "TYPE_BOOL", "BYTES": "TYPE_STRING",
}


def log(message):
    print(f"make_onnx_models: {message}", flush=True)


class Model:
    """One model folder being written."""

    def __init__(self, root, name):
        self.dir = os.path.join(root, name)
        self.name = name
        self.lines = []
        os.makedirs(os.path.join(self.dir, "1"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "reference"), exist_ok=True)

    @property
    def onnx_path(self):
        return os.path.join(self.dir, "1", "model.onnx")

    def tensor(self, kind, name, datatype, array, atol=0.0, rtol=0.0):
        filename = f"{kind}_{name}.bin"
        path = os.path.join(self.dir, "reference", filename)
        if datatype == "BYTES":
            with open(path, "wb") as f:
                for item in np.asarray(array, dtype=object).reshape(-1):
                    data = item if isinstance(item, bytes) else str(item).encode()
                    f.write(struct.pack("<I", len(data)) + data)
            shape = np.asarray(array, dtype=object).shape
        elif datatype == "BF16":
            # bfloat16 bits: the upper half of the float32 (array holds them as uint16)
            np.ascontiguousarray(array, dtype="<u2").tofile(path)
            shape = array.shape
        else:
            np.ascontiguousarray(array, dtype=NP_TYPES[datatype]).tofile(path)
            shape = array.shape
        dims = ",".join(str(d) for d in shape) if len(shape) else "scalar"
        line = f"{kind} {name} {datatype} {dims} {filename}"
        if kind == "output":
            line += f" {atol} {rtol}"
        self.lines.append(line)

    def finish(self, config):
        with open(os.path.join(self.dir, "reference", "tensors.txt"), "w") as f:
            f.write("\n".join(self.lines) + "\n")
        # the config last: a folder with a config is complete
        with open(os.path.join(self.dir, "config.pbtxt"), "w") as f:
            f.write(f'name: "{self.name}"\n' + config)


def write_torchscript(root, name, module, example, config):
    """The same module traced to TorchScript, as <name>_torchscript (platform pytorch_libtorch,
    the config's tensors), checked against the same reference files."""
    folder = os.path.join(root, f"{name}_torchscript")
    os.makedirs(os.path.join(folder, "1"), exist_ok=True)
    path = os.path.join(folder, "1", "model.pt")
    with torch.no_grad():
        traced = torch.jit.trace(module, example, check_trace=False)
    tmp = f"{path}.tmp{os.getpid()}"
    traced.save(tmp)
    os.replace(tmp, path)
    with open(os.path.join(folder, "config.pbtxt"), "w") as f:
        f.write(f'name: "{name}_torchscript"\nplatform: "pytorch_libtorch"\n' + config)


def io_config(kind, name, datatype, dims):
    return (f'{kind} [ {{ name: "{name}" data_type: {CONFIG_TYPES[datatype]} '
            f'dims: [ {", ".join(str(d) for d in dims)} ] }} ]\n')


def export(module, args, path, input_names, output_names, dynamic_axes):
    import onnx
    tmp = f"{path}.tmp{os.getpid()}"
    torch.onnx.export(module, args, tmp, opset_version=OPSET, input_names=input_names,
                      output_names=output_names, dynamic_axes=dynamic_axes)
    onnx.checker.check_model(onnx.load(tmp))
    os.replace(tmp, path)


def image_classifier(root, name, build, size, batch=2):
    m = Model(root, name)
    torch.manual_seed(0)
    module = build().eval()
    x = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        export(module, (x[:1],), m.onnx_path, ["input"], ["output"],
               {"input": {0: "batch"}, "output": {0: "batch"}})
        y = module(x)
    m.tensor("input", "input", "FP32", x.numpy())
    m.tensor("output", "output", "FP32", y.numpy(), atol=1e-4, rtol=1e-3)
    tensors = (io_config("input", "input", "FP32", [3, size, size]) +
               io_config("output", "output", "FP32", [1000]))
    m.finish('platform: "onnxruntime_onnx"\nmax_batch_size: 8\n' + tensors)
    write_torchscript(root, name, module, (x[:1],), "max_batch_size: 8\n" + tensors)


class Encoder(nn.Module):
    """Token embedding + 2-layer transformer encoder; the attention mask (1 = token, 0 = padding)
    becomes the key padding mask."""

    def __init__(self, vocab=100, d_model=32):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=64, dropout=0.0,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)

    def forward(self, input_ids, attention_mask):
        return self.encoder(self.embed(input_ids), src_key_padding_mask=attention_mask == 0)


def transformer(root):
    m = Model(root, "transformer_encoder")
    torch.manual_seed(0)
    module = Encoder().eval()
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 100, (2, 7), generator=g)
    mask = torch.ones(2, 7, dtype=torch.int64)
    mask[1, 5:] = 0
    # Exported with another sequence length than the reference's: the axis is dynamic.
    export(module, (ids[:, :5], mask[:, :5]), m.onnx_path, ["input_ids", "attention_mask"],
           ["hidden"], {"input_ids": {0: "batch", 1: "seq"},
                        "attention_mask": {0: "batch", 1: "seq"},
                        "hidden": {0: "batch", 1: "seq"}})
    with torch.no_grad():
        y = module(ids, mask)
    m.tensor("input", "input_ids", "INT64", ids.numpy())
    m.tensor("input", "attention_mask", "INT64", mask.numpy())
    m.tensor("output", "hidden", "FP32", y.numpy(), atol=1e-4, rtol=1e-3)
    tensors = ('input [ { name: "input_ids" data_type: TYPE_INT64 dims: [ -1 ] },\n'
               '        { name: "attention_mask" data_type: TYPE_INT64 dims: [ -1 ] } ]\n' +
               io_config("output", "hidden", "FP32", [-1, 32]))
    m.finish('platform: "onnxruntime_onnx"\nmax_batch_size: 4\n' + tensors)
    write_torchscript(root, "transformer_encoder", module, (ids, mask),
                      "max_batch_size: 4\n" + tensors)


class Lstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, num_layers=1, batch_first=True)
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out)


def lstm(root):
    m = Model(root, "lstm")
    torch.manual_seed(0)
    module = Lstm().eval()
    x = torch.rand(2, 6, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        export(module, (x[:, :3],), m.onnx_path, ["sequence"], ["scores"],
               {"sequence": {0: "batch", 1: "time"}, "scores": {0: "batch", 1: "time"}})
        y = module(x)
    m.tensor("input", "sequence", "FP32", x.numpy())
    m.tensor("output", "scores", "FP32", y.numpy(), atol=1e-5, rtol=1e-4)
    tensors = (io_config("input", "sequence", "FP32", [-1, 8]) +
               io_config("output", "scores", "FP32", [-1, 4]))
    m.finish('platform: "onnxruntime_onnx"\nmax_batch_size: 4\n' + tensors)
    write_torchscript(root, "lstm", module, (x,), "max_batch_size: 4\n" + tensors)


class HalfMlp(nn.Module):
    """FP16 in and out; computes in FP32 (ONNX Runtime's CPU kernels for FP16 are few)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 8)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x.float()))).half()


def fp16(root):
    m = Model(root, "fp16_mlp")
    torch.manual_seed(0)
    module = HalfMlp().eval()
    x = torch.rand(3, 16, generator=torch.Generator().manual_seed(1)).half()
    with torch.no_grad():
        export(module, (x[:1],), m.onnx_path, ["x"], ["y"], {"x": {0: "batch"}, "y": {0: "batch"}})
        y = module(x)
    m.tensor("input", "x", "FP16", x.numpy())
    # one FP16 rounding step of the output
    m.tensor("output", "y", "FP16", y.numpy(), atol=1e-3, rtol=1e-3)
    tensors = io_config("input", "x", "FP16", [16]) + io_config("output", "y", "FP16", [8])
    m.finish('platform: "onnxruntime_onnx"\nmax_batch_size: 8\n' + tensors)
    write_torchscript(root, "fp16_mlp", module, (x,), "max_batch_size: 8\n" + tensors)


class Int8Linear(nn.Module):
    """INT8 input (a quantized feature vector), dequantized by a scale, then a linear layer."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(12, 5)

    def forward(self, q):
        return self.fc(q.float() * 0.05)


def int8(root):
    m = Model(root, "int8_input")
    torch.manual_seed(0)
    module = Int8Linear().eval()
    q = torch.randint(-128, 128, (2, 12), dtype=torch.int8,
                      generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        export(module, (q[:1],), m.onnx_path, ["q"], ["y"], {"q": {0: "batch"}, "y": {0: "batch"}})
        y = module(q)
    m.tensor("input", "q", "INT8", q.numpy())
    m.tensor("output", "y", "FP32", y.numpy(), atol=1e-5, rtol=1e-5)
    tensors = io_config("input", "q", "INT8", [12]) + io_config("output", "y", "FP32", [5])
    m.finish('platform: "onnxruntime_onnx"\nmax_batch_size: 8\n' + tensors)
    write_torchscript(root, "int8_input", module, (q,), "max_batch_size: 8\n" + tensors)


class TwoByTwo(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(6, 3))

    def forward(self, a, b):
        return a + b, (a * b) @ self.w


def two_in_two_out(root):
    m = Model(root, "two_in_two_out")
    torch.manual_seed(0)
    module = TwoByTwo().eval()
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(2, 6, generator=g), torch.rand(2, 6, generator=g)
    with torch.no_grad():
        export(module, (a[:1], b[:1]), m.onnx_path, ["a", "b"], ["sum", "projection"],
               {n: {0: "batch"} for n in ("a", "b", "sum", "projection")})
        s, p = module(a, b)
    m.tensor("input", "a", "FP32", a.numpy())
    m.tensor("input", "b", "FP32", b.numpy())
    m.tensor("output", "sum", "FP32", s.numpy(), atol=1e-6, rtol=1e-6)
    m.tensor("output", "projection", "FP32", p.numpy(), atol=1e-5, rtol=1e-5)
    tensors = ('input [ { name: "a" data_type: TYPE_FP32 dims: [ 6 ] },\n'
               '        { name: "b" data_type: TYPE_FP32 dims: [ 6 ] } ]\n'
               'output [ { name: "sum" data_type: TYPE_FP32 dims: [ 6 ] },\n'
               '         { name: "projection" data_type: TYPE_FP32 dims: [ 3 ] } ]\n')
    m.finish('platform: "onnxruntime_onnx"\nmax_batch_size: 8\n' + tensors)
    write_torchscript(root, "two_in_two_out", module, (a, b), "max_batch_size: 8\n" + tensors)


ALL_TYPES = ["FP32", "FP64", "FP16", "BF16", "INT8", "INT16", "INT32", "INT64", "UINT8",
             "UINT16", "UINT32", "UINT64", "BOOL", "BYTES"]


def all_types(root):
    """One Identity per datatype, [N,3] in and out, batched: each type through the runtime both
    ways. Written with onnx.helper (the exporter has no unsigned or string tensors)."""
    import onnx
    from onnx import TensorProto, helper
    onnx_types = {
        "FP32": TensorProto.FLOAT, "FP64": TensorProto.DOUBLE, "FP16": TensorProto.FLOAT16,
        "BF16": TensorProto.BFLOAT16, "INT8": TensorProto.INT8, "INT16": TensorProto.INT16,
        "INT32": TensorProto.INT32, "INT64": TensorProto.INT64, "UINT8": TensorProto.UINT8,
        "UINT16": TensorProto.UINT16, "UINT32": TensorProto.UINT32,
        "UINT64": TensorProto.UINT64, "BOOL": TensorProto.BOOL, "BYTES": TensorProto.STRING,
    }
    m = Model(root, "all_types")
    nodes, inputs, outputs, config_in, config_out = [], [], [], [], []
    rng = np.random.default_rng(1)
    for t in ALL_TYPES:
        i, o = f"in_{t.lower()}", f"out_{t.lower()}"
        nodes.append(helper.make_node("Identity", [i], [o]))
        inputs.append(helper.make_tensor_value_info(i, onnx_types[t], ["batch", 3]))
        outputs.append(helper.make_tensor_value_info(o, onnx_types[t], ["batch", 3]))
        config_in.append(f'{{ name: "{i}" data_type: {CONFIG_TYPES[t]} dims: [ 3 ] }}')
        config_out.append(f'{{ name: "{o}" data_type: {CONFIG_TYPES[t]} dims: [ 3 ] }}')
        if t == "BYTES":
            value = np.array([[b"a", b"", b"inferd"], [b"\xc3\xa9t\xc3\xa9", b"x y", b"42"]],
                             dtype=object)
        elif t == "BF16":
            value = (np.array([[1.5, -2.0, 0.0], [3.25, 1e3, -0.125]], dtype="<f4")
                     .view("<u4") >> 16).astype("<u2")
        elif t == "BOOL":
            value = np.array([[True, False, True], [False, False, True]])
        elif t.startswith("FP"):
            value = rng.standard_normal((2, 3)).astype(NP_TYPES[t])
        else:
            info = np.iinfo(NP_TYPES[t])
            value = np.array([[info.min, 0, info.max], [1, info.max - 1, 7]], dtype=NP_TYPES[t])
        m.tensor("input", i, t, value)
        m.tensor("output", o, t, value)
    graph = helper.make_graph(nodes, "all_types", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="inferd tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, m.onnx_path)
    m.finish('backend: "onnxruntime"\nmax_batch_size: 4\n'
             f'input [ {", ".join(config_in)} ]\noutput [ {", ".join(config_out)} ]\n')


GENERATORS = {
    "mobilenet_v3_small": lambda root: image_classifier(
        root, "mobilenet_v3_small", lambda: __import__("torchvision").models.mobilenet_v3_small(),
        224),
    "efficientnet_b0": lambda root: image_classifier(
        root, "efficientnet_b0", lambda: __import__("torchvision").models.efficientnet_b0(), 224),
    "transformer_encoder": transformer,
    "lstm": lstm,
    "fp16_mlp": fp16,
    "int8_input": int8,
    "two_in_two_out": two_in_two_out,
    "all_types": all_types,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--only", nargs="*", help="models to write (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    for name, generate in GENERATORS.items():
        if args.only and name not in args.only:
            continue
        if not args.force and os.path.exists(os.path.join(args.out_dir, name, "config.pbtxt")):
            continue
        start = time.time()
        generate(args.out_dir)
        log(f"{name} written in {time.time() - start:.1f} s")
    with open(os.path.join(args.out_dir, ".complete"), "w") as f:
        f.write("\n".join(GENERATORS) + "\n")


if __name__ == "__main__":
    sys.exit(main())
