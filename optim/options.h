// An optimizer's options as data, so that C++, the registry and the command line set them the same
// way. Each optimizer's Options aggregate lists its fields once, in a static fields() function:
//
//   struct Options {
//     float lr = 1e-3f;
//     Betas betas = {0.9f, 0.999f};
//     static constexpr auto fields() {
//       return std::tuple{field("lr", &Options::lr, "learning rate"), field("betas", &Options::betas, "…")};
//     }
//   };
//
// and parse_options<Options>() turns "key=value" strings (what `--opt betas=0.9,0.99` gives) into it,
// with one-line errors naming the optimizer and the option; option_infos<Options>() lists names,
// types and defaults (for --help). A field's type is float, bool, int64_t, Betas, or any type with
// parse_option/format_option overloads found by argument-dependent lookup (Nesterov::Form).
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <minidl/core/error.h>

namespace minidl::optim {

/// Adam's (β1, β2): pair-like, constructible from {b1, b2}.
using Betas = std::pair<float, float>;

/// Options as the command line gives them: (key, value) in order, e.g. {"betas", "0.9,0.99"}.
using OptionValues = std::vector<std::pair<std::string, std::string>>;

/// What --help and the registry show of one option.
struct OptionInfo {
  std::string name, type, default_value, help;
};

template <class O, class T>
struct Field {
  const char* name;
  T O::*member;
  const char* help;
};
template <class O, class T>
constexpr Field<O, T> field(const char* name, T O::*member, const char* help) {
  return {name, member, help};
}

// Text ↔ value for the field types; parse_option returns false on ill-formed text.
bool parse_option(const std::string& text, float& value);
bool parse_option(const std::string& text, bool& value);
bool parse_option(const std::string& text, int64_t& value);
bool parse_option(const std::string& text, Betas& value);
std::string format_option(float value);
std::string format_option(bool value);
std::string format_option(int64_t value);
std::string format_option(const Betas& value);
const char* option_type(const float&);
const char* option_type(const bool&);
const char* option_type(const int64_t&);
const char* option_type(const Betas&);

/// "key=value" → {key, value}; throws Error when there is no '='.
std::pair<std::string, std::string> split_option(const std::string& text);

/// The fields of O: names, types, defaults (those of a value-initialized O) and help.
template <class O>
std::vector<OptionInfo> option_infos() {
  std::vector<OptionInfo> infos;
  const O defaults{};
  std::apply(
      [&](const auto&... f) {
        (infos.push_back({f.name, option_type(defaults.*f.member), format_option(defaults.*f.member), f.help}), ...);
      },
      O::fields());
  return infos;
}

/// Every field of `options`, formatted, in declaration order.
template <class O>
OptionValues format_options(const O& options) {
  OptionValues out;
  std::apply([&](const auto&... f) { (out.emplace_back(f.name, format_option(options.*f.member)), ...); }, O::fields());
  return out;
}

/// Sets the fields named in `values` on a copy of `base`. An unknown key, a key given twice or a
/// value of the wrong type throws Error naming `optimizer` and the option:
///   "adam: unknown option 'momentum' (adam takes: lr, betas, eps, weight_decay, amsgrad)"
///   "adam: option betas: expected two numbers (β1,β2), got '0.9'"
template <class O>
O parse_options(const char* optimizer, const OptionValues& values, O base = {}) {
  for (size_t i = 0; i < values.size(); ++i) {
    // NOTE: plain references, not a structured binding: clang before 16 cannot capture those.
    const std::string& key = values[i].first;
    const std::string& text = values[i].second;
    for (size_t j = 0; j < i; ++j)
      check(values[j].first != key, optimizer, ": option '", key, "' given twice ('", values[j].second, "' and '", text,
            "')");
    bool known = false;
    std::apply(
        [&](const auto&... f) {
          ((key == f.name ? (known = true, check(parse_option(text, base.*f.member), optimizer, ": option ", key,
                                                 ": expected ", option_type(base.*f.member), ", got '", text, "'"))
                          : void()),
           ...);
        },
        O::fields());
    if (!known) {
      std::string names;
      std::apply([&](const auto&... f) { ((names += (names.empty() ? "" : ", ") + std::string(f.name)), ...); },
                 O::fields());
      fail(optimizer, ": unknown option '", key, "' (", optimizer, " takes: ", names, ")");
    }
  }
  return base;
}

}  // namespace minidl::optim
