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

/// The arguments streamed one after another into a string, as error messages are built:
///   str_cat("in_features=", 784, ", bias=", true)  →  "in_features=784, bias=1"
template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

/// Throws Error with the arguments streamed one after another:
///   fail("matmul: shapes ", a.shape(), " and ", b.shape(), " are not aligned")
template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(str_cat(args...));
}

/// fail(args...) unless `cond`. The message is only formatted when the check fails.
template <class... Args>
inline void check(bool cond, const Args&... args) {
  if (!cond) [[unlikely]]
    fail(args...);
}

}  // namespace minidl
