#!/usr/bin/python3
"""Plots what `minidl compare` (or `minidl train --metrics/--telemetry`) wrote: run from a directory
of CSVs named <optimizer>-seed<k>.csv, one line per optimizer, averaged over seeds.

  loss.png        training loss per step (moving average over --smooth logged points)
  accuracy.png    test accuracy per epoch
  telemetry.png   when <optimizer>-seed<k>.telemetry.jsonl exist: ‖g‖, cos(g, buffer) and ‖Δθ‖/‖θ‖ per step

Usage: /usr/bin/python3 scripts/plot_metrics.py DIR [--smooth 10]   (needs python3-matplotlib)
"""
import argparse
import csv
import glob
import json
import os
import re
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("dir")
ap.add_argument("--smooth", type=int, default=10)
args = ap.parse_args()


def optimizer_of(path):
    name = os.path.basename(path)
    return re.sub(r"-seed\d+.*$", "", name.split(".")[0])


def mean_curves(curves):
    """Pointwise mean of curves (lists of (x, y)), over the x's all of them have."""
    by_x = defaultdict(list)
    for c in curves:
        for x, y in c:
            by_x[x].append(y)
    xs = sorted(x for x, ys in by_x.items() if len(ys) == len(curves))
    return xs, [sum(by_x[x]) / len(by_x[x]) for x in xs]


def smooth(ys, k):
    out, acc = [], []
    for y in ys:
        acc.append(y)
        if len(acc) > k:
            acc.pop(0)
        out.append(sum(acc) / len(acc))
    return out


steps, epochs = defaultdict(list), defaultdict(list)
for path in sorted(glob.glob(os.path.join(args.dir, "*.csv"))):
    s, e = [], []
    with open(path) as f:
        for row in csv.DictReader(f):
            if row["kind"] == "step":
                s.append((int(row["step"]), float(row["train_loss"])))
            elif row["kind"] == "epoch":
                e.append((int(row["epoch"]), 100 * float(row["test_accuracy"])))
    steps[optimizer_of(path)].append(s)
    epochs[optimizer_of(path)].append(e)
if not steps:
    raise SystemExit(f"plot_metrics: no CSVs in {args.dir}")

fig, ax = plt.subplots(figsize=(7, 4))
for name, curves in steps.items():
    xs, ys = mean_curves(curves)
    ax.plot(xs, smooth(ys, args.smooth), label=f"{name} ({len(curves)} seeds)")
ax.set_xlabel("step")
ax.set_ylabel("training loss (smoothed)")
ax.set_yscale("log")
ax.legend()
ax.set_title("training loss per step")
fig.tight_layout()
fig.savefig(os.path.join(args.dir, "loss.png"), dpi=110)

fig, ax = plt.subplots(figsize=(7, 4))
for name, curves in epochs.items():
    xs, ys = mean_curves(curves)
    ax.plot(xs, ys, marker="o", label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("test accuracy (%)")
ax.legend()
ax.set_title("test accuracy per epoch (mean over seeds)")
fig.tight_layout()
fig.savefig(os.path.join(args.dir, "accuracy.png"), dpi=110)

telemetry = sorted(glob.glob(os.path.join(args.dir, "*.telemetry.jsonl")))
if telemetry:
    fig, axes = plt.subplots(3, 1, figsize=(7, 8), sharex=True)
    seen = set()
    for path in telemetry:
        name = optimizer_of(path)
        if name in seen:  # the first seed of each optimizer is enough to see the shape
            continue
        seen.add(name)
        rows = [json.loads(line) for line in open(path) if line.strip()]
        rows = [r for r in rows if r["group"] == 0]
        x = [r["step"] for r in rows]
        axes[0].plot(x, smooth([r["grad_norm"] for r in rows], args.smooth), label=name)
        cos = [r["cos_grad_buffer"] for r in rows]
        if any(c is not None for c in cos):
            axes[1].plot(x, smooth([c if c is not None else 0.0 for c in cos], args.smooth), label=name)
        axes[2].plot(x, smooth([r["update_ratio"] for r in rows], args.smooth), label=name)
    axes[0].set_ylabel("‖g‖")
    axes[1].set_ylabel("cos(g, buffer)")
    axes[2].set_ylabel("‖Δθ‖ / ‖θ‖")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("step")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(os.path.join(args.dir, "telemetry.png"), dpi=110)
print(f"plot_metrics: wrote {args.dir}/loss.png, accuracy.png" + (", telemetry.png" if telemetry else ""))
