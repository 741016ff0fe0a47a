// DataParallel's step: buckets filled by the grad-ready hook and all-reduced as they fill, then the
// exchange of losses, example counts and stop flags, and the gradients written back averaged.
#include "distributed/data_parallel.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <sstream>

#include "core/backend.h"
#include "core/dispatch.h"
#include "core/grad_mode.h"
#include "distributed/buckets.h"
#include "distributed/world.h"

namespace minidl::distributed {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string mib(int64_t bytes) {
  std::ostringstream os;
  os.precision(3);
  os << static_cast<double>(bytes) / (1 << 20) << " MiB";
  return os.str();
}

}  // namespace

DataParallel::DataParallel(nn::Module& model, DataParallelOptions options)
    : model_(model),
      options_(options),
      params_(model.parameters()),
      buffers_(model.buffers()),
      device_(params_.empty() ? Device::cpu() : params_.front().device()),
      device_buffers_(device_.is_cuda() && cuda_aware()),
      hook_([this](const Tensor& leaf) { on_grad_ready(leaf); }) {
  check(!params_.empty(), "DataParallel: the model has no parameters");
  check(options.bucket_bytes > 0, "DataParallel: bucket_bytes must be > 0, got ", options.bucket_bytes);
  std::vector<int64_t> numels;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    check(p.device() == device_, "DataParallel: parameters on two devices, ", device_, " and ", p.device());
    check(p.dtype() == DType::float32, "DataParallel: parameter ", i, " is ", p.dtype(), ", expected float32");
    check(index_.emplace(detail::impl_of(p), i).second, "DataParallel: parameter ", i, " is listed twice");
    numels.push_back(p.numel());
  }
  // Every rank starts from rank 0's weights and buffers (the same seed gives the same weights on
  // every rank already; this makes it true for any initialization, and for a resumed run).
  for (const auto& [name, t] : model.state_dict()) broadcast(t, 0);

  plan_ = plan_buckets(numels, options.bucket_bytes);
  bucket_of_.resize(params_.size());
  buckets_.resize(plan_.size());
  for (size_t b = 0; b < plan_.size(); ++b) {
    Bucket& bucket = buckets_[b];
    bucket.params = plan_[b];
    int64_t numel = 0;
    for (size_t i : bucket.params) {
      bucket.offsets.push_back(numel);
      numel += params_[i].numel();
      bucket_of_[i] = b;
    }
    bucket.buffer = Tensor::empty({numel}, {.device = device_buffers_ ? device_ : Device::cpu()});
    bucket.what = str_cat("all_reduce of gradient bucket ", b, " of ", plan_.size(), " (", bucket.params.size(),
                          " tensors, ", mib(numel * 4), ")");
    stats_.gradient_bytes += numel * 4;
  }
  stats_.buckets = static_cast<int64_t>(buckets_.size());
  ready_.assign(params_.size(), 0);
  launches_.reserve(buckets_.size());
  scalars_.assign(static_cast<size_t>(3 * world_size()), 0.0);
}

// NOTE: a bucket still in flight here belongs to a run that failed mid-step (a rank died): MPI may
// still write into its buffer, and forbids freeing the request, so the buffer is deliberately kept.
DataParallel::~DataParallel() {
  for (Bucket& bucket : buckets_)
    if (bucket.request.active()) new Tensor(bucket.buffer);  // NOLINT: leaked on purpose, see above
}

void DataParallel::reset_stats() {
  stats_.steps = 0;
  stats_.wait_seconds = stats_.pack_seconds = 0;
}

void DataParallel::begin_step(int64_t examples) {
  check(examples >= 0, "DataParallel::begin_step: examples must be >= 0, got ", examples);
  for (const Bucket& bucket : buckets_)
    check(!bucket.request.active(),
          "DataParallel: a step was abandoned with its all-reduces in flight; the ranks "
          "can no longer agree on the gradients");
  examples_ = examples;
  std::fill(ready_.begin(), ready_.end(), 0);
  for (Bucket& bucket : buckets_) bucket.pending = static_cast<int>(bucket.params.size());
  next_ = 0;
  launches_.clear();
  if (options_.broadcast_buffers) broadcast_buffers();
  in_step_ = true;
}

