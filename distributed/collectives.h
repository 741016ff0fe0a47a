// Collectives over the world of distributed/world.h: every rank calls the same ones in the same order,
// with buffers of the same size. In place: each rank's buffer ends holding the result. With one
// rank they return at once (average divides by 1).
//
// Every wait is watched (distributed/world.h: timeout()), and errors are PeerError, on every function here.
// Tensors may live on a GPU: the data is staged through host memory, unless the MPI library is
// CUDA-aware (cuda_aware()), when it reads device memory itself.
#pragma once

#include <cstdint>
#include <span>

#include <minidl/core/tensor.h>

namespace minidl::distributed {

/// sum and average of float32 and float64; sum and max of int32 (max: what ranks vote with).
enum class ReduceOp { sum, average, max };

void all_reduce(std::span<float> data, ReduceOp op);
void all_reduce(std::span<double> data, ReduceOp op);
void all_reduce(std::span<int32_t> data, ReduceOp op);
/// A contiguous float32 or int32 tensor, on any device.
void all_reduce(const Tensor& tensor, ReduceOp op);

/// Every rank receives root's data.
void broadcast(std::span<float> data, int root);
void broadcast(std::span<int32_t> data, int root);
void broadcast(std::span<uint64_t> data, int root);
/// A contiguous float32 or int32 tensor, on any device.
void broadcast(const Tensor& tensor, int root);

/// Returns once every rank has called it.
void barrier();

/// Whether the MPI library reads and writes GPU memory itself (Open MPI built with CUDA, asked at
/// run time through MPIX_Query_cuda_support); false without MPI or without CUDA.
bool cuda_aware();

/// A sum over the ranks in flight (MPI_Iallreduce): started by all_reduce_async, it advances while
/// the caller computes, as far as the MPI library moves it on its own or test() nudges it.
class Request {
 public:
  Request() = default;
  Request(Request&& other) noexcept;
  Request& operator=(Request&& other) noexcept;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  /// A request still in flight is completed (waited for) first: MPI may not free it earlier.
  ~Request();

  /// Lets MPI progress; true once the result is in the buffer (and from then on).
  bool test();
  /// Waits for the result under the watchdog; `what` names the collective in its report.
  void wait(const char* what);
  bool active() const { return handle_ != 0; }

 private:
  friend Request all_reduce_async(std::span<float> data, ReduceOp op, const char* what);
  uint64_t handle_ = 0;  // an index into the MPI requests of mpi_collectives.cpp; 0: none
  const char* what_ = "";
};

/// Starts the sum (or max) of `data` over the ranks without waiting for it. `data` must stay alive
/// and untouched until the request completes. `what` names it in the watchdog's report.
Request all_reduce_async(std::span<float> data, ReduceOp op, const char* what);

}  // namespace minidl::distributed
