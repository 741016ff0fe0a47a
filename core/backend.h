// The one place that maps a Device to the kernels::Backend that runs its ops and owns its memory.
#pragma once

#include "core/device.h"
#include "kernels/backend.h"

namespace minidl {

/// The backend for `device`; throws Error when this build has no backend for it.
const kernels::Backend& backend_for(Device device);

/// Threads used by CPU kernels and OpenBLAS together (default: the number of cores).
void set_num_threads(int n);
int num_threads();

}  // namespace minidl
