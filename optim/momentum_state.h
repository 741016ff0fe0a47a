// Saving and restoring momentum buffers, shared by Momentum and Nesterov: the buffer of parameter i
// is "momentum_buffer.i"; buffers not created yet (no step so far) are absent.
#pragma once

#include <vector>

#include "optim/optimizer.h"

namespace minidl::optim {

NamedTensors momentum_state(const std::vector<Tensor>& buffers);
void load_momentum_state(const char* optimizer, const std::vector<ParamGroup>& groups, const NamedTensors& state,
                         std::vector<Tensor>& buffers);

}  // namespace minidl::optim
