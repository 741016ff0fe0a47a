#!/usr/bin/python3
"""Plots what `minidl sweep` wrote: final test accuracy and final training loss against the learning
rate (log scale), one curve per optimizer (the mean over seeds), the seeds' spread (min to max)
shaded; runs that diverged are marked with an x on the lr axis.

Usage: /usr/bin/python3 scripts/plot_sweep.py SWEEP.csv OUT.png   (needs python3-matplotlib)
"""
import csv
import math
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

if len(sys.argv) != 3:
    raise SystemExit(__doc__)
rows = list(csv.DictReader(open(sys.argv[1])))
if not rows:
    raise SystemExit(f"plot_sweep: no runs in {sys.argv[1]}")
order = []
acc, loss, diverged = defaultdict(lambda: defaultdict(list)), defaultdict(lambda: defaultdict(list)), defaultdict(set)
for r in rows:
    name, lr = r["optimizer"], float(r["lr"])
    if name not in order:
        order.append(name)
    if r["status"] != "ok":
        diverged[name].add(lr)
        continue
    acc[name][lr].append(100 * float(r["final_test_accuracy"]))
    loss[name][lr].append(float(r["final_train_loss"]))

fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
for k, name in enumerate(order):
    color = f"C{k}"
    for ax, data in ((axes[0], acc[name]), (axes[1], loss[name])):
        lrs = sorted(lr for lr in data if lr not in diverged[name])
        if not lrs:
            continue
        mean = [sum(data[lr]) / len(data[lr]) for lr in lrs]
        ax.plot(lrs, mean, marker="o", color=color, label=f"{name} ({max(len(data[lr]) for lr in lrs)} seeds)")
        ax.fill_between(lrs, [min(data[lr]) for lr in lrs], [max(data[lr]) for lr in lrs], color=color, alpha=0.2)
for ax in axes:
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.grid(True, which="both", alpha=0.3)
best = max(max(sum(v) / len(v) for v in acc[n].values()) for n in order if acc[n])
low = max(0, best - 12)
axes[0].set_ylim(low, min(100, best + 1))
for k, name in enumerate(order):  # diverged runs: an x at the bottom of the accuracy panel
    for lr in sorted(diverged[name]):
        axes[0].plot([lr], [low + 0.2], marker="x", color=f"C{k}", markersize=9, clip_on=False)
axes[0].set_ylabel("final test accuracy (%)")
axes[0].set_title("test accuracy vs lr (mean; band: seeds' min–max; x: diverged)")
axes[1].set_yscale("log")
axes[1].set_ylabel("final training loss (epoch mean)")
axes[1].set_title("training loss vs lr")
axes[0].legend(fontsize=8)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
print(f"plot_sweep: wrote {sys.argv[2]}")
