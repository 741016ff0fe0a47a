// Optimizer telemetry (`minidl train --telemetry FILE.jsonl`, or a hook on a run::Trainer): one JSON line per step and parameter
// group, with what shapes an update, for any optimizer (its state slots come from the base class,
// by name):
//   grad_norm      ‖g‖ of the group's gradients
//   buffer_norm    ‖b‖ after the step of its direction slot (a momentum buffer, Adam's exp_avg;
//                  null without one)
//   cos_grad_buffer  cos(g, b) with b from before the step: +1 when the gradient keeps the
//                  direction momentum has built up, negative when it turns against it (oscillation)
//   update_ratio   ‖Δθ‖ / ‖θ‖: how far the step moved the weights, relative to their size
//   state_norms    ‖s‖ after the step of every state slot, by name (e.g. exp_avg_sq, sum)
//   lr
//   layers         the same four figures for each parameter of the group, by its name ("0.weight"):
//                  [{"name", "grad_norm", "buffer_norm", "cos_grad_buffer", "update_ratio"}, …]
// Each figure is one fused reduction per tensor (dispatch::sum_squares, dispatch::dot), plus a
// snapshot of θ for Δθ; nothing runs when telemetry is off. Reports (cli/report.h) and
// scripts/plot_metrics.py draw them.
#pragma once

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <minidl/optim/optimizer.h>
#include <minidl/run/hook.h>

namespace minidl::data {
class OutputFile;
}

namespace minidl::run {

/// Attached to a Trainer (add_hook) it measures every step; or called by hand around a step.
class Telemetry : public Hook {
 public:
  /// `names`: the model's named parameters, to name each layer's figures (unnamed: "param i").
  Telemetry(const std::string& path, const optim::Optimizer& optimizer, const NamedTensors& names = {});
  ~Telemetry() override;
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;
  /// Before step(): keeps θ to measure Δθ.
  void before_step();
  /// Inside the step's closure, after backward(): the gradients and the buffers from before.
  void gradients_ready();
  /// After step(): writes the step's lines.
  void after_step(int64_t step);
  /// Writes what is buffered (after_step writes each step's lines itself), so the file can be read
  /// (by --report) while the run goes on.
  void flush();

  void on_step_begin(const Trainer&) override { before_step(); }
  void on_backward(const Trainer&) override { gradients_ready(); }
  void on_step(const Trainer&, const StepReport& step) override { after_step(step.step); }

 private:
  std::vector<Tensor> slot(const std::string& name) const;  // per parameter, undefined where none
  std::unique_ptr<data::OutputFile> file_;  // streamed under the output policy (data/atomic_file.h)
  std::ostringstream out_;  // the step's lines, written to file_ at once
  const optim::Optimizer& optimizer_;
  std::vector<Tensor> before_;
  std::vector<std::string> names_;                        // per parameter, in the groups' order
  std::vector<double> grad_sq_, dot_, buffer_before_sq_;  // per parameter
};

}  // namespace minidl::run
