// The backward pass, in micrograd's two steps: collect the nodes the loss reaches (Engine::
// collect_tape), then replay them in reverse tape order, newest first (Engine::replay): a node's
// creation number is larger than its inputs' nodes', so every gradient flowing into a node is
// complete before it runs. Gradients reaching a tensor along
// several paths are summed; leaves accumulate into grad() across backward() calls, as in PyTorch.
// Afterwards the graph is released (closures and saved tensors freed); a second backward() through
// it throws. With a GradReadyHook installed, each leaf is reported as soon as the last node that
// uses it has run (autograd/grad_ready_hook.h).
#include <algorithm>
#include <atomic>
#include <vector>

#include "autograd/grad_ready_hook.h"
#include "autograd/node.h"
#include "core/dispatch.h"
#include "core/tensor_impl.h"

namespace minidl {

namespace autograd {

static std::atomic<uint64_t> next_sequence_nr{0};
static std::atomic<uint64_t> next_pass{1};

Node::Node(const char* name, std::initializer_list<Tensor> inputs, const Tensor& out, Saves&& saves)
    : name_(name), sequence_nr_(next_sequence_nr++), num_inputs_(static_cast<int>(inputs.size())) {
  check(inputs.size() <= kMaxInputs, name, ": a node takes at most ", kMaxInputs, " inputs");
  std::copy(inputs.begin(), inputs.end(), inputs_.begin());
  for (int i = 0; i < saves.size; ++i) {
    Tensor& t = saves.tensors[static_cast<size_t>(i)];
    if (!t.defined()) continue;
    const Storage* storage = detail::impl_of(t)->storage.get();
    // The output itself would own this node through its grad_fn: keep a handle without it.
    saved_[num_saved_++] = {t.is_same(out) ? t.detach() : std::move(t), storage, storage->version()};
  }
}

void Node::check_saved_versions() const {
  for (int i = 0; i < num_saved_; ++i) {
    const Saved& s = saved_[i];
    const Storage& now = *detail::impl_of(s.tensor)->storage;
    check(&now == s.storage, "backward: a ", s.tensor.shape(), " tensor that '", name_,
          "' saved for its backward had its data replaced (set_data) before backward(); run the forward pass again");
    check(now.version() == s.version, "backward: a ", s.tensor.shape(), " tensor that '", name_,
          "' saved for its backward was modified in place afterwards (version ", s.version, " when saved, ",
          now.version(), " now); make the edit before the forward pass, or edit a clone()");
  }
}

void Node::release() {
  inputs_ = {};
  num_inputs_ = 0;
  saved_ = {};
  num_saved_ = 0;
  pending_grad_ = Tensor{};
  released_ = true;
}

void attach(Tensor& out, std::shared_ptr<Node> node) {
  detail::impl_of(out)->grad_fn = std::move(node);
  detail::impl_of(out)->requires_grad = true;
}

namespace {

// A leaf and how many edges of the tape still lead into it: 0 means its gradient is final.
struct LeafUses {
  const TensorImpl* leaf;
  int uses;
};

struct Scratch {
  std::vector<std::shared_ptr<Node>> tape;
  std::vector<Node*> stack;
  std::vector<LeafUses> leaves;  // sorted by address; only counted when a GradReadyHook is installed
};

bool is_grad_leaf(const Tensor& t) { return t.defined() && t.requires_grad() && !t.grad_fn(); }

// Every edge from a node of the tape into a leaf that requires grad, counted per leaf.
void count_leaf_uses(const std::vector<std::shared_ptr<Node>>& tape, std::vector<LeafUses>& leaves) {
  leaves.clear();
  for (const auto& node : tape)
    for (const Tensor& input : node->inputs())
      if (is_grad_leaf(input)) leaves.push_back({detail::impl_of(input), 1});
  std::sort(leaves.begin(), leaves.end(), [](const LeafUses& a, const LeafUses& b) { return a.leaf < b.leaf; });
  size_t kept = 0;  // merge the entries of one leaf
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (kept > 0 && leaves[kept - 1].leaf == leaves[i].leaf)
      ++leaves[kept - 1].uses;
    else
      leaves[kept++] = leaves[i];
  }
  leaves.resize(kept);
}

// `node` has run (or had no gradient to pass on): its edges into leaves are spent, and a leaf with
// none left is reported to the hooks.
void release_leaf_uses(const Node& node, std::vector<LeafUses>& leaves) {
  for (const Tensor& input : node.inputs()) {
    if (!is_grad_leaf(input)) continue;
    auto it = std::lower_bound(leaves.begin(), leaves.end(), detail::impl_of(input),
                               [](const LeafUses& a, const TensorImpl* leaf) { return a.leaf < leaf; });
    if (--it->uses == 0)
      for (GradReadyHook* hook : GradReadyHook::active()) (*hook)(input);
  }
}

// A leaf's grad() must own its storage: a closure may hand back the very tensor it received
// (add passes dy through) or one tensor for two inputs, and two parameters must never share a
// gradient buffer. The tensor is kept when nothing else can reach it, else copied.
void accumulate_into_leaf(TensorImpl& leaf, Tensor g) {
  if (leaf.grad.defined()) {
    leaf.grad = dispatch::binary(kernels::BinaryOp::add, leaf.grad, g, "backward");
    return;
  }
  const bool exclusive = detail::handle_count(g) == 1 && detail::impl_of(g)->storage.use_count() == 1 &&
                         g.is_contiguous() && g.offset() == 0;
  leaf.grad = exclusive ? std::move(g) : dispatch::copy(g);
}

// The scratch vectors of a backward pass: kept between calls (per thread), so a training step's
// backward allocates nothing once they have grown; a backward started from inside a closure (a
// nested pass) gets fresh ones.
class ScratchScope {
 public:
  ScratchScope() : scratch_(depth_++ == 0 ? reused_ : fresh_) {}
  ~ScratchScope() { --depth_; }
  Scratch& operator*() { return scratch_; }

