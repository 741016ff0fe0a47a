#include "nn/sequential.h"

#include <string>
#include <typeinfo>

#include "nn/activation.h"
#include "nn/conv2d.h"
#include "nn/linear.h"
#include "nn/pooling.h"

namespace minidl::nn {

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& m : modules) push_back(m);
}

void Sequential::push_back(std::shared_ptr<Module> module) {
  register_module(std::to_string(size()), std::move(module));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  const auto& modules = children();
  for (size_t i = 0; i < modules.size(); ++i) {
    Module& m = *modules[i].second;
    const Module* next = i + 1 < modules.size() ? modules[i + 1].second.get() : nullptr;
    // A Linear followed by a ReLU runs as one fused op, bias and activation in one pass each way:
    // the same values as the two modules one after the other. Exact types only, so a subclass that
    // overrides forward() is always called.
    if (next && typeid(m) == typeid(Linear) && typeid(*next) == typeid(ReLU)) {
      h = static_cast<Linear&>(m).forward(h, functional::Activation::relu);
      ++i;
      continue;
    }
    // Likewise Conv2d + ReLU; and with a MaxPool2d after them (or right after the Conv2d), the three
    // run as one op that never stores the convolution's full-size output.
    if (typeid(m) == typeid(Conv2d)) {
      auto& conv = static_cast<Conv2d&>(m);
      const bool relu = next && typeid(*next) == typeid(ReLU);
      const size_t after = i + (relu ? 2 : 1);
      const Module* following = after < modules.size() ? modules[after].second.get() : nullptr;
      if (following && typeid(*following) == typeid(MaxPool2d)) {
        const auto& pool = static_cast<const MaxPool2d&>(*following);
        h = conv.forward(h, relu ? functional::Activation::relu : functional::Activation::none, pool.options());
        i = after;
        continue;
      }
      if (relu) {
        h = conv.forward(h, functional::Activation::relu);
        ++i;
        continue;
      }
    }
    h = m.forward(h);
  }
  return h;
}

Module& Sequential::operator[](size_t i) const {
  check(i < size(), "Sequential: index ", i, " out of range for ", size(), " modules");
  return *children()[i].second;
}

std::shared_ptr<Sequential> mlp(int64_t in_features, const std::vector<int64_t>& hidden, int64_t out_features,
                                Generator& gen) {
  auto model = std::make_shared<Sequential>();
  int64_t width = in_features;
  for (int64_t h : hidden) {
    model->emplace<Linear>(width, h, true, gen);
    model->emplace<ReLU>();
    width = h;
  }
  model->emplace<Linear>(width, out_features, true, gen);
  return model;
}

}  // namespace minidl::nn
