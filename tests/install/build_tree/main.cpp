// Links against the build tree's minidl and computes one thing with it.
#include <cstdio>

#include <minidl/minidl.h>

int main() {
  const minidl::Tensor x = minidl::Tensor::ones({2, 3});
  const float total = minidl::sum(x).item();
  std::printf("sum of a 2x3 tensor of ones: %g\n", total);
  return total == 6.f ? 0 : 1;
}