void DataParallel::on_grad_ready(const Tensor& leaf) {
  if (!in_step_) return;  // a backward() outside a step (the user's own) is not ours
  const auto it = index_.find(detail::impl_of(leaf));
  if (it == index_.end()) return;  // a leaf that is not one of the model's parameters
  const size_t i = it->second;
  check(!ready_[i], "DataParallel: a second backward() in one step (one backward() per begin_step/finish_step)");
  ready_[i] = 1;
  if (--buckets_[bucket_of_[i]].pending == 0 && options_.overlap) launch_ready(true);
  // Nudge the all-reduces in flight: many MPI libraries progress only inside MPI calls, and the
  // hook is this rank's chance to make one between two nodes of the backward pass.
  for (size_t b = 0; b < next_; ++b) buckets_[b].request.test();
}

// Starts every bucket whose turn has come, in bucket order: MPI matches collectives by the order
// they are started in, so bucket b never starts before bucket b − 1, on any rank.
void DataParallel::launch_ready(bool during_backward) {
  while (next_ < buckets_.size() && (buckets_[next_].pending == 0 || !during_backward)) {
    Bucket& bucket = buckets_[next_];
    pack(bucket);
    bucket.request = all_reduce_async(
        std::span<float>(static_cast<float*>(bucket.buffer.data_ptr()), static_cast<size_t>(bucket.buffer.numel())),
        ReduceOp::sum, bucket.what.c_str());
    launches_.push_back({static_cast<int>(next_), during_backward});
    ++next_;
  }
}

// Gradient × n_r into the bucket: the sum over ranks is then Σ_r n_r·g_r. A parameter that got no
// gradient (unused by the loss, or an empty share) contributes zeros.
void DataParallel::pack(Bucket& bucket) {
  const auto start = std::chrono::steady_clock::now();
  const float weight = static_cast<float>(examples_);
  NoGradGuard no_grad;
  for (size_t k = 0; k < bucket.params.size(); ++k) {
    const Tensor& p = params_[bucket.params[k]];
    const int64_t offset = bucket.offsets[k], n = p.numel();
    Tensor g = p.grad();
    if (device_buffers_) {  // on the GPU, for CUDA-aware MPI
      const Tensor slot = bucket.buffer.slice(0, offset, offset + n);
      if (g.defined())
        dispatch::copy_into(slot.view(p.shape()), g, "DataParallel");
      else
        dispatch::fill(slot, 0.f);
      continue;
    }
    float* dst = bucket.buffer.data<float>() + offset;
    if (!g.defined() || examples_ == 0) {
      std::memset(dst, 0, static_cast<size_t>(n) * sizeof(float));
      continue;
    }
    if (!g.device().is_cpu()) g = dispatch::to_device(g, Device::cpu());  // host staging
    g = dispatch::contiguous(g);
    const float* src = g.data<float>();
    for (int64_t j = 0; j < n; ++j) dst[j] = src[j] * weight;
  }
  if (device_buffers_) {
    bucket.buffer.mul_(weight);
    synchronize(device_);  // MPI reads the buffer as soon as the all-reduce starts
  }
  stats_.pack_seconds += seconds_since(start);
}

// The sum back into each parameter's grad(), times `scale` (1 / Σ_r n_r).
void DataParallel::unpack(Bucket& bucket, float scale) {
  const auto start = std::chrono::steady_clock::now();
  NoGradGuard no_grad;
  if (device_buffers_) bucket.buffer.mul_(scale);
  for (size_t k = 0; k < bucket.params.size(); ++k) {
    Tensor& p = params_[bucket.params[k]];
    const int64_t offset = bucket.offsets[k], n = p.numel();
    Tensor g = p.grad();
    if (!g.defined() || !g.is_contiguous() || g.offset() != 0) {  // a fresh one, owned by the parameter
      g = Tensor::empty(p.shape(), {.device = device_});
      p.set_grad(g);
    }
    const Tensor slot = bucket.buffer.slice(0, offset, offset + n).view(p.shape());
    if (device_buffers_) {
      dispatch::copy_into(g, slot, "DataParallel");
    } else if (g.device().is_cpu()) {
      const float* src = bucket.buffer.data<float>() + offset;
      float* dst = g.data<float>();
      for (int64_t j = 0; j < n; ++j) dst[j] = src[j] * scale;
    } else {  // host staging: scale on the host, then one copy up
      float* src = bucket.buffer.data<float>() + offset;
      for (int64_t j = 0; j < n; ++j) src[j] *= scale;
      dispatch::copy_into(g, dispatch::to_device(slot, g.device()), "DataParallel");
    }
  }
  stats_.pack_seconds += seconds_since(start);
}

