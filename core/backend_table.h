// Internal: the one place that maps a Device to the kernels::Backend that runs its ops and owns its
// memory. Not installed; users reach kernels through ops (autograd/custom_op.h for their own).
#pragma once

#include "core/backend.h"
#include "core/device.h"
#include "kernels/backend.h"

namespace minidl {

/// The backend for `device`; throws Error when this build has no backend for it, or when the device
/// does not exist on this machine (the message says how many there are, or why there are none).
const kernels::Backend& backend_for(Device device);

}  // namespace minidl
