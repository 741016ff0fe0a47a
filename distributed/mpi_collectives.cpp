// The collectives over MPI. Each one is started non-blocking (MPI_Iallreduce, MPI_Ibcast,
// MPI_Ibarrier) and waited for under the watchdog (mpi_watchdog.cpp), so that no call can block
// forever on a rank that is gone. Tensors on a GPU go through host memory unless the MPI library
// is CUDA-aware.
#include <climits>
#include <vector>

#include "core/backend.h"
#include "core/dispatch.h"
#include "distributed/collectives.h"
#include "distributed/mpi_detail.h"  // <mpi.h>, which must come before <mpi-ext.h>
#include "distributed/world.h"

#if __has_include(<mpi-ext.h>)
#include <mpi-ext.h>  // Open MPI's extensions: MPIX_Query_cuda_support
#endif

namespace minidl::distributed {

namespace {

template <class T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<float>() {
  return MPI_FLOAT;
}
template <>
MPI_Datatype mpi_type<double>() {
  return MPI_DOUBLE;
}
template <>
MPI_Datatype mpi_type<int32_t>() {
  return MPI_INT32_T;
}
template <>
MPI_Datatype mpi_type<uint64_t>() {
  return MPI_UINT64_T;
}

int count_of(size_t n, const char* what) {
  check(n <= static_cast<size_t>(INT_MAX), what, ": ", n, " elements exceed MPI's count (int)");
  return static_cast<int>(n);
}

template <class T>
void reduce(std::span<T> data, ReduceOp op, const char* what) {
  check(op != ReduceOp::average || !std::is_integral_v<T>, what, ": average needs float32 or float64 data, got int32");
  if (world_size() == 1 || data.empty()) return;
  const uint64_t seq = mpi::next_collective();
  MPI_Request request;
  mpi::check_mpi(MPI_Iallreduce(MPI_IN_PLACE, data.data(), count_of(data.size(), what), mpi_type<T>(),
                                op == ReduceOp::max ? MPI_MAX : MPI_SUM, mpi::data_comm(), &request),
                 what);
  mpi::watched_wait(request, seq, what);
  if (op == ReduceOp::average)
    for (T& x : data) x /= static_cast<T>(world_size());
}

template <class T>
void bcast(std::span<T> data, int root, const char* what) {
  check(root >= 0 && root < world_size(), what, ": root ", root, " is not a rank of this world of ", world_size());
  if (world_size() == 1 || data.empty()) return;
  const uint64_t seq = mpi::next_collective();
  MPI_Request request;
  mpi::check_mpi(MPI_Ibcast(data.data(), count_of(data.size(), what), mpi_type<T>(), root, mpi::data_comm(), &request),
                 what);
  mpi::watched_wait(request, seq, what);
}

// Runs `f` on the tensor's elements as a host span of T: in place on the CPU, or for a GPU tensor
// on device memory (CUDA-aware MPI) or a host copy that is written back afterwards.
template <class T, class F>
void on_host_span(const Tensor& t, const char* what, F&& f) {
  dispatch::check_defined(t, what);
  check(t.is_contiguous(), what, ": needs a contiguous tensor, got shape ", t.shape(), " strides ", t.strides());
  if (t.device().is_cpu()) return f(std::span<T>(t.data<T>(), static_cast<size_t>(t.numel())));
  synchronize(t.device());  // the kernels that wrote it have finished
  if (cuda_aware()) return f(std::span<T>(static_cast<T*>(t.data_ptr()), static_cast<size_t>(t.numel())));
  Tensor host = dispatch::to_device(t, Device::cpu());
  f(std::span<T>(host.data<T>(), static_cast<size_t>(host.numel())));
  dispatch::copy_into(t, dispatch::to_device(host, t.device()), what);
}

// Collective slots for Request: MPI_Request values live here so that the public header needs no
// <mpi.h>. Slots are reused, so a training loop's requests allocate nothing once warm.
struct Slot {
  MPI_Request request = MPI_REQUEST_NULL;
  uint64_t seq = 0;
  bool in_use = false;
};
std::vector<Slot> slots;

}  // namespace

bool cuda_aware() {
#if defined(MPIX_CUDA_AWARE_SUPPORT) && MPIX_CUDA_AWARE_SUPPORT
  static const bool aware = cuda::is_built() && MPIX_Query_cuda_support() == 1;
  return aware;
#else
  return false;  // this MPI cannot say, or was built without CUDA: stage through the host
#endif
}

void all_reduce(std::span<float> data, ReduceOp op) { reduce(data, op, "all_reduce"); }
void all_reduce(std::span<double> data, ReduceOp op) { reduce(data, op, "all_reduce"); }
void all_reduce(std::span<int32_t> data, ReduceOp op) { reduce(data, op, "all_reduce"); }

void all_reduce(const Tensor& tensor, ReduceOp op) {
  if (world_size() == 1) return;
  if (tensor.defined() && tensor.dtype() == DType::int32)
    on_host_span<int32_t>(tensor, "all_reduce", [&](std::span<int32_t> s) { reduce(s, op, "all_reduce"); });
  else
    on_host_span<float>(tensor, "all_reduce", [&](std::span<float> s) { reduce(s, op, "all_reduce"); });
}

void broadcast(std::span<float> data, int root) { bcast(data, root, "broadcast"); }
void broadcast(std::span<int32_t> data, int root) { bcast(data, root, "broadcast"); }
void broadcast(std::span<uint64_t> data, int root) { bcast(data, root, "broadcast"); }

void broadcast(const Tensor& tensor, int root) {
  if (world_size() == 1) return;
  if (tensor.defined() && tensor.dtype() == DType::int32)
    on_host_span<int32_t>(tensor, "broadcast", [&](std::span<int32_t> s) { bcast(s, root, "broadcast"); });
  else
    on_host_span<float>(tensor, "broadcast", [&](std::span<float> s) { bcast(s, root, "broadcast"); });
}

void barrier() {
  if (world_size() == 1) return;
  const uint64_t seq = mpi::next_collective();
  MPI_Request request;
  mpi::check_mpi(MPI_Ibarrier(mpi::data_comm(), &request), "barrier");
  mpi::watched_wait(request, seq, "barrier");
}

Request all_reduce_async(std::span<float> data, ReduceOp op, const char* what) {
  check(op != ReduceOp::average, what, ": all_reduce_async sums (or takes the max); divide after wait()");
  Request r;
  r.what_ = what;
  if (world_size() == 1 || data.empty()) return r;  // nothing in flight: done at once
  size_t i = 0;
  while (i < slots.size() && slots[i].in_use) ++i;
  if (i == slots.size()) slots.emplace_back();
  Slot& slot = slots[i];
  slot.seq = mpi::next_collective();
  mpi::check_mpi(MPI_Iallreduce(MPI_IN_PLACE, data.data(), count_of(data.size(), what), MPI_FLOAT,
                                op == ReduceOp::max ? MPI_MAX : MPI_SUM, mpi::data_comm(), &slot.request),
                 what);
  slot.in_use = true;
  r.handle_ = i + 1;
  return r;
}

Request::Request(Request&& other) noexcept : handle_(other.handle_), what_(other.what_) { other.handle_ = 0; }

Request& Request::operator=(Request&& other) noexcept {
  if (this != &other) {  // a request this one still held is dropped in flight (see ~Request)
    handle_ = other.handle_;
    what_ = other.what_;
    other.handle_ = 0;
  }
  return *this;
}

// NOTE: MPI forbids freeing a collective in flight, and waiting here could block on a dead rank or
// throw from a destructor. A request dropped in flight (a run failing with an exception) keeps its
// slot forever; whoever owns its buffer must keep that alive too (DataParallel does).
Request::~Request() = default;

bool Request::test() {
  if (handle_ == 0) return true;
  Slot& slot = slots[handle_ - 1];
  int done = 0;
  mpi::check_mpi(MPI_Test(&slot.request, &done, MPI_STATUS_IGNORE), what_);
  if (!done) return false;
  slot.in_use = false;
  handle_ = 0;
  return true;
}

void Request::wait(const char* what) {
  if (handle_ == 0) return;
  Slot& slot = slots[handle_ - 1];
  mpi::watched_wait(slot.request, slot.seq, what);
  slot.in_use = false;
  handle_ = 0;
}

}  // namespace minidl::distributed
