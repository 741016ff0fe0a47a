// distributed/ in a build without MPI: the world is this process alone. Collectives check their arguments
// as the MPI versions do and return (a sum over one rank is the data itself); joining a larger
// world says why it cannot.
#include <string>

#include "distributed/collectives.h"
#include "distributed/world.h"

namespace minidl::distributed {

namespace {
double timeout_seconds = 60;

template <class T>
void reduce(std::span<T>, ReduceOp op) {
  check(op != ReduceOp::average || !std::is_integral_v<T>,
        "all_reduce: average needs float32 or float64 data, got int32");
}
}  // namespace

bool is_built() { return false; }

std::string unavailable_reason() {
#ifdef MINIDL_MPI_OFF
  return "this minidl was built without MPI (configured with -DMINIDL_MPI=OFF; configure with -DMINIDL_MPI=ON and "
         "build again)";
#else
  return "this minidl was built without MPI (none was found when it was configured: install libopenmpi-dev and "
         "openmpi-bin, then configure and build again)";
#endif
}

void init() { throw Error("distributed::init: cannot join a world of several processes: " + unavailable_reason()); }
bool is_initialized() { return false; }
void finalize() {}
int rank() { return 0; }
int world_size() { return 1; }
int local_rank() { return 0; }
int local_size() { return 1; }
double timeout() { return timeout_seconds; }
void set_timeout(double seconds) {
  check(seconds > 0, "distributed::set_timeout: seconds must be > 0, got ", seconds);
  timeout_seconds = seconds;
}

bool cuda_aware() { return false; }
void all_reduce(std::span<float> data, ReduceOp op) { reduce(data, op); }
void all_reduce(std::span<double> data, ReduceOp op) { reduce(data, op); }
void all_reduce(std::span<int32_t> data, ReduceOp op) { reduce(data, op); }
void all_reduce(const Tensor& tensor, ReduceOp op) {
  check(!tensor.defined() || tensor.dtype() != DType::int32 || op != ReduceOp::average,
        "all_reduce: average needs float32 or float64 data, got int32");
}
void broadcast(std::span<float>, int root) {
  check(root == 0, "broadcast: root ", root, " is not a rank of this world of 1");
}
void broadcast(std::span<int32_t>, int root) {
  check(root == 0, "broadcast: root ", root, " is not a rank of this world of 1");
}
void broadcast(std::span<uint64_t>, int root) {
  check(root == 0, "broadcast: root ", root, " is not a rank of this world of 1");
}
void broadcast(const Tensor&, int root) {
  check(root == 0, "broadcast: root ", root, " is not a rank of this world of 1");
}
void barrier() {}

Request all_reduce_async(std::span<float>, ReduceOp op, const char* what) {
  check(op != ReduceOp::average, what, ": all_reduce_async sums (or takes the max); divide after wait()");
  Request r;
  r.what_ = what;
  return r;
}
Request::Request(Request&& other) noexcept : handle_(other.handle_), what_(other.what_) { other.handle_ = 0; }
Request& Request::operator=(Request&& other) noexcept {
  handle_ = other.handle_;
  what_ = other.what_;
  other.handle_ = 0;
  return *this;
}
Request::~Request() = default;
bool Request::test() { return true; }
void Request::wait(const char*) {}

}  // namespace minidl::distributed