double DataParallel::finish_step(double loss) {
  check(in_step_, "DataParallel::finish_step: no step begun (call begin_step first)");
  in_step_ = false;
  const auto start = std::chrono::steady_clock::now();
  const double pack_before = stats_.pack_seconds;
  // Buckets that backward() did not fill — parameters without a gradient, an empty share — go now.
  launch_ready(false);

  // One small exchange per step: every rank's n_r · loss_r, n_r and stop flag, each in its own slot
  // (adding zeros is exact), so that every rank sums them in the same order to the same values.
  const int n = world_size(), me = rank();
  std::fill(scalars_.begin(), scalars_.end(), 0.0);
  scalars_[static_cast<size_t>(me)] = examples_ > 0 ? static_cast<double>(examples_) * loss : 0.0;
  scalars_[static_cast<size_t>(n + me)] = static_cast<double>(examples_);
  scalars_[static_cast<size_t>(2 * n + me)] = options_.stop_flag ? static_cast<double>(*options_.stop_flag) : 0.0;
  all_reduce(std::span<double>(scalars_), ReduceOp::sum);
  for (Bucket& bucket : buckets_) bucket.request.wait(bucket.what.c_str());
  stats_.wait_seconds += seconds_since(start) - (stats_.pack_seconds - pack_before);

  double loss_sum = 0, examples = 0;
  agreed_stop_ = 0;
  for (int r = 0; r < n; ++r) {
    loss_sum += scalars_[static_cast<size_t>(r)];
    examples += scalars_[static_cast<size_t>(n + r)];
    agreed_stop_ = std::max(agreed_stop_, static_cast<int>(scalars_[static_cast<size_t>(2 * n + r)]));
  }
  check(examples > 0, "DataParallel: a step in which no rank had an example");
  global_examples_ = static_cast<int64_t>(examples);
  const float scale = static_cast<float>(1.0 / examples);
  for (Bucket& bucket : buckets_) unpack(bucket, scale);
  ++stats_.steps;
  return loss_sum / examples;
}

void DataParallel::sync_buffers() { broadcast_buffers(); }

// Rank 0's buffers to every rank: the float ones in one message, the int32 ones (batch norm's
// num_batches_tracked) in another.
void DataParallel::broadcast_buffers() {
  if (buffers_.empty() || world_size() == 1) return;
  float_buffers_.clear();
  int_buffers_.clear();
  for (const Tensor& b : buffers_) {
    const Tensor host = dispatch::contiguous(dispatch::to_device(b, Device::cpu()));
    if (b.dtype() == DType::int32)
      int_buffers_.insert(int_buffers_.end(), host.data<int32_t>(), host.data<int32_t>() + host.numel());
    else
      float_buffers_.insert(float_buffers_.end(), host.data<float>(), host.data<float>() + host.numel());
  }
  broadcast(std::span<float>(float_buffers_), 0);
  broadcast(std::span<int32_t>(int_buffers_), 0);
  if (rank() == 0) return;
  NoGradGuard no_grad;
  size_t f = 0, i = 0;
  for (const Tensor& b : buffers_) {
    const bool ints = b.dtype() == DType::int32;
    const void* src = ints ? static_cast<const void*>(int_buffers_.data() + i) : float_buffers_.data() + f;
    const size_t n = static_cast<size_t>(b.numel()), bytes = n * 4;  // int32 and float32 alike
    (ints ? i : f) += n;
    if (b.device().is_cpu() && b.is_contiguous()) {  // in place: no allocation in a training loop
      std::memcpy(b.data_ptr(), src, bytes);
      continue;
    }
    Tensor host = Tensor::empty(b.shape(), {.dtype = b.dtype()});
    std::memcpy(host.data_ptr(), src, bytes);
    dispatch::copy_into(b, dispatch::to_device(host, b.device()), "DataParallel");
  }
}

}  // namespace minidl::distributed
