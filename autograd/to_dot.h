// The tape as a picture: the graph that backward() would run, written in Graphviz's DOT language.
// Drawn in forward order (leaves at the top, the loss at the bottom); backward walks the arrows in
// reverse. Call it before backward(), which releases the graph.
#pragma once

#include <string>

#include <minidl/core/tensor.h>

namespace minidl::autograd {

/// The graph of `root` (a loss) as DOT, for `dot -Tsvg`:
///   - one box per recorded op, numbered in tape order from 1: its name, its output's shape, and
///     the tensors its backward reads (its Saves: an input, its output, or a tensor of its own);
///   - one box per leaf that feeds it: a tensor requiring grad (shaded; where backward() leaves a
///     gradient) named from `names` when it is there (e.g. a model's named_parameters()), or a
///     tensor that does not (dashed: data, targets);
///   - one arrow per (input → op) pair, in input order.
/// A root without a graph (a leaf) gives its single box. Throws minidl::Error when backward() has
/// already released the graph.
std::string to_dot(const Tensor& root, const NamedTensors& names = {});

}  // namespace minidl::autograd
