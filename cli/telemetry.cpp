#include "cli/telemetry.h"

#include <cmath>
#include <cstring>

#include "core/dispatch.h"
#include "core/error.h"

namespace minidl::cli {

Telemetry::Telemetry(const std::string& path, const optim::Optimizer& optimizer)
    : out_(path), path_(path), optimizer_(optimizer) {
  check(out_.good(), "--telemetry: cannot write '", path, "' (", std::strerror(errno), ")");
}

std::vector<Tensor> Telemetry::slot(const std::string& name) const {
  std::vector<Tensor> out;
  for (int64_t i = 0; i < optimizer_.num_params(); ++i) out.push_back(optimizer_.state(name, i));
  return out;
}

void Telemetry::before_step() {
  before_.clear();
  for (const auto& g : optimizer_.param_groups())
    for (const Tensor& p : g.params) before_.push_back(dispatch::copy(p));
}

void Telemetry::gradients_ready() {
  const auto& groups = optimizer_.param_groups();
  const std::vector<std::string> directions = optimizer_.direction_state_names();
  const std::vector<Tensor> b = directions.empty() ? std::vector<Tensor>(static_cast<size_t>(optimizer_.num_params()))
                                                   : slot(directions.front());
  grad_sq_.assign(groups.size(), 0.0);
  dot_.assign(groups.size(), 0.0);
  buffer_before_sq_.assign(groups.size(), 0.0);
  size_t i = 0;
  for (size_t k = 0; k < groups.size(); ++k)
    for (const Tensor& p : groups[k].params) {
      const Tensor& g = p.grad();
      if (g.defined()) grad_sq_[k] += dispatch::sum_squares(g, "telemetry");
      if (g.defined() && b[i].defined()) {
        dot_[k] += dispatch::dot(g, b[i], "telemetry");
        buffer_before_sq_[k] += dispatch::sum_squares(b[i], "telemetry");
      }
      ++i;
    }
}

void Telemetry::after_step(int64_t step) {
  const auto& groups = optimizer_.param_groups();
  const std::vector<std::string> names = optimizer_.state_names(), directions = optimizer_.direction_state_names();
  std::vector<std::vector<Tensor>> slots;  // [slot][parameter]
  for (const std::string& name : names) slots.push_back(slot(name));
  size_t first = 0;
  for (size_t k = 0; k < groups.size(); ++k) {
    double theta_sq = 0, delta_sq = 0, buffer_sq = 0;
    bool has_buffer = false;
    std::vector<double> slot_sq(names.size(), 0.0);
    std::vector<bool> slot_seen(names.size(), false);
    size_t i = first;
    for (const Tensor& p : groups[k].params) {
      theta_sq += dispatch::sum_squares(p, "telemetry");
      delta_sq += dispatch::sum_squares(dispatch::binary(dispatch::BinaryOp::sub, p, before_[i], "telemetry"), "telemetry");
      for (size_t s = 0; s < names.size(); ++s) {
        const Tensor& t = slots[s][i];
        if (!t.defined()) continue;
        const double sq = dispatch::sum_squares(t, "telemetry");
        slot_sq[s] += sq, slot_seen[s] = true;
        if (!directions.empty() && names[s] == directions.front()) has_buffer = true, buffer_sq += sq;
      }
      ++i;
    }
    first = i;
    const double grad_norm = std::sqrt(grad_sq_[k]);
    const double cos_denominator = grad_norm * std::sqrt(buffer_before_sq_[k]);
    out_ << "{\"step\":" << step << ",\"group\":" << k << ",\"lr\":" << groups[k].lr << ",\"grad_norm\":" << grad_norm
         << ",\"buffer_norm\":";
    if (has_buffer)
      out_ << std::sqrt(buffer_sq);
    else
      out_ << "null";
    out_ << ",\"cos_grad_buffer\":";
    if (cos_denominator > 0)
      out_ << dot_[k] / cos_denominator;
    else
      out_ << "null";
    out_ << ",\"update_ratio\":" << (theta_sq > 0 ? std::sqrt(delta_sq / theta_sq) : 0.0) << ",\"state_norms\":{";
    bool comma = false;
    for (size_t s = 0; s < names.size(); ++s)
      if (slot_seen[s]) out_ << (comma ? "," : "") << '"' << names[s] << "\":" << std::sqrt(slot_sq[s]), comma = true;
    out_ << "}}\n";
  }
  check(out_.good(), "--telemetry: writing '", path_, "' failed");
}

}  // namespace minidl::cli
