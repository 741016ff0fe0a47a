#include "optim/registry.h"

#include "optim/adagrad.h"
#include "optim/adam.h"
#include "optim/adamw.h"
#include "optim/momentum.h"
#include "optim/nesterov.h"
#include "optim/rmsprop.h"
#include "optim/sgd.h"

namespace minidl::optim {

namespace {

// Built-in optimizers, one line each. An explicit table rather than self-registering statics, which
// the linker drops from a static library when nothing references their file.
std::vector<OptimizerSpec>& table() {
  static std::vector<OptimizerSpec> entries = {
      spec<SGD>("sgd"),     spec<Momentum>("momentum"), spec<Nesterov>("nesterov"), spec<Adam>("adam"),
      spec<AdamW>("adamw"), spec<RMSprop>("rmsprop"),   spec<Adagrad>("adagrad"),
  };
  return entries;
}

bool has_option(const OptimizerSpec& s, std::string_view option) {
  for (const OptionInfo& o : s.options)
    if (o.name == option) return true;
  return false;
}

// The config as key=value options: its shorthands first (those that say "none" dropped where the
// optimizer has no such option), then its own list.
OptionValues option_values(const OptimizerSpec& s, const OptimizerConfig& c) {
  OptionValues out;
  if (c.lr) out.emplace_back("lr", format_option(*c.lr));
  const auto shorthand = [&](const char* key, std::optional<float> value) {
    if (!value || (*value == 0.f && !has_option(s, key))) return;
    out.emplace_back(key, format_option(*value));
  };
  shorthand("momentum", c.momentum);
  shorthand("dampening", c.dampening);
  // weight_decay 0 is "unset": the optimizer's default stays (AdamW's is 1e-2; --opt weight_decay=0 turns it off).
  if (c.weight_decay != 0.f) out.emplace_back("weight_decay", format_option(c.weight_decay));
  if (!c.form.empty()) out.emplace_back("form", c.form);
  for (const auto& [key, value] : c.options) {
    check(key != "lr", s.name, ": set the learning rate with --lr, not as an option");
    out.emplace_back(key, value);
  }
  return out;
}

}  // namespace

std::vector<std::string> optimizer_names() {
  std::vector<std::string> names;
  for (const OptimizerSpec& e : table()) names.push_back(e.name);
  return names;
}

const OptimizerSpec& optimizer_spec(std::string_view name) {
  for (const OptimizerSpec& e : table())
    if (e.name == name) return e;
  std::string known;
  for (const OptimizerSpec& e : table()) known += (known.empty() ? "" : ", ") + e.name;
  fail("unknown optimizer '", name, "' (known: ", known,
       "; one defined in a plugin needs --plugin LIBRARY.so before the command, e.g. minidl --plugin "
       "libminidl_lion.so train --optimizer lion)");
}

float default_lr(std::string_view name) {
  const OptimizerSpec& s = optimizer_spec(name);
  for (const OptionInfo& o : s.options) {
    float lr = 0.f;
    if (o.name == "lr" && parse_option(o.default_value, lr)) return lr;  // exact: format_option round-trips
  }
  fail(name, ": declares no default lr (it was registered with a factory, not an Options aggregate); give one");
}

std::unique_ptr<Optimizer> make_optimizer(std::string_view name, std::vector<Tensor> params,
                                          const OptimizerConfig& config) {
  const OptimizerSpec& s = optimizer_spec(name);
  if (s.legacy) return s.legacy(std::move(params), config);
  return s.make(std::move(params), option_values(s, config));
}

std::unique_ptr<Optimizer> make_optimizer(std::string_view name, std::vector<DecayGroup> groups,
                                          OptimizerConfig config) {
  std::erase_if(groups, [](const DecayGroup& g) { return g.params.empty(); });
  check(!groups.empty(), name, ": no parameters in any group");
  // The first group's decay as an explicit option: config.weight_decay 0 would mean "the default".
  const OptimizerSpec& s = optimizer_spec(name);
  std::erase_if(config.options, [](const auto& kv) { return kv.first == "weight_decay"; });
  config.weight_decay = s.legacy ? groups.front().weight_decay : 0.f;
  if (!s.legacy) config.options.emplace_back("weight_decay", format_option(groups.front().weight_decay));
  std::unique_ptr<Optimizer> optimizer = make_optimizer(name, std::move(groups.front().params), config);
  for (size_t i = 1; i < groups.size(); ++i)
    optimizer->add_param_group({std::move(groups[i].params), optimizer->lr(), groups[i].weight_decay});
  return optimizer;
}

OptionValues optimizer_options_in_use(std::string_view name, const OptimizerConfig& config) {
  const OptimizerSpec& s = optimizer_spec(name);
  if (s.legacy) return {};
  const OptionValues all = s.resolve(option_values(s, config));
  OptionValues used;
  for (size_t i = 0; i < all.size(); ++i) {
    const auto& [key, value] = all[i];
    const OptionInfo& info = s.options[i];
    const bool off = value == info.default_value &&
                     (value == "0" || value == "false" || info.type.find(" or ") != std::string::npos);
    if (key != "lr" && !off) used.emplace_back(key, value);
  }
  return used;
}

std::string optimizers_help() {
  std::string out;
  for (const OptimizerSpec& e : table()) {
    out += "  " + e.name + std::string(e.name.size() < 10 ? 10 - e.name.size() : 1, ' ');
    if (e.legacy) out += "(options of its own)";
    for (const OptionInfo& o : e.options) out += " " + o.name + "=" + o.default_value;
    out += "\n";
  }
  return out;
}

void register_optimizer(OptimizerSpec spec) {
  for (const OptimizerSpec& e : table())
    check(e.name != spec.name, "register_optimizer: '", spec.name, "' is already registered");
  check(static_cast<bool>(spec.make) || static_cast<bool>(spec.legacy), "register_optimizer: no factory given for '",
        spec.name, "'");
  table().push_back(std::move(spec));
}

void register_optimizer(std::string name, OptimizerFactory factory) {
  register_optimizer(OptimizerSpec{std::move(name), {}, {}, {}, std::move(factory)});
}

}  // namespace minidl::optim
