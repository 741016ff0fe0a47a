// DataParallel: one model replicated on every rank, each rank training on its own share of every
// batch, all of them updating identically (PyTorch's DistributedDataParallel, over distributed/'s MPI).
//
//   distributed::init();                                        // under mpirun -np N
//   auto model = nn::mlp(784, {256}, 10, gen);           // the same code on every rank
//   distributed::DataParallel parallel(*model);                 // rank 0's weights, broadcast to all
//   optim::Nesterov opt(model->parameters(), {.lr = 0.01f, .momentum = 0.9f});
//   data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 1,
//                                   .shard = {distributed::rank(), distributed::world_size()}});  // this rank's share
//   for (const data::Batch& b : loader)
//     nn::train_step(*model, opt, b.inputs, b.targets, {.sync = &parallel});
//
// A step: begin_step() copies rank 0's buffers to every rank; forward and backward run on this
// rank's n_r examples; as backward() finishes each parameter's gradient (autograd::GradReadyHook)
// it joins its bucket (distributed/buckets.h), and a full bucket is all-reduced at once, non-blocking,
// while backward goes on — buckets always start in the same order on every rank, as MPI requires.
// finish_step() waits for what is left and leaves in every grad()
//     Σ_r n_r · g_r / Σ_r n_r,
// g_r being rank r's gradient of its mean loss: exactly the gradient of the mean loss over the
// whole batch, whatever the shares (docs/distributed.md derives it), up to the order floats add in.
// The optimizer then takes the same step on every rank, and the replicas stay identical.
#pragma once

#include <csignal>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <minidl/autograd/grad_ready_hook.h>
#include <minidl/distributed/collectives.h>
#include <minidl/nn/module.h>
#include <minidl/nn/train_step.h>

namespace minidl::distributed {

struct DataParallelOptions {
  int64_t bucket_bytes = 1 << 20;  // gradient bytes per all-reduce (distributed/buckets.h)
  /// Before every step, every rank takes rank 0's buffers (batch norm's running statistics), as
  /// PyTorch's broadcast_buffers: replicas stay identical, and a checkpoint from rank 0 describes
  /// them all. Batch statistics themselves are each rank's own (no SyncBatchNorm).
  bool broadcast_buffers = true;
  /// A flag a signal handler sets (minidl train's stop_signal). Every rank reports its value at
  /// each step's exchange, and agreed_stop() is the largest: all ranks stop after the same step.
  const volatile std::sig_atomic_t* stop_flag = nullptr;
  /// false: every bucket waits for finish_step(), after backward() — no overlap. What the benchmark
  /// compares with, to measure how much of the all-reduce time backward() hides (scripts/bench-dist).
  bool overlap = true;
};

struct DataParallelStats {
  int64_t steps = 0;
  int64_t buckets = 0, gradient_bytes = 0;  // per step
  double wait_seconds = 0;                  // in finish_step(), waiting for the all-reduces backward() did not hide
  double pack_seconds = 0;                  // copying gradients into buckets and back
};

/// One bucket's all-reduce being started: during backward() (from the hook) or after it.
struct BucketLaunch {
  int bucket;
  bool during_backward;
};

class DataParallel final : public nn::GradientSync {
 public:
  /// Broadcasts rank 0's parameters and buffers to every rank (a collective: every rank constructs
  /// its DataParallel at the same point). The model's parameters must all be on one device, and
  /// must not change while the DataParallel lives. Construct it on the thread that will call
  /// backward(): the hook that starts all-reduces is installed on that thread.
  explicit DataParallel(nn::Module& model, DataParallelOptions options = {});
  ~DataParallel() override;
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  /// nn::GradientSync: one backward() between the two. `examples` may be 0 (an empty share).
  void begin_step(int64_t examples) override;
  double finish_step(double loss) override;

  /// Copies rank 0's buffers to every rank now (before an evaluation or a checkpoint: the last
  /// step's forward pass updated each rank's running statistics from its own share).
  void sync_buffers();

  /// The largest value of options.stop_flag over the ranks at the last step's exchange (0: none).
  int agreed_stop() const { return agreed_stop_; }
  /// Examples in the last step over all ranks (the global batch).
  int64_t global_examples() const { return global_examples_; }

  const std::vector<std::vector<size_t>>& buckets() const { return plan_; }
  /// The last step's buckets in the order their all-reduces started.
  std::span<const BucketLaunch> last_launches() const { return launches_; }
  const DataParallelStats& stats() const { return stats_; }
  void reset_stats();

 private:
  struct Bucket {
    std::vector<size_t> params;    // indices into params_, in packing order
    std::vector<int64_t> offsets;  // of each parameter's gradient in `buffer`
    Tensor buffer;                 // float32 [numel]: on the host, or on the GPU for CUDA-aware MPI
    int pending = 0;               // parameters whose gradient is not final yet in this step
    Request request;
    std::string what;  // how the watchdog names it
  };
  void on_grad_ready(const Tensor& leaf);
  void launch_ready(bool during_backward);
  void pack(Bucket& bucket);
  void unpack(Bucket& bucket, float scale);
  void broadcast_buffers();

  nn::Module& model_;
  DataParallelOptions options_;
  std::vector<Tensor> params_, buffers_;
  Device device_;
  bool device_buffers_;                            // CUDA-aware MPI: buckets live on the GPU
  std::unordered_map<const void*, size_t> index_;  // parameter's TensorImpl → index in params_
  std::vector<std::vector<size_t>> plan_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;
  std::vector<char> ready_;  // per parameter, in this step
  size_t next_ = 0;          // the first bucket not started in this step
  bool in_step_ = false;
  int64_t examples_ = 0, global_examples_ = 0;
  int agreed_stop_ = 0;
  std::vector<double> scalars_;  // per rank: n_r · loss_r, n_r, its stop flag
  std::vector<float> float_buffers_;
  std::vector<int32_t> int_buffers_;
  std::vector<BucketLaunch> launches_;
  DataParallelStats stats_;
  autograd::GradReadyHook hook_;  // last: it may fire only once everything above exists
};

}  // namespace minidl::distributed
