// libFuzzer target: the model description parser and planner (nn/model_spec.h) on arbitrary text,
// for flat and image inputs: a description from a checkpoint someone else wrote must become a plan
// or a minidl::Error, never a crash, a hang or a huge allocation (plan_model allocates no tensor).
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "nn/model_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string spec(reinterpret_cast<const char*>(data), size);
  for (const minidl::Shape& input : {minidl::Shape{784}, minidl::Shape{1, 28, 28}}) {
    try {
      const minidl::nn::ModelPlan plan = minidl::nn::plan_model(spec, input);
      (void)plan.parameters;
    } catch (const minidl::Error&) {
    }
  }
  return 0;
}
