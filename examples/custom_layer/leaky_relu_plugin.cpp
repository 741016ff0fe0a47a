// LeakyReLU (leaky_relu.h) as a layer kind of model descriptions, loaded into the minidl program as a
// plugin: one registration, and `--model 'linear(64) leaky_relu(0.1) linear(10)'` trains, draws in
// `graph` and the report, and saves, evaluates, resumes and predicts from checkpoints like a
// built-in layer (a checkpoint stores the description, so eval and resume load the plugin too):
//
//   build/minidl --plugin build/examples/custom_layer/libminidl_leaky_relu.so train \
//       --model 'linear(64) leaky_relu(0.1) linear(10)' --epochs 1
//
// The layer kind's function reads its arguments, checks them, declares the module's state (none
// here: a layer with weights calls b.state("weight", shape, true) for each, in state_dict order)
// and adds the module when building; it returns the shape of one example's output.
#include <memory>

#include "leaky_relu.h"

namespace {

using namespace minidl;

Shape leaky_relu_layer(nn::LayerBuilder& b) {
  const double slope = b.number("slope", 0.01);
  check(slope >= 0 && slope < 1, "model: ", b.text(), ": slope must be in [0, 1), got ", slope);
  if (b.building()) b.add(std::make_shared<example::LeakyReLU>(static_cast<float>(slope)));
  return b.input();  // elementwise: the shape it gets
}

const bool registered =
    (nn::register_layer(
         {"leaky_relu", {"slope"}, "leaky_relu(SLOPE=0.01)  LeakyReLU (examples/custom_layer)", leaky_relu_layer}),
     true);

}  // namespace
