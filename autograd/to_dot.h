// The tape as a picture: the graph that backward() would run, written in Graphviz's DOT language.
// Drawn in forward order (leaves at the top, the loss at the bottom); backward walks the arrows in
// reverse. Call it before backward(), which releases the graph.
#pragma once

#include <string>
#include <vector>

#include <minidl/core/tensor.h>

namespace minidl::autograd {

/// A box drawn around part of the graph (a Graphviz cluster), e.g. one block of a transformer: the
/// named leaves whose names start with `prefix`, and the ops that read them. An op reading no
/// named leaf joins the cluster of its inputs when they all lie in one (a reshape of a product
/// inside the block); an op whose inputs come from different places (a residual add of the stream
/// and a block's output) stays outside every cluster.
struct DotCluster {
  std::string prefix;  // "transformer.h.0."
  std::string label;   // "transformer.h.0 (TransformerBlock)"
};

/// The graph of `root` (a loss) as DOT, for `dot -Tsvg`:
///   - one box per recorded op, numbered in tape order from 1: its name, its output's shape, and
///     the tensors its backward reads (its Saves: an input, its output, or a tensor of its own);
///   - one box per leaf that feeds it: a tensor requiring grad (shaded; where backward() leaves a
///     gradient) named from `names` when it is there (e.g. a model's named_parameters()), or a
///     tensor that does not (dashed: data, targets);
///   - one arrow per (input → op) pair, in input order.
/// A root without a graph (a leaf) gives its single box. Throws minidl::Error when backward() has
/// already released the graph.
///   - one box around each of `clusters` that holds any of them.
std::string to_dot(const Tensor& root, const NamedTensors& names = {}, const std::vector<DotCluster>& clusters = {});

}  // namespace minidl::autograd
