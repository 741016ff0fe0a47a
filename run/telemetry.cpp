#include "run/telemetry.h"

#include <cmath>
#include <cstring>
#include <ostream>

#include "core/dispatch.h"
#include "core/error.h"
#include "data/atomic_file.h"

namespace minidl::run {

Telemetry::Telemetry(const std::string& path, const optim::Optimizer& optimizer, const NamedTensors& names)
    : file_(std::make_unique<data::OutputFile>(path, "--telemetry")), optimizer_(optimizer) {
  for (const auto& g : optimizer_.param_groups())
    for (const Tensor& p : g.params) {
      std::string name = "param " + std::to_string(names_.size());
      for (const auto& [n, t] : names)
        if (t.is_same(p)) name = n;
      names_.push_back(name);
    }
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
  const std::vector<Tensor> b =
      directions.empty() ? std::vector<Tensor>(static_cast<size_t>(optimizer_.num_params())) : slot(directions.front());
  const auto n = static_cast<size_t>(optimizer_.num_params());
  grad_sq_.assign(n, 0.0);
  dot_.assign(n, 0.0);
  buffer_before_sq_.assign(n, 0.0);
  size_t i = 0;
  for (const auto& group : groups)
    for (const Tensor& p : group.params) {
      const Tensor& g = p.grad();
      if (g.defined()) grad_sq_[i] = dispatch::sum_squares(g, "telemetry");
      if (g.defined() && b[i].defined()) {
        dot_[i] = dispatch::dot(g, b[i], "telemetry");
        buffer_before_sq_[i] = dispatch::sum_squares(b[i], "telemetry");
      }
      ++i;
    }
}

namespace {

// The four figures of a set of parameters (a group, or one layer's tensor) from their sums.
struct Figures {
  double grad_sq = 0, dot = 0, buffer_before_sq = 0, theta_sq = 0, delta_sq = 0, buffer_sq = 0;
  bool has_buffer = false;
  void add(const Figures& o) {
    grad_sq += o.grad_sq, dot += o.dot, buffer_before_sq += o.buffer_before_sq, theta_sq += o.theta_sq;
    delta_sq += o.delta_sq, buffer_sq += o.buffer_sq, has_buffer = has_buffer || o.has_buffer;
  }
  void write(std::ostream& out) const {
    const double grad_norm = std::sqrt(grad_sq), cos_denominator = grad_norm * std::sqrt(buffer_before_sq);
    out << "\"grad_norm\":" << grad_norm << ",\"buffer_norm\":";
    if (has_buffer)
      out << std::sqrt(buffer_sq);
    else
      out << "null";
    out << ",\"cos_grad_buffer\":";
    if (cos_denominator > 0)
      out << dot / cos_denominator;
    else
      out << "null";
    out << ",\"update_ratio\":" << (theta_sq > 0 ? std::sqrt(delta_sq / theta_sq) : 0.0);
  }
};

}  // namespace

void Telemetry::after_step(int64_t step) {
  const auto& groups = optimizer_.param_groups();
  const std::vector<std::string> names = optimizer_.state_names(), directions = optimizer_.direction_state_names();
  std::vector<std::vector<Tensor>> slots;  // [slot][parameter]
  for (const std::string& name : names) slots.push_back(slot(name));
  size_t i = 0;
  for (size_t k = 0; k < groups.size(); ++k) {
    Figures group;
    std::vector<Figures> layers;
    std::vector<double> slot_sq(names.size(), 0.0);
    std::vector<bool> slot_seen(names.size(), false);
    for (const Tensor& p : groups[k].params) {
      Figures f{.grad_sq = grad_sq_[i], .dot = dot_[i], .buffer_before_sq = buffer_before_sq_[i]};
      f.theta_sq = dispatch::sum_squares(p, "telemetry");
      f.delta_sq =
          dispatch::sum_squares(dispatch::binary(dispatch::BinaryOp::sub, p, before_[i], "telemetry"), "telemetry");
      for (size_t s = 0; s < names.size(); ++s) {
        const Tensor& t = slots[s][i];
        if (!t.defined()) continue;
        const double sq = dispatch::sum_squares(t, "telemetry");
        slot_sq[s] += sq, slot_seen[s] = true;
        if (!directions.empty() && names[s] == directions.front()) f.has_buffer = true, f.buffer_sq = sq;
      }
      group.add(f);
      layers.push_back(f);
      ++i;
    }
    out_ << "{\"step\":" << step << ",\"group\":" << k << ",\"lr\":" << groups[k].lr << ',';
    group.write(out_);
    out_ << ",\"state_norms\":{";
    bool comma = false;
    for (size_t s = 0; s < names.size(); ++s)
      if (slot_seen[s]) out_ << (comma ? "," : "") << '"' << names[s] << "\":" << std::sqrt(slot_sq[s]), comma = true;
    out_ << "},\"layers\":[";
    for (size_t l = 0; l < layers.size(); ++l) {
      out_ << (l ? ",{" : "{") << "\"name\":\"" << names_[i - layers.size() + l] << "\",";
      layers[l].write(out_);
      out_ << '}';
    }
    out_ << "]}\n";
  }
  flush();
}

Telemetry::~Telemetry() = default;

void Telemetry::flush() {
  file_->write(out_.view());
  out_.str({});
}

}  // namespace minidl::run
