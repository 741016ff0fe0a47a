#include "core/backend.h"

#include "core/error.h"
#include "kernels/cpu/cpu.h"

namespace minidl {

const kernels::Backend& backend_for(Device device) {
  if (device.is_cpu()) return kernels::cpu::backend();
  fail("minidl was built without a CUDA backend: cannot use ", device,
       " (the CUDA kernels are not part of this version; use Device::cpu())");
}

void set_num_threads(int n) {
  check(n >= 1, "set_num_threads: need at least 1 thread, got ", n);
  kernels::cpu::set_num_threads(n);
}

int num_threads() { return kernels::cpu::num_threads(); }

}  // namespace minidl
