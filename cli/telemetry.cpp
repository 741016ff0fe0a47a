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

// The optimizer's momentum-like state, by parameter index: "momentum_buffer.i" (SGD family) or
// "exp_avg.i" (Adam's first moment).
std::vector<Tensor> Telemetry::buffers() const {
  int64_t count = 0;
  for (const auto& g : optimizer_.param_groups()) count += static_cast<int64_t>(g.params.size());
  std::vector<Tensor> out(static_cast<size_t>(count));
  for (const auto& [name, t] : optimizer_.state())
    for (const char* prefix : {"momentum_buffer.", "exp_avg."})
      if (name.starts_with(prefix) && name.find('.', std::strlen(prefix)) == std::string::npos) {
        const size_t i = std::stoul(name.substr(std::strlen(prefix)));
        if (i < out.size()) out[i] = t;
      }
  return out;
}

void Telemetry::before_step() {
  before_.clear();
  for (const auto& g : optimizer_.param_groups())
    for (const Tensor& p : g.params) before_.push_back(dispatch::copy(p));
}

void Telemetry::gradients_ready() {
  const auto& groups = optimizer_.param_groups();
  const std::vector<Tensor> b = buffers();
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
  const std::vector<Tensor> b = buffers();
  size_t i = 0;
  for (size_t k = 0; k < groups.size(); ++k) {
    double theta_sq = 0, delta_sq = 0, buffer_sq = 0;
    bool has_buffer = false;
    for (const Tensor& p : groups[k].params) {
      theta_sq += dispatch::sum_squares(p, "telemetry");
      delta_sq += dispatch::sum_squares(dispatch::binary(dispatch::BinaryOp::sub, p, before_[i], "telemetry"), "telemetry");
      if (b[i].defined()) has_buffer = true, buffer_sq += dispatch::sum_squares(b[i], "telemetry");
      ++i;
    }
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
    out_ << ",\"update_ratio\":" << (theta_sq > 0 ? std::sqrt(delta_sq / theta_sq) : 0.0) << "}\n";
  }
  check(out_.good(), "--telemetry: writing '", path_, "' failed");
}

}  // namespace minidl::cli
