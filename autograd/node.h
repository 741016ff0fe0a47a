// The tape. An op whose input requires grad records a Node: its name, its inputs, the tensors its
// backward reads, and its backward closure, numbered in creation order (the tape position).
// backward() replays the part of the tape reachable from the loss, newest first
// (autograd/engine.cpp).
//
// Writing an op: compute the forward with core/dispatch, then
//   record("relu", y, {x}, Saves{y}, [y = y.detach()](const Tensor& dy) {
//     return Grads{dispatch::binary(BinaryOp::relu_backward, y, dy, "relu")};
//   });
// The closure returns one gradient per input, in input order (undefined = none), each of its
// input's shape; the engine sums gradients that reach one tensor along several paths.
// NOTE: capture the output as y.detach(), never y itself: y owns the node that owns the closure,
// and the cycle would leak the graph whenever backward() is not called.
//
// In-place edits. A backward must read the values its forward saw. Every storage counts its
// in-place writes (Tensor::version(), shared by views and detach()); a node records the version of
// each tensor its backward reads, and backward() throws minidl::Error naming the op, the tensor's
// shape and both versions when one has changed since (PyTorch's "modified by an inplace
// operation"). The rule for an op's author: `Saves{…}` lists every tensor whose *values* the
// closure reads — inputs, the output (pass y itself: the node keeps a detached handle), tensors of
// the op's own such as softmax probabilities — and no tensor whose shape or requires_grad alone it
// asks for:
//   record("add", y, {a, b}, Saves{}, …)       da = db = dy: reads no values
//   record("mul", y, {a, b}, Saves{a, b}, …)   da = dy·b, db = dy·a
//   record("exp", y, {x}, Saves{y}, …)         dx = dy·y
// An undefined Tensor in the list is skipped: save `x` only when the gradient that reads it will be
// computed, e.g. Saves{b.requires_grad() ? a : Tensor{}, …}, so editing a tensor that no gradient
// depends on stays legal (as in PyTorch). Without a Saves list, record() checks every input and the
// output: safe, but stricter than needed. Listing too little is the one mistake that lets an edit
// through silently; tests/test_autograd.cpp edits each op's saved tensors and expects the error.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "autograd/custom_op.h"
#include "core/grad_mode.h"
#include "core/object_pool.h"
#include "core/storage.h"
#include "core/tensor.h"

namespace minidl::autograd {

class Node {
 public:
  /// `out` is the op's output: a saved tensor that is `out` itself is kept as a detached handle.
  Node(const char* name, std::initializer_list<Tensor> inputs, const Tensor& out, Saves&& saves);
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const char* name() const { return name_; }
  uint64_t sequence_nr() const { return sequence_nr_; }  // position on the tape
  std::span<const Tensor> inputs() const { return {inputs_.data(), static_cast<size_t>(num_inputs_)}; }
  bool released() const { return released_; }
  /// The tensors its backward reads (its Saves list), for looking at a graph (autograd::to_dot).
  int num_saved() const { return num_saved_; }
  const Tensor& saved(int i) const { return saved_[static_cast<size_t>(i)].tensor; }

  /// Gradients of the inputs given the gradient of the output.
  virtual Grads backward(const Tensor& dout) = 0;
  /// Throws minidl::Error when a saved tensor was written in place after the op ran.
  void check_saved_versions() const;
  /// Drops the closure and the inputs, freeing what the graph kept alive for backward.
  virtual void release();

 private:
  friend struct Engine;  // the backward pass (autograd/engine.cpp) keeps its bookkeeping here
  const char* name_;
  uint64_t sequence_nr_;
  std::array<Tensor, kMaxInputs> inputs_;
  int num_inputs_;
  struct Saved {
    Tensor tensor;                     // a handle: its storage and shape at backward time
    const Storage* storage = nullptr;  // the storage the op saw (set_data may swap it)
    uint64_t version = 0;              // that storage's version when the op ran
  };
  std::array<Saved, kMaxSaved> saved_;
  int num_saved_ = 0;
  bool released_ = false;
  Tensor pending_grad_;        // gradient of this node's output, summed during backward
  uint64_t seen_in_pass_ = 0;  // the last backward pass that collected this node
};

template <class Fn>
class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, std::initializer_list<Tensor> inputs, const Tensor& out, Saves&& saves, Fn fn)
      : Node(name, inputs, out, std::move(saves)), fn_(std::move(fn)) {}
  Grads backward(const Tensor& dout) override { return (*fn_)(dout); }
  void release() override {
    fn_.reset();
    Node::release();
  }

 private:
  std::optional<Fn> fn_;
};

/// Makes `node` the grad_fn of `out`, which then requires grad.
void attach(Tensor& out, std::shared_ptr<Node> node);

/// Records `out` as produced by op `name` from `inputs`, if grad mode is on and an input requires
/// grad; its backward reads the tensors in `saves` (see "In-place edits" above).
template <class Fn>
void record(const char* name, Tensor& out, std::initializer_list<Tensor> inputs, Saves saves, Fn&& backward) {
  if (!is_grad_enabled()) return;
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return;
  using NodeType = FunctionNode<std::decay_t<Fn>>;
  attach(out, std::allocate_shared<NodeType>(PoolAllocator<NodeType>{}, name, inputs, out, std::move(saves),
                                             std::forward<Fn>(backward)));
}

/// The same, checking every input and the output (for an op that does not say what it reads).
template <class Fn>
void record(const char* name, Tensor& out, std::initializer_list<Tensor> inputs, Fn&& backward) {
  if (!is_grad_enabled()) return;
  Saves all{};
  for (const Tensor& t : inputs)
    if (all.size + 1 < kMaxSaved) all.add(t);  // more than kMaxInputs inputs: the Node refuses them
  all.add(out);
  record(name, out, inputs, std::move(all), std::forward<Fn>(backward));
}

/// Runs reverse mode from `root` seeded with `seed` (Tensor::backward's implementation).
void run_backward(const Tensor& root, const Tensor& seed);

}  // namespace minidl::autograd
