#!/usr/bin/env python3
"""Writes tests/reference/ops_reference.h: for every op of the language-model vocabulary (issue 26:
elementwise, masks, shape ops, indexing, broadcast matmul, embedding, layer_norm, gelu, silu,
attention, cross_entropy with options), inputs, the output and the input gradients computed by
PyTorch, which tests/test_ops.cpp compares minidl against on the CPU.

    /usr/bin/python3 scripts/gen_ops_reference.py   # Debian's python3-torch (1.13)

Each case's gradients are those of L = Σ y·r for a fixed random direction r of y's shape (r is
written out too), so every output element's gradient path is checked at once. Attention is the
spelled-out softmax(masked_fill(q·kᵀ/√D, mask, −inf))·v: PyTorch 1.13 has no fused
scaled_dot_product_attention, and this is the formula the fused op must equal. Masks are bool in
PyTorch and float (1/0) in minidl. The tests never run Python; they read the committed header.
"""
import math
import pathlib

import torch
import torch.nn.functional as F

torch.manual_seed(2026)


def randn(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).requires_grad_()


def away_from(x, points, gap=1e-2):
    """Asserts the inputs stay clear of kinks, where finite precision decides which side wins."""
    for p in points:
        assert (x.detach() - p).abs().min() > gap, f"regenerate: an input is within {gap} of the kink at {p}"
    return x


def causal(t, s):
    return torch.ones(t, s).tril().bool()


def attention(q, k, v, is_causal):
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if is_causal:
        scores = scores.masked_fill(~causal(q.shape[-2], k.shape[-2]), float("-inf"))
    return torch.softmax(scores, -1) @ v


def cases():
    x = away_from(randn(3, 4), [0.0])
    yield "abs", [x], lambda a: a.abs()
    pos = (torch.rand(3, 4) + 0.2).requires_grad_()
    yield "pow_2.5", [pos], lambda a: a.pow(2.5)
    x = randn(3, 4)
    yield "pow_3", [x], lambda a: a.pow(3.0)
    x = away_from(randn(3, 4), [-0.5, 0.7])
    yield "clamp", [x], lambda a: a.clamp(-0.5, 0.7)
    a, b = randn(3, 4), randn(4)
    with torch.no_grad():
        a[1, 2] = b[2]  # a tie: each side gets half the gradient
    yield "maximum", [a, b], torch.maximum
    yield "minimum", [a, b], torch.minimum
    mask = torch.tensor([[1.0], [0.0], [1.0]])
    yield "where", [mask, randn(3, 4), randn(4)], lambda m, p, q: torch.where(m.bool(), p, q)
    mask = (~causal(3, 4)).float()
    yield "masked_fill_softmax", [randn(2, 3, 4), mask], \
        lambda p, m: torch.softmax(p.masked_fill(m.bool(), float("-inf")), -1)
    yield "cat", [randn(2, 3), randn(2, 1), randn(2, 2)], lambda *t: torch.cat(t, 1)
    yield "stack", [randn(2, 3), randn(2, 3), randn(2, 3)], lambda *t: torch.stack(t, 1)
    yield "split", [randn(5, 4)], lambda p: torch.cat([c * (i + 1) for i, c in enumerate(torch.split(p, 2, 0))], 0)
    yield "chunk", [randn(2, 7)], lambda p: torch.cat([c * (i + 1) for i, c in enumerate(torch.chunk(p, 3, 1))], 1)
    yield "tril", [randn(2, 4, 5)], lambda p: torch.tril(p, -1)
    yield "triu", [randn(2, 4, 5)], lambda p: torch.triu(p, 1)
    index = torch.tensor([[0, 4, 4, 1], [2, 2, 2, 2], [3, 0, 1, 4]], dtype=torch.int32)
    yield "gather_dim1", [randn(3, 5), index], lambda p, i: torch.gather(p, 1, i.long())
    index = torch.tensor([[2, 0], [1, 1]], dtype=torch.int32)
    yield "gather_dim0_smaller", [randn(3, 4), index], lambda p, i: torch.gather(p, 0, i.long())
    index = torch.tensor([2, 0, 2, 2], dtype=torch.int32)
    yield "index_select", [randn(4, 3, 2), index], lambda p, i: torch.index_select(p, 1, i.long())
    yield "matmul_4d_broadcast", [randn(2, 3, 4, 5), randn(1, 3, 5, 2)], torch.matmul
    yield "matmul_2d_by_4d", [randn(4, 5), randn(2, 3, 5, 6)], torch.matmul
    yield "matmul_matrix_vector", [randn(3, 5), randn(5)], torch.matmul
    yield "matmul_vector_batch", [randn(5), randn(2, 5, 3)], torch.matmul
    indices = torch.tensor([[1, 5, 1], [0, 1, 3]], dtype=torch.int32)
    yield "embedding", [indices, randn(6, 4)], lambda i, w: F.embedding(i.long(), w)
    yield "layer_norm_last", [randn(2, 3, 8, scale=2.0), randn(8), randn(8)], \
        lambda p, w, b: F.layer_norm(p, [8], w, b, 1e-5)
    yield "layer_norm_two_dims", [randn(2, 3, 8), randn(3, 8), randn(3, 8)], \
        lambda p, w, b: F.layer_norm(p, [3, 8], w, b, 1e-5)
    yield "gelu", [randn(4, 5, scale=2.5)], F.gelu
    yield "gelu_tanh", [randn(4, 5, scale=2.5)], lambda p: F.gelu(p, approximate="tanh")
    yield "silu", [randn(4, 5, scale=2.5)], F.silu
    yield "attention_causal", [randn(2, 3, 5, 4), randn(2, 3, 5, 4), randn(2, 3, 5, 4)], \
        lambda q, k, v: attention(q, k, v, True)
    yield "attention_full", [randn(2, 3, 5, 4), randn(2, 3, 5, 4), randn(2, 3, 5, 4)], \
        lambda q, k, v: attention(q, k, v, False)
    yield "attention_causal_t_ne_s", [randn(2, 4, 3), randn(2, 6, 3), randn(2, 6, 3)], \
        lambda q, k, v: attention(q, k, v, True)
    targets = torch.tensor([1, 2, 4, 2, 0, 3], dtype=torch.int32)
    yield "cross_entropy_ignore_smooth", [randn(6, 5), targets], \
        lambda p, t: F.cross_entropy(p, t.long(), ignore_index=2, label_smoothing=0.1).reshape(1)
    targets = torch.tensor([[1, -100, 4], [2, 0, -100]], dtype=torch.int32)
    yield "cross_entropy_3d_ignore", [randn(2, 3, 5), targets], \
        lambda p, t: F.cross_entropy(p.reshape(-1, 5), t.reshape(-1).long()).reshape(1)


