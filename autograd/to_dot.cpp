// autograd::to_dot: walks the tape from the root as backward() would, but only reads it. A node does
// not know its output (the output owns the node, not the other way round), so each op's output
// shape is taken from where it is used: the root itself, or a later op's input.
#include "autograd/to_dot.h"

#include <algorithm>
#include <array>
#include <map>
#include <sstream>
#include <string_view>
#include <vector>

#include "autograd/node.h"
#include "core/tensor_impl.h"

namespace minidl::autograd {

namespace {

// A DOT string literal's contents: quotes and backslashes escaped, newlines as DOT's centred "\n".
std::string quoted(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string describe(const Tensor& t) {
  std::ostringstream os;
  os << t.shape();
  if (t.dtype() != DType::float32) os << ' ' << t.dtype();
  return os.str();
}

struct OpInfo {
  Node* node = nullptr;
  std::string output;  // its output's shape
  const Storage* output_storage = nullptr;
};

// Which cluster each leaf and op lies in (DotCluster's rule), -1 for none; filled in tape order, so
// an op's inputs are placed before it.
class Placement {
 public:
  Placement(const std::map<const TensorImpl*, std::string>& name_of, const std::vector<DotCluster>& clusters)
      : name_of_(name_of), clusters_(clusters) {}
  int of_leaf(const Tensor& t) const {
    const auto named = name_of_.find(detail::impl_of(t));
    if (named == name_of_.end()) return -1;
    for (size_t c = 0; c < clusters_.size(); ++c)
      if (named->second.starts_with(clusters_[c].prefix)) return static_cast<int>(c);
    return -1;
  }
  // Named leaves decide; without any, the inputs that are ops or named leaves must agree.
  int place(const Node& node) {
    std::vector<int> named, all;
    for (const Tensor& input : node.inputs()) {
      if (!input.defined()) continue;
      if (input.grad_fn()) {
        all.push_back(op_[input.grad_fn().get()]);
      } else if (name_of_.contains(detail::impl_of(input))) {
        named.push_back(of_leaf(input));
        all.push_back(named.back());
      }
    }
    const std::vector<int>& votes = named.empty() ? all : named;
    const bool agree = !votes.empty() && std::all_of(votes.begin(), votes.end(), [&](int c) { return c == votes[0]; });
    return op_[&node] = agree ? votes[0] : -1;
  }

 private:
  const std::map<const TensorImpl*, std::string>& name_of_;
  const std::vector<DotCluster>& clusters_;
  std::map<const Node*, int> op_;
};

// The file: a comment with the counts (ops, leaves, edges), the graph's style, the boxes and arrows
// (`body`), and a box around each cluster that has members (node ids, "op3; leaf2;").
std::string assemble(const std::array<size_t, 3>& counts, const std::string& body,
                     const std::vector<DotCluster>& clusters, const std::vector<std::string>& members) {
  std::ostringstream dot;
  const auto counted = [](size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  dot << "// The tape of a minidl graph (autograd::to_dot): " << counted(counts[0], "op", "ops") << ", "
      << counted(counts[1], "leaf", "leaves") << ", " << counted(counts[2], "edge", "edges")
      << ". Forward runs down the arrows, backward() up them.\n"
      << "digraph tape {\n"
      << "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=10, nodesep=0.3, ranksep=0.35];\n"
      << "  node [shape=box, fontname=\"Helvetica\", fontsize=10, margin=\"0.12,0.06\"];\n"
      << "  edge [arrowsize=0.7];\n"
      << body;
  for (size_t c = 0; c < clusters.size(); ++c)
    if (!members[c].empty())
      dot << "  subgraph cluster_" << c << " {\n    label=\"" << quoted(clusters[c].label)
          << "\"; style=\"rounded,dashed\"; color=\"#888888\"; fontname=\"Helvetica\"; fontsize=11;\n   " << members[c]
          << "\n  }\n";
  dot << "}\n";
  return dot.str();
}

}  // namespace

std::string to_dot(const Tensor& root, const NamedTensors& names, const std::vector<DotCluster>& clusters) {
  check(root.defined(), "to_dot: the root tensor is undefined");
  std::map<const TensorImpl*, std::string> name_of;
  for (const auto& [name, t] : names)
    if (t.defined()) name_of.emplace(detail::impl_of(t), name);

  // The reachable ops, each with the shape and storage of its output.
  std::map<Node*, OpInfo> ops;
  std::vector<Node*> stack;
  if (Node* first = root.grad_fn().get()) {
    check(!first->released(), "to_dot: the graph was released by backward(); call to_dot before backward()");
    ops[first] = {first, describe(root), detail::impl_of(root)->storage.get()};
    stack.push_back(first);
  }
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Tensor& input : node->inputs()) {
      if (!input.defined() || !input.grad_fn()) continue;
      Node* producer = input.grad_fn().get();
      check(!producer->released(), "to_dot: part of the graph was released by backward(); call to_dot before it");
      if (ops.contains(producer)) continue;
      ops[producer] = {producer, describe(input), detail::impl_of(input)->storage.get()};
      stack.push_back(producer);
    }
  }
  std::vector<OpInfo> tape;
  for (const auto& [node, info] : ops) tape.push_back(info);
  std::sort(tape.begin(), tape.end(),
            [](const OpInfo& a, const OpInfo& b) { return a.node->sequence_nr() < b.node->sequence_nr(); });
  std::map<const Node*, size_t> number;  // tape position, from 1
  for (size_t i = 0; i < tape.size(); ++i) number[tape[i].node] = i + 1;

