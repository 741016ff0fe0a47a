#!/usr/bin/env python3
"""Loads a checkpoint written by `minidl train` into the equivalent torch.nn model and checks that
PyTorch gets the same test accuracy as `minidl eval` on the same checkpoint. Every model works: the
MLP, --model lenet and cnn, and any layer description (nn/model_spec.h's grammar, parsed here).

    /usr/bin/python3 scripts/check_checkpoint_torch.py CHECKPOINT [--data DIR] [--minidl build/minidl]

The safetensors file is read with a dozen lines of standard Python (no `safetensors` package):
an 8-byte little-endian header length, a JSON header, raw little-endian tensors. Parameters are
named like torch.nn.Sequential's state_dict ("0.weight", "1.running_mean", …); the optimizer's state
("optimizer.…") is skipped. Exit status 0 when both accuracies agree.
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NORMALIZATION = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}
DEFAULT_DIRS = {"mnist": os.path.join(ROOT, "data/mnist"), "fashion-mnist": "/usr/share/datasets/fashion-mnist"}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    dtypes = {"F32": np.float32, "I32": np.int32}
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        array = np.frombuffer(data, dtype=dtypes[t["dtype"]], count=(end - begin) // 4, offset=8 + n + begin)
        tensors[name] = torch.from_numpy(array.reshape(t["shape"]).copy())
    return tensors, meta


def read_idx(path):
    import gzip
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


# nn::named_model_spec's descriptions (nn/model_spec.cpp), the models of shared/bench/pytorch_mnist_cnn.py.
NAMED = {
    "cnn": "conv(32,3,padding=1) relu maxpool(2) conv(64,3,padding=1) relu maxpool(2) flatten linear(128) relu "
           "dropout(0.25) linear(10)",
    "lenet": "conv(6,5,padding=2) relu maxpool(2) conv(16,5) relu maxpool(2) flatten linear(120) relu linear(84) relu "
             "linear(10)",
}


def build(config):
    """The torch.nn.Sequential of a run's settings, and the shape one example is fed in."""
    model = config.get("model", "mlp")
    if model == "mlp":
        spec = " ".join(f"linear({h}) relu" for h in config["hidden"]) + " linear(10)"
    else:
        spec = NAMED.get(model, model)
    layers, shape = [], None
    for kind, arglist in re.findall(r"([a-z_0-9]+)(?:\(([^)]*)\))?", spec):
        pos, named = [], {}
        for a in filter(None, (a.strip() for a in (arglist or "").split(","))):
            if "=" in a:
                k, v = a.split("=")
                named[k.strip()] = float(v)
            else:
                pos.append(float(a))

        def arg(i, name, default=None):
            v = pos[i] if i < len(pos) else named.get(name, default)
            return int(v) if v is not None and float(v).is_integer() else v

        if shape is None:  # the input: flat rows for a model that starts with linear, else images
            shape = [784] if kind == "linear" else [1, 28, 28]
            input_shape = list(shape)
        if kind == "conv":
            out, k = arg(0, "out"), arg(1, "kernel")
            stride, pad, dil, groups = arg(2, "stride", 1), arg(3, "padding", 0), arg(4, "dilation", 1), arg(5, "groups", 1)
            layers.append(torch.nn.Conv2d(shape[0], out, k, stride, pad, dil, groups, bias=bool(arg(6, "bias", 1))))
            size = lambda n: (n + 2 * pad - dil * (k - 1) - 1) // stride + 1
            shape = [out, size(shape[1]), size(shape[2])]
        elif kind in ("maxpool", "avgpool"):
            k = arg(0, "kernel")
            stride, pad = arg(1, "stride", k), arg(2, "padding", 0)
            layers.append((torch.nn.MaxPool2d if kind == "maxpool" else torch.nn.AvgPool2d)(k, stride, pad))
            size = lambda n: (n + 2 * pad - k) // stride + 1
            shape = [shape[0], size(shape[1]), size(shape[2])]
        elif kind == "batchnorm":
            eps, momentum = arg(0, "eps", 1e-5), arg(1, "momentum", 0.1)
            layers.append((torch.nn.BatchNorm2d if len(shape) == 3 else torch.nn.BatchNorm1d)(shape[0], eps, momentum))
        elif kind == "dropout":
            layers.append(torch.nn.Dropout(arg(0, "p", 0.5)))
        elif kind == "flatten":
            layers.append(torch.nn.Flatten())
            shape = [int(np.prod(shape))]
        elif kind == "linear":
            layers.append(torch.nn.Linear(shape[0], arg(0, "out"), bias=bool(arg(1, "bias", 1))))
            shape = [arg(0, "out")]
        else:
            layers.append({"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh}[kind]())
    return torch.nn.Sequential(*layers), input_shape


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--data", help="dataset directory (default: the checkpoint dataset's)")
    ap.add_argument("--minidl", default=os.path.join(ROOT, "build/minidl"), help="the minidl program")
    args = ap.parse_args()

    tensors, meta = read_safetensors(args.checkpoint)
    config = json.loads(meta["config"])
    model, input_shape = build(config)
    model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("optimizer.")})
    model.eval()

    data_dir = args.data or DEFAULT_DIRS[config["dataset"]]
    mean, std = NORMALIZATION[config["dataset"]]
    x = read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / np.float32(255)
    x = torch.from_numpy((x - np.float32(mean)) / np.float32(std))
    y = torch.from_numpy(read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte")).astype(np.int64))
    with torch.no_grad():
        correct = int((model(x.reshape([-1] + input_shape)).argmax(1) == y).sum())
    print(f"torch {torch.__version__}: {correct}/{len(y)} correct, accuracy {100 * correct / len(y):.2f}%")

    cmd = [args.minidl, "eval", "--checkpoint", args.checkpoint] + (["--data", args.data] if args.data else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    minidl_correct = int(re.search(r"\((\d+) correct\)", out).group(1))
    print(f"minidl eval: {minidl_correct}/{len(y)} correct")
    if minidl_correct != correct:
        print("MISMATCH", file=sys.stderr)
        return 1
    print("same accuracy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
