#!/usr/bin/env python3
"""Loads a checkpoint written by `minidl train` into the equivalent torch.nn model and checks that
PyTorch gets the same test accuracy as `minidl eval` on the same checkpoint.

    /usr/bin/python3 scripts/check_checkpoint_torch.py CHECKPOINT [--data DIR] [--minidl build/minidl]

The safetensors file is read with a dozen lines of standard Python (no `safetensors` package):
an 8-byte little-endian header length, a JSON header, raw little-endian tensors. Parameters are
named like torch.nn.Sequential's state_dict ("0.weight", …); the optimizer's state ("optimizer.…")
is skipped. Exit status 0 when both accuracies agree.
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--data", help="dataset directory (default: the checkpoint dataset's)")
    ap.add_argument("--minidl", default=os.path.join(ROOT, "build/minidl"), help="the minidl program")
    args = ap.parse_args()

    tensors, meta = read_safetensors(args.checkpoint)
    config = json.loads(meta["config"])
    dims = [784] + config["hidden"] + [10]
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("optimizer.")})
    model.eval()

    data_dir = args.data or DEFAULT_DIRS[config["dataset"]]
    mean, std = NORMALIZATION[config["dataset"]]
    x = read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / np.float32(255)
    x = torch.from_numpy((x - np.float32(mean)) / np.float32(std))
    y = torch.from_numpy(read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte")).astype(np.int64))
    with torch.no_grad():
        correct = int((model(x).argmax(1) == y).sum())
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
