// A --plugin whose static initializer throws: it registers an optimizer under a name that is taken
// ("sgd"), which register_optimizer refuses. test_cli loads it and expects minidl to report the
// plugin's failure (exit 2) rather than end in std::terminate.
#include <minidl/optim/registry.h>

namespace {

const bool registered =
    (minidl::optim::register_optimizer("sgd",
                                       [](std::vector<minidl::Tensor>, const minidl::optim::OptimizerConfig&)
                                           -> std::unique_ptr<minidl::optim::Optimizer> { return nullptr; }),
     true);

}  // namespace
