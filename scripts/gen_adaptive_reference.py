#!/usr/bin/env python3
"""Writes tests/reference/adaptive_trajectories.h: 40-step parameter trajectories of torch.optim.Adam,
AdamW, RMSprop and Adagrad (every option the issue lists: amsgrad, weight decay coupled and
decoupled, betas, eps, RMSprop's alpha/momentum/centered, Adagrad's lr_decay and initial accumulator),
of SGD-family and adaptive optimizers under each torch.optim.lr_scheduler schedule minidl has
(StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, OneCycleLR, ReduceLROnPlateau, each stepped
once per optimizer step), and the schedules' learning rates on their own. tests/test_optim.cpp replays
every trajectory through minidl's registry (the options as the command line's --opt key=value) and
compares the parameters after every step.

    /usr/bin/python3 scripts/gen_adaptive_reference.py   # Debian's python3-torch

The problems are scripts/gen_optim_reference.py's (the same seed, so the same numbers as
tests/reference/optim_trajectories.h). A trajectory marked skip_bias leaves b out of the loss on
every third step (b.grad is None there): optimizers with per-parameter step counts (Adam's bias
correction, Adagrad's lr decay) must then count b's steps separately, as torch does.

Schedules, with their arguments as written into the header:
    step         StepLR(step_size=a0, gamma=a1)
    multistep    MultiStepLR(milestones=a2.., gamma=a1)        (a0: the number of milestones)
    exponential  ExponentialLR(gamma=a0)
    cosine       CosineAnnealingLR(T_max=a0, eta_min=a1)
    onecycle     OneCycleLR(max_lr=lr, total_steps=a0, pct_start=a1, div_factor=a2,
                            final_div_factor=a3, three_phase=a4 != 0, cycle_momentum=False)
    plateau      ReduceLROnPlateau(factor=a0, patience=a1, threshold=a2, cooldown=a3, min_lr=a4),
                 stepped with the loss of the step just taken
"""
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from gen_optim_reference import loss_fn, problems  # noqa: E402

STEPS = 40

# name, optimizer (minidl's registry name), options (as --opt gives them), schedule, schedule args, skip_bias
CONFIGS = [
    ("adam", "adam", dict(lr=0.01), "", [], False),
    ("adam_wd", "adam", dict(lr=0.01, weight_decay=0.1), "", [], False),
    ("adam_amsgrad", "adam", dict(lr=0.01, amsgrad=True), "", [], False),
    ("adam_amsgrad_wd_betas_eps", "adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05, amsgrad=True),
     "", [], False),
    ("adam_skip_bias", "adam", dict(lr=0.01), "", [], True),
    ("adamw", "adamw", dict(lr=0.01), "", [], False),
    ("adamw_wd", "adamw", dict(lr=0.01, weight_decay=0.3), "", [], False),
    ("adamw_amsgrad", "adamw", dict(lr=0.01, betas=(0.85, 0.98), weight_decay=0.1, amsgrad=True), "", [], False),
    ("rmsprop", "rmsprop", dict(lr=0.01), "", [], False),
    ("rmsprop_alpha_eps_wd", "rmsprop", dict(lr=0.005, alpha=0.9, eps=1e-6, weight_decay=0.05), "", [], False),
    ("rmsprop_momentum", "rmsprop", dict(lr=0.005, momentum=0.9), "", [], False),
    ("rmsprop_centered", "rmsprop", dict(lr=0.005, centered=True), "", [], False),
    ("rmsprop_centered_momentum_wd", "rmsprop", dict(lr=0.002, momentum=0.8, centered=True, weight_decay=0.05), "",
     [], False),
    ("adagrad", "adagrad", dict(lr=0.05), "", [], False),
    ("adagrad_lr_decay", "adagrad", dict(lr=0.05, lr_decay=0.1), "", [], False),
    ("adagrad_wd_init_eps", "adagrad", dict(lr=0.05, weight_decay=0.05, initial_accumulator_value=0.1, eps=1e-6), "",
     [], False),
    ("adagrad_lr_decay_skip_bias", "adagrad", dict(lr=0.05, lr_decay=0.05), "", [], True),
    # schedules over optimizers
    ("sgd_step", "sgd", dict(lr=0.1), "step", [7, 0.5], False),
    ("momentum_multistep", "momentum", dict(lr=0.05, momentum=0.9), "multistep", [3, 0.3, 5, 12, 30], False),
    ("nesterov_exponential", "nesterov", dict(lr=0.05, momentum=0.9, nesterov=True), "exponential", [0.95], False),
    ("adam_cosine", "adam", dict(lr=0.02), "cosine", [25, 0.001], False),
    ("adam_onecycle", "adam", dict(lr=0.05), "onecycle", [STEPS, 0.3, 25.0, 1e4, 0], False),
    ("sgd_onecycle_three_phase", "sgd", dict(lr=0.2), "onecycle", [STEPS, 0.25, 10.0, 100.0, 1], False),
    ("rmsprop_exponential", "rmsprop", dict(lr=0.01), "exponential", [0.9], False),
    ("adagrad_plateau", "adagrad", dict(lr=0.5), "plateau", [0.5, 1, 0.1, 1, 0.05], False),
    ("adamw_plateau", "adamw", dict(lr=0.05), "plateau", [0.3, 1, 0.05, 0, 0.0], False),
]