 private:
  static thread_local Scratch reused_;
  static thread_local int depth_;
  Scratch fresh_;
  Scratch& scratch_;
};
thread_local Scratch ScratchScope::reused_;
thread_local int ScratchScope::depth_ = 0;

}  // namespace

// The steps of the backward pass, with access to the nodes' bookkeeping (pending gradients, the
// pass that last saw them).
struct Engine {
  // The part of the tape that `root` reaches, newest first: micrograd's topological order, obtained by
  // sorting on the number each node got when its op ran (a node is always newer than its inputs').
  // shared_ptrs keep each node alive until all are released, whatever order release() drops their
  // inputs in. A node is marked seen with this pass's number.
  static void collect_tape(const std::shared_ptr<Node>& root, Scratch& scratch) {
    const uint64_t pass = next_pass++;
    auto& tape = scratch.tape;
    auto& stack = scratch.stack;
    tape.assign(1, root);
    stack.assign(1, root.get());
    root->seen_in_pass_ = pass;
    while (!stack.empty()) {
      Node* node = stack.back();
      stack.pop_back();
      check(!node->released(), "backward: the graph through '", node->name(),
            "' was already released by an earlier backward(); run the forward pass again (each forward "
            "pass supports one backward)");
      for (const Tensor& input : node->inputs()) {
        if (!input.defined()) continue;  // an optional input left out (a layer without bias)
        const auto& fn = detail::impl_of(input)->grad_fn;
        if (fn && fn->seen_in_pass_ != pass) {
          fn->seen_in_pass_ = pass;
          tape.push_back(fn);
          stack.push_back(fn.get());
        }
      }
    }
    std::sort(tape.begin(), tape.end(), [](const auto& a, const auto& b) { return a->sequence_nr() > b->sequence_nr(); });
  }

  // Hands each input of `node` its gradient: added to what other paths already brought to the node
  // that made it, or accumulated into a leaf's grad().
  static void send_grads(const Node& node, Grads& grads) {
    for (size_t i = 0; i < node.inputs().size(); ++i) {
      const Tensor& input = node.inputs()[i];
      Tensor& g = grads[i];
      if (!g.defined() || !input.defined() || !input.requires_grad()) continue;
      check(g.shape() == input.shape(), "backward: '", node.name(), "' returned a gradient of shape ", g.shape(),
            " for input ", i, " of shape ", input.shape(), " (a bug in that op's backward)");
      if (const auto& fn = detail::impl_of(input)->grad_fn)
        fn->pending_grad_ = fn->pending_grad_.defined()
                                ? dispatch::binary(kernels::BinaryOp::add, fn->pending_grad_, g, "backward")
                                : std::move(g);
      else
        accumulate_into_leaf(*detail::impl_of(input), std::move(g));
    }
  }

  // The replay: newest first, each node turns the gradient of its output into its inputs'.
  static void replay(const std::vector<std::shared_ptr<Node>>& tape, const Tensor& seed, std::vector<LeafUses>& leaves) {
    tape.front()->pending_grad_ = seed;
    for (const auto& node : tape) {
      Tensor dout = std::move(node->pending_grad_);
      if (dout.defined()) {  // else no path from the root carried a gradient here
        node->check_saved_versions();
        Grads grads = node->backward(dout);
        dout = Tensor{};  // so that pass-through gradients can be handed on without a copy
        send_grads(*node, grads);
      }
      if (!leaves.empty()) release_leaf_uses(*node, leaves);
    }
  }
};

namespace {
// Releases every node of the tape when the pass ends, also when a closure throws: the graph is
// spent either way.
struct ReleaseAll {
  std::vector<std::shared_ptr<Node>>& tape;
  ~ReleaseAll() {
    for (auto& node : tape) node->release();
    tape.clear();
  }
};

}  // namespace

void run_backward(const Tensor& root, const Tensor& seed) {
  NoGradGuard no_grad;
  if (root.is_leaf()) {
    accumulate_into_leaf(*detail::impl_of(root), seed);
    for (GradReadyHook* hook : GradReadyHook::active()) (*hook)(root);
    return;
  }
  ScratchScope scope;
  Scratch& scratch = *scope;
  Engine::collect_tape(root.grad_fn(), scratch);
  ReleaseAll release_all{scratch.tape};
  scratch.leaves.clear();
  if (!GradReadyHook::active().empty()) count_leaf_uses(scratch.tape, scratch.leaves);
  Engine::replay(scratch.tape, seed, scratch.leaves);
}

}  // namespace autograd

void Tensor::backward() const { backward(Tensor{}); }

void Tensor::backward(const Tensor& gradient) const {
  dispatch::check_defined(*this, "backward");
  check(requires_grad(), "backward: tensor of shape ", shape(),
        " does not require grad (no input of its graph requires grad, or it was computed under NoGradGuard)");
  Tensor seed = gradient;
  if (!seed.defined()) {
    check(numel() == 1, "backward: called on a non-scalar tensor of shape ", shape(),
          "; reduce it to a scalar first (e.g. mean) or pass a gradient of that shape: backward(gradient)");
    seed = Tensor::ones(shape(), {.device = device()});
  } else {
    check(seed.shape() == shape() && seed.dtype() == DType::float32 && seed.device() == device(), "backward: gradient ",
          seed.dtype(), " ", seed.shape(), " does not match the tensor's float32 ", shape(), " on ", device());
  }
  autograd::run_backward(*this, seed);
}

}  // namespace minidl