  std::ostringstream leaves, boxes, edges;
  Placement placement(name_of, clusters);
  std::vector<std::string> members(clusters.size());  // node ids, by cluster
  std::map<const TensorImpl*, size_t> leaf_number;
  size_t edge_count = 0;
  const auto leaf_id = [&](const Tensor& t) {
    auto [it, added] = leaf_number.emplace(detail::impl_of(t), leaf_number.size() + 1);
    if (added) {
      const auto named = name_of.find(detail::impl_of(t));
      const std::string title = named != name_of.end() ? named->second : t.requires_grad() ? "leaf" : "constant";
      leaves << "  leaf" << it->second << " [label=\"" << quoted(title + "\n" + describe(t) + "\n")
             << (t.requires_grad() ? "requires grad\", style=filled, fillcolor=\"#f6d7a7\"" : "no grad\", style=dashed")
             << "];\n";
      if (const int c = placement.of_leaf(t); c >= 0)
        members[static_cast<size_t>(c)] += " leaf" + std::to_string(it->second) + ";";
    }
    return "leaf" + std::to_string(it->second);
  };
  if (tape.empty()) leaf_id(root);

  for (const OpInfo& op : tape) {
    const Node& node = *op.node;
    const size_t n = number[op.node];
    if (const int c = placement.place(node); c >= 0) members[static_cast<size_t>(c)] += " op" + std::to_string(n) + ";";
    std::string saves;
    for (int s = 0; s < node.num_saved(); ++s) {
      const Tensor& saved = node.saved(s);
      std::string what = "a tensor of its own";
      for (size_t k = 0; k < node.inputs().size(); ++k)
        if (node.inputs()[k].defined() && detail::impl_of(node.inputs()[k]) == detail::impl_of(saved))
          what = "input " + std::to_string(k);
      if (what.starts_with("a tensor") && detail::impl_of(saved)->storage.get() == op.output_storage)
        what = "its output";
      if (what.starts_with("a tensor") && node.name() == std::string_view("dropout")) what = "its mask";
      if (const auto named = name_of.find(detail::impl_of(saved)); named != name_of.end()) what = named->second;
      saves += (saves.empty() ? "saves " : ",\n") + what + " " + describe(saved);
    }
    boxes << "  op" << n << " [label=\""
          << quoted("#" + std::to_string(n) + " " + node.name() + "\n→ " + op.output +
                    (n == tape.size() ? " (root)" : "") + (saves.empty() ? "" : "\n" + saves))
          << "\", style=\"rounded,filled\", fillcolor=\"#cfe2f3\"" << (n == tape.size() ? ", peripheries=2" : "")
          << "];\n";
    for (size_t k = 0; k < node.inputs().size(); ++k) {
      const Tensor& input = node.inputs()[k];
      if (!input.defined()) continue;
      const std::string from = input.grad_fn() ? "op" + std::to_string(number[input.grad_fn().get()]) : leaf_id(input);
      edges << "  " << from << " -> op" << n << ";\n";
      ++edge_count;
    }
  }

  return assemble({tape.size(), leaf_number.size(), edge_count}, leaves.str() + boxes.str() + edges.str(), clusters,
                  members);
}

}  // namespace minidl::autograd