TORCH = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop,
         "adagrad": torch.optim.Adagrad, "sgd": torch.optim.SGD, "momentum": torch.optim.SGD,
         "nesterov": torch.optim.SGD}


def make_schedule(opt, kind, a):
    s = torch.optim.lr_scheduler
    if kind == "step":
        return s.StepLR(opt, step_size=int(a[0]), gamma=a[1])
    if kind == "multistep":
        return s.MultiStepLR(opt, milestones=[int(m) for m in a[2:2 + int(a[0])]], gamma=a[1])
    if kind == "exponential":
        return s.ExponentialLR(opt, gamma=a[0])
    if kind == "cosine":
        return s.CosineAnnealingLR(opt, T_max=int(a[0]), eta_min=a[1])
    if kind == "onecycle":
        return s.OneCycleLR(opt, max_lr=opt.param_groups[0]["lr"], total_steps=int(a[0]), pct_start=a[1],
                            div_factor=a[2], final_div_factor=a[3], three_phase=bool(a[4]), cycle_momentum=False)
    if kind == "plateau":
        return s.ReduceLROnPlateau(opt, factor=a[0], patience=int(a[1]), threshold=a[2], cooldown=int(a[3]),
                                   min_lr=a[4])
    return None


def trajectory(kind, data, optimizer, kwargs, schedule, args, skip_bias):
    W = data["W"].clone().requires_grad_()
    b = data["b"].clone().requires_grad_()
    opt = TORCH[optimizer]([W, b], **kwargs)
    sched = make_schedule(opt, schedule, args)
    steps, lrs = [], []
    for step in range(STEPS):
        lrs.append(opt.param_groups[0]["lr"])
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(kind, data, W, b if not (skip_bias and step % 3 == 2) else torch.zeros_like(b))
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step(loss.item()) if schedule == "plateau" else sched.step()
        steps.append(torch.cat([W.detach().reshape(-1), b.detach().reshape(-1)]).tolist())
    return steps, lrs


def option_text(kwargs):
    parts = []
    for k, v in kwargs.items():
        if k in ("lr", "nesterov"):
            continue
        if isinstance(v, tuple):
            v = ",".join(repr(x) for x in v)
        elif isinstance(v, bool):
            v = "true" if v else "false"
        parts.append(f"{k}={v}")
    return ";".join(parts)


def floats(values):
    return "{" + ", ".join(f"{v:.9e}f" for v in values) + "}"


def main():
    lines = ["// generated by scripts/gen_adaptive_reference.py with PyTorch " + torch.__version__ + "; do not edit",
             "#pragma once", "#include <string>", "#include <vector>", "", "namespace adaptive_reference {", "",
             f"constexpr int kSteps = {STEPS};", "",
             "struct Trajectory {",
             "  std::string problem, config, optimizer;",
             "  float lr;",
             "  std::string options;    // key=value pairs separated by ';', as --opt takes them",
             "  std::string schedule;   // empty: none; else see scripts/gen_adaptive_reference.py",
             "  std::vector<double> schedule_args;",
             "  bool skip_bias;         // b left out of the loss on every third step",
             "  std::vector<float> lrs;  // the lr in force at each step",
             "  std::vector<std::vector<float>> params;  // after each step: W (row-major) then b",
             "};", "", "inline const std::vector<Trajectory> trajectories = {"]
    for kind, d in problems().items():
        for name, optimizer, kw, schedule, args, skip in CONFIGS:
            steps, lrs = trajectory(kind, d, optimizer, kw, schedule, args, skip)
            sargs = "{" + ", ".join(repr(float(a)) for a in args) + "}"
            lines.append(f'    {{"{kind}", "{name}", "{optimizer}", {kw["lr"]}f, "{option_text(kw)}", "{schedule}", '
                         f'{sargs}, {"true" if skip else "false"}, {floats(lrs)}, {{')
            lines += [f"        {floats(s)}," for s in steps]
            lines.append("    }},")
    lines += ["};", "", "}  // namespace adaptive_reference", ""]
    out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "reference" / "adaptive_trajectories.h"
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
