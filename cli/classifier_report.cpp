// How `minidl train`'s classifier runs are described in their reports (cli/report.h): what the
// settings in a summary mean (TrainConfig), which only the program knows.
#include <chrono>
#include <cstdio>
#include <sstream>

#include "cli/commands.h"
#include "cli/model.h"
#include "cli/report.h"
#include "data/atomic_file.h"
#include "optim/registry.h"
#include "report/format.h"

namespace minidl::cli {

namespace {

using report::code, report::escape_html, report::general, report::fixed;

std::string optimizer_html(const TrainConfig& c) {
  std::string out = code(c.optimizer) + ", lr " + optim::format_option(c.lr);  // exact, as the run used it
  try {
    for (const auto& [key, value] : optim::optimizer_options_in_use(c.optimizer, optimizer_config(c)))
      out += ", " + escape_html(key) + " " + escape_html(value);
  } catch (const Error&) {  // an optimizer from a plugin not loaded now: the options as given
    for (const auto& [key, value] : c.optimizer_options) out += ", " + escape_html(key) + " " + escape_html(value);
  }
  if (c.no_decay_bias) out += " (no weight decay on biases)";
  if (c.clip_grad_norm > 0) out += "; gradients clipped to a global norm of " + general(c.clip_grad_norm);
  if (c.skip_nonfinite) out += "; non-finite steps skipped";
  return out;
}

std::string schedule_text(const TrainConfig& c) {
  std::ostringstream s;
  s << (c.schedule == "none" ? "constant" : c.schedule + " schedule");
  if (c.schedule == "step")
    s << ", ×" << general(c.gamma) << " every " << (c.step_size ? c.step_size : (c.epochs + 2) / 3) << " epochs";
  if (c.schedule == "multistep") {
    s << ", ×" << general(c.gamma) << " at epochs";
    for (int64_t m : c.milestones) s << ' ' << m;
  }
  if (c.schedule == "exponential") s << ", ×" << general(c.gamma) << " per epoch";
  if (c.schedule == "plateau") s << ", ×" << general(c.gamma) << " after " << c.patience << " epochs without progress";
  if (c.schedule == "onecycle") s << ", rising for " << fixed(100 * c.pct_start, 0) << "% of the run";
  if (c.warmup_epochs > 0) s << ", after " << general(c.warmup_epochs) << " warm-up epochs";
  return s.str();
}

std::string model_html(const TrainConfig& c) {
  std::string out = code(model_name(c));
  const std::string spec = model_spec(c);
  if (spec != model_name(c)) out += ": " + code(spec);
  try {
    const nn::ModelPlan plan = plan_run_model(c);
    out += ", " + std::to_string(plan.parameters) + " parameters";
  } catch (const Error&) {
  }
  return out;
}

// The optimizer with the options it ran with, as the run headers print it.
std::string optimizer_text(const TrainConfig& c) {
  std::string s = c.optimizer + " lr " + optim::format_option(c.lr);
  try {
    for (const auto& [key, value] : optim::optimizer_options_in_use(c.optimizer, optimizer_config(c)))
      s += " " + key + " " + value;
  } catch (const Error&) {  // an optimizer from a plugin not loaded now: the options as given
    for (const auto& [key, value] : c.optimizer_options) s += " " + key + "=" + value;
  }
  return s;
}

}  // namespace

report::Describer classifier_describer() {
  return {.model_name = [](const report::RunSummary& r) { return model_name(config_of(r)); },
          .settings =
              [](const report::RunSummary& r) {
                const TrainConfig c = config_of(r);
                return report::Facts{{"Model", model_html(c)},
                                     {"Optimizer", optimizer_html(c)},
                                     {"Learning rate", escape_html(schedule_text(c))}};
              },
          .optimizer = [](const report::RunSummary& r) { return optimizer_text(config_of(r)); }};
}

report::Written write_train_report(const std::string& path, const RunRecord& run, report::ModelViewCollector& view,
                                   const nn::Evaluation& last_evaluation, nn::Sequential& model,
                                   const data::ImageDataset& test, bool quiet) {
  const auto start = std::chrono::steady_clock::now();
  const report::ModelView seen = view.finish(last_evaluation, model, test, class_names(run.config.dataset));
  const report::Written w =
      report::write(to_summary(run), path,
                    {.model = &seen,
                     .describer = classifier_describer(),
                     .seconds_before = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
  if (!quiet) print_written(w);
  return w;
}

void check_report_path(const std::string& path, const char* flag) { data::check_output_target(path, flag); }

void print_written(const report::Written& w) {
  std::printf("report: %s (%s) written in %.2f s\n", w.path.c_str(), report::megabytes(w.bytes).c_str(), w.seconds);
  std::fflush(stdout);
}

}  // namespace minidl::cli
