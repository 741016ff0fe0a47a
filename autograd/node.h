// The tape. An op whose input requires grad records a Node: its name, its inputs and its
// backward closure, numbered in creation order (the tape position). backward() replays the part
// of the tape reachable from the loss, newest first (autograd/engine.cpp).
//
// Writing an op: compute the forward with core/dispatch, then
//   record("relu", y, {x}, [y = y.detach()](const Tensor& dy) {
//     return Grads{dispatch::binary(BinaryOp::relu_backward, y, dy, "relu")};
//   });
// The closure returns one gradient per input, in input order (undefined = none), each of its
// input's shape; the engine sums gradients that reach one tensor along several paths.
// NOTE: capture the output as y.detach(), never y itself: y owns the node that owns the closure,
// and the cycle would leak the graph whenever backward() is not called.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "core/grad_mode.h"
#include "core/object_pool.h"
#include "core/tensor.h"

namespace minidl::autograd {

/// Inputs a node can take: enough for batch_norm's five (x, weight, bias, running_mean, running_var)
/// and a few more. Fixed-size, so recording a node allocates nothing beyond the pooled node itself.
constexpr int kMaxInputs = 8;

/// Gradients with respect to a node's inputs, in input order; an undefined Tensor means none.
using Grads = std::array<Tensor, kMaxInputs>;

class Node {
 public:
  Node(const char* name, std::initializer_list<Tensor> inputs);
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const char* name() const { return name_; }
  uint64_t sequence_nr() const { return sequence_nr_; }  // position on the tape
  std::span<const Tensor> inputs() const { return {inputs_.data(), static_cast<size_t>(num_inputs_)}; }
  bool released() const { return released_; }

  /// Gradients of the inputs given the gradient of the output.
  virtual Grads backward(const Tensor& dout) = 0;
  /// Drops the closure and the inputs, freeing what the graph kept alive for backward.
  virtual void release();

 private:
  friend void run_backward(const Tensor& root, const Tensor& seed);
  const char* name_;
  uint64_t sequence_nr_;
  std::array<Tensor, kMaxInputs> inputs_;
  int num_inputs_;
  bool released_ = false;
  Tensor pending_grad_;        // gradient of this node's output, summed during backward
  uint64_t seen_in_pass_ = 0;  // the last backward pass that collected this node
};

template <class Fn>
class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, std::initializer_list<Tensor> inputs, Fn fn) : Node(name, inputs), fn_(std::move(fn)) {}
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

/// Records `out` as produced by op `name` from `inputs`, if grad mode is on and an input requires grad.
template <class Fn>
void record(const char* name, Tensor& out, std::initializer_list<Tensor> inputs, Fn&& backward) {
  if (!is_grad_enabled()) return;
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return;
  using NodeType = FunctionNode<std::decay_t<Fn>>;
  attach(out, std::allocate_shared<NodeType>(PoolAllocator<NodeType>{}, name, inputs, std::forward<Fn>(backward)));
}

/// Runs reverse mode from `root` seeded with `seed` (Tensor::backward's implementation).
void run_backward(const Tensor& root, const Tensor& seed);

}  // namespace minidl::autograd
