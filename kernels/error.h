// minidl::Error, the one exception minidl throws, and check(), the one way it is thrown.
// Library code never aborts or exits: misuse becomes an Error whose message names the op and the
// shapes, dtypes, devices or path involved, and only a program's main() decides what to do with it.
// It lives in the bottom module because backends can fail too (a CUDA call, a cuBLAS status); every
// other module reaches it through core/error.h.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace minidl {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

/// Throws Error with the arguments streamed one after another:
///   fail("matmul: shapes ", a.shape(), " and ", b.shape(), " are not aligned")
template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(detail::concat(args...));
}

/// fail(args...) unless `cond`. The message is only formatted when the check fails.
template <class... Args>
inline void check(bool cond, const Args&... args) {
  if (!cond) [[unlikely]]
    fail(args...);
}

}  // namespace minidl