def tensor_literal(t):
    t = t.detach()
    shape = ", ".join(str(s) for s in t.shape)
    values = ", ".join(f"{v:.9e}f" for v in t.reshape(-1).double().tolist())
    return f"{{{{{shape}}}, {{{values}}}, {'true' if t.dtype == torch.int32 else 'false'}}}"


def main():
    blocks = []
    for name, inputs, fn in cases():
        y = fn(*inputs)
        r = torch.randn(y.shape)
        grads = torch.autograd.grad((y * r).sum(), [t for t in inputs if t.requires_grad])
        it = iter(grads)
        grad_literals = [tensor_literal(next(it)) if t.requires_grad else "{}" for t in inputs]
        blocks.append(f'  {{"{name}",\n   {{{", ".join(tensor_literal(t) for t in inputs)}}},\n'
                      f"   {tensor_literal(y)},\n   {tensor_literal(r)},\n   {{{', '.join(grad_literals)}}}}}")
    out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "reference" / "ops_reference.h"
    out.write_text(
        "// generated by scripts/gen_ops_reference.py with PyTorch " + torch.__version__ + "; do not edit\n"
        "#pragma once\n#include <cstdint>\n#include <string>\n#include <vector>\n\nnamespace ops_reference {\n"
        "struct Values {\n  std::vector<int64_t> shape;\n  std::vector<float> values;\n  bool is_int = false;\n};\n"
        "struct Case {\n  std::string name;\n  std::vector<Values> inputs;\n  Values output, direction;\n"
        "  std::vector<Values> grads;  // empty where the input is not differentiable\n};\n"
        "inline const std::vector<Case> cases = {\n" + ",\n".join(blocks) + "};\n}  // namespace ops_reference\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
