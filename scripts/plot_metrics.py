#!/usr/bin/python3
"""Plots what `minidl compare` (or `minidl train --metrics/--telemetry`) wrote: run from a directory
of CSVs named <optimizer>-seed<k>.csv, one line per optimizer, averaged over seeds. The HTML report
(`--report FILE.html` on train, compare and sweep; `minidl report`) shows all of this and more, with
values on hover; this script stays for PNGs to paste elsewhere.

  loss.png        training loss per step (a centred average over 2·--smooth+1 logged points, its
                  window shrinking evenly at both ends: no lag and no start-up artefact)
  accuracy.png    test accuracy per epoch; after a single epoch, a bar per optimizer with its value
  telemetry.png   when telemetry JSONL files are there (any name ending .jsonl, as compare or
                  `train --telemetry` wrote them): ‖g‖, cos(g, buffer) and ‖Δθ‖/‖θ‖ per step; a step
                  without a cosine (the first: no buffer yet) is a gap, not 0

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
ap.add_argument("--to", help="where to write the PNGs (default: DIR); minidl compare draws into a private "
                "directory and publishes them under its output policy")
args = ap.parse_args()
out_dir = args.to or args.dir


def optimizer_of(path):
    name = os.path.basename(path)
    return re.sub(r"-seed\d+.*$", "", name.split(".")[0])


def is_telemetry(path):
    """A JSONL file whose first line is a telemetry record (step, group), whatever its name."""
    try:
        with open(path) as f:
            first = json.loads(f.readline())
        return isinstance(first, dict) and "step" in first and "group" in first
    except (OSError, ValueError):
        return False


def mean_curves(curves):
    """Pointwise mean of curves (lists of (x, y)), over the x's all of them have."""
    by_x = defaultdict(list)
    for c in curves:
        for x, y in c:
            by_x[x].append(y)
    xs = sorted(x for x, ys in by_x.items() if len(ys) == len(curves))
    return xs, [sum(by_x[x]) / len(by_x[x]) for x in xs]


def smooth(ys, k):
    """Centred mean over up to k points each side; near the ends the window shrinks to the same
    width on both sides (a trailing window would carry the first, high losses for k points and draw
    a false drop when they leave it). NaN (undefined) points are skipped, and stay NaN."""
    out = []
    for i, y in enumerate(ys):
        h = min(k, i, len(ys) - 1 - i)
        window = [v for v in ys[i - h:i + h + 1] if v == v]
        out.append(sum(window) / len(window) if window and y == y else float("nan"))
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
fig.savefig(os.path.join(out_dir, "loss.png"), dpi=110)

fig, ax = plt.subplots(figsize=(7, 4))
if max(len(c) for curves in epochs.values() for c in curves) > 1:
    for name, curves in epochs.items():
        xs, ys = mean_curves(curves)
        ax.plot(xs, ys, marker="o", label=name)
    ax.set_xlabel("epoch")
    ax.legend()
    ax.set_title("test accuracy per epoch (mean over seeds)")
else:  # one epoch, one evaluation: a curve of one point says nothing, a bar with its value does
    names = list(epochs)
    values = [mean_curves(epochs[n])[1][0] if mean_curves(epochs[n])[1] else float("nan") for n in names]
    bars = ax.bar(names, values)
    ax.bar_label(bars, labels=[f"{v:.2f}%" for v in values])
    low = min(v for v in values if v == v) if any(v == v for v in values) else 0
    ax.set_ylim(max(0, low - 2), 100)
    ax.set_title("test accuracy after the one epoch (mean over seeds)")
ax.set_ylabel("test accuracy (%)")
fig.tight_layout()
fig.savefig(os.path.join(out_dir, "accuracy.png"), dpi=110)

telemetry = [p for p in sorted(glob.glob(os.path.join(args.dir, "*.jsonl"))) if is_telemetry(p)]
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
        cos = [r.get("cos_grad_buffer") for r in rows]
        if any(c is not None for c in cos):
            axes[1].plot(x, smooth([c if c is not None else float("nan") for c in cos], args.smooth), label=name)
        axes[2].plot(x, smooth([r["update_ratio"] for r in rows], args.smooth), label=name)
    axes[0].set_ylabel("‖g‖")
    axes[1].set_ylabel("cos(g, buffer)")
    axes[2].set_ylabel("‖Δθ‖ / ‖θ‖")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("step")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "telemetry.png"), dpi=110)
print(f"plot_metrics: wrote {out_dir}/loss.png, accuracy.png" + (", telemetry.png" if telemetry else ""))
