#include "optim/registry.h"

#include "optim/momentum.h"
#include "optim/nesterov.h"
#include "optim/sgd.h"

namespace minidl::optim {

namespace {

struct Entry {
  std::string name;
  OptimizerFactory make;
};

// An option the optimizer does not have may only be left unset or set to 0.
void reject(const std::optional<float>& value, const char* optimizer, const char* option) {
  check(!value.has_value() || *value == 0.f, optimizer, ": does not use ", option, ", got ", value.value_or(0.f));
}

template <class T>
std::unique_ptr<Optimizer> make(std::vector<Tensor> params, typename T::Options options) {
  return std::make_unique<T>(std::move(params), options);
}

// Built-in optimizers, one entry each: the name and how the command line's options map onto the
// optimizer's own. An explicit table rather than self-registering statics, which the linker drops
// from a static library when nothing references their file.
std::vector<Entry>& table() {
  using Params = std::vector<Tensor>;
  static std::vector<Entry> entries = {
      {"sgd",
       [](Params p, const OptimizerConfig& c) {
         reject(c.momentum, "sgd", "momentum (use --optimizer momentum or nesterov)");
         reject(c.dampening, "sgd", "dampening");
         check(c.form.empty(), "sgd: has no forms (--nesterov-form is for nesterov), got '", c.form, "'");
         return make<SGD>(std::move(p), {.lr = c.lr, .weight_decay = c.weight_decay});
       }},
      {"momentum",
       [](Params p, const OptimizerConfig& c) {
         check(c.form.empty(), "momentum: has no forms (--nesterov-form is for nesterov), got '", c.form, "'");
         return make<Momentum>(std::move(p), {.lr = c.lr,
                                              .momentum = c.momentum.value_or(0.9f),
                                              .dampening = c.dampening.value_or(0.f),
                                              .weight_decay = c.weight_decay});
       }},
      {"nesterov",
       [](Params p, const OptimizerConfig& c) {
         reject(c.dampening, "nesterov", "dampening (Nesterov momentum needs dampening = 0)");
         return make<Nesterov>(std::move(p), {.lr = c.lr,
                                              .momentum = c.momentum.value_or(0.9f),
                                              .weight_decay = c.weight_decay,
                                              .form = c.form.empty() ? Nesterov::Form::pytorch
                                                                     : parse_nesterov_form(c.form)});
       }},
  };
  return entries;
}

}  // namespace

std::vector<std::string> optimizer_names() {
  std::vector<std::string> names;
  for (const Entry& e : table()) names.push_back(e.name);
  return names;
}

std::unique_ptr<Optimizer> make_optimizer(std::string_view name, std::vector<Tensor> params,
                                          const OptimizerConfig& config) {
  for (const Entry& e : table())
    if (e.name == name) return e.make(std::move(params), config);
  std::string known;
  for (const Entry& e : table()) known += (known.empty() ? "" : ", ") + e.name;
  fail("unknown optimizer '", name, "' (known: ", known, ")");
}

void register_optimizer(std::string name, OptimizerFactory factory) {
  for (const Entry& e : table()) check(e.name != name, "register_optimizer: '", name, "' is already registered");
  check(static_cast<bool>(factory), "register_optimizer: no factory given for '", name, "'");
  table().push_back({std::move(name), std::move(factory)});
}

}  // namespace minidl::optim
