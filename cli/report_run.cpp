// The report of one run: what ran (settings, data, device, time, result), its curves (training loss
// per step raw and smoothed, losses and test accuracy per epoch, the lr per step), the test set as
// the model sees it (confusion matrix, the most confidently wrong digits), what its first layer
// learned, and its optimizer telemetry when it recorded some.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/atomic_file.h"
#include "cli/commands.h"
#include "cli/model.h"
#include "cli/report.h"
#include "cli/report_page.h"
#include "cli/report_sections.h"
#include "optim/registry.h"

namespace minidl::cli {

namespace {

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

std::vector<std::pair<std::string, std::string>> run_facts(const RunRecord& r, const ModelView* model) {
  const TrainConfig& c = r.config;
  std::vector<std::pair<std::string, std::string>> rows;
  const EpochRecord* last = r.epochs.empty() ? nullptr : &r.epochs.back();
  std::string result =
      "<span class=\"big\">" + percent(last ? last->test_accuracy : r.final_accuracy) + "</span> test accuracy";
  if (model) result += " (" + std::to_string(model->correct) + " of " + std::to_string(model->total) + " test images)";
  if (last) result += ", test loss " + fixed(last->test_loss, 4) + " after epoch " + std::to_string(last->epoch);
  rows.emplace_back("Result", result);
  if (!r.command.empty()) rows.emplace_back("Command", code(r.command));
  rows.emplace_back("Model", model_html(c));
  rows.emplace_back("Optimizer", optimizer_html(c));
  rows.emplace_back("Learning rate", escape_html(schedule_text(c)));
  std::string data = code(c.dataset) + ", batches of " + std::to_string(c.batch_size);
  if (last && last->epoch > r.resumed_after_epoch && last->steps > 0)
    data += " (" + std::to_string((last->steps - (r.first_step - 1)) / (last->epoch - r.resumed_after_epoch)) +
            " steps per epoch)";
  if (c.augment_shift > 0) data += ", training images shifted by up to " + std::to_string(c.augment_shift) + " pixels";
  if (model) data += "; " + std::to_string(model->total) + " test images";
  rows.emplace_back("Data", data);
  std::string training = std::to_string(r.epochs.size()) + (r.epochs.size() == 1 ? " epoch, " : " epochs, ") +
                         std::to_string(r.step_loss.size()) + " steps in " + fixed(r.train_seconds(), 2) +
                         " s of training";
  if (!r.epochs.empty())
    training += " (" + fixed(r.train_seconds() / static_cast<double>(r.epochs.size()), 2) + " s per epoch)";
  int64_t skipped = 0;
  for (const EpochRecord& e : r.epochs) skipped += e.skipped;
  if (skipped) training += "; " + std::to_string(skipped) + " non-finite steps skipped";
  if (r.resumed_after_epoch > 0)
    training += "; resumed after epoch " + std::to_string(r.resumed_after_epoch) + ", so the curves begin there";
  rows.emplace_back("Training", escape_html(training));
  rows.emplace_back("Device",
                    escape_html(r.device + ", " + std::to_string(r.threads) + " thread" + (r.threads == 1 ? "" : "s") +
                                (r.blas_core.empty() ? "" : ", OpenBLAS kernels " + r.blas_core)));
  rows.emplace_back(
      "Seed", escape_html(std::to_string(c.seed) + " (weights from seed, batch order from seed + 1, dropout seed + 2, "
                                                   "shifts seed + 3)"));
  if (!r.started.empty()) rows.emplace_back("Started", escape_html(r.started));
  std::string files;
  for (const auto& [what, path] :
       {std::pair{"summary", r.source}, {"checkpoint", r.checkpoint}, {"telemetry", r.telemetry}})
    if (!path.empty()) files += (files.empty() ? "" : ", ") + std::string(what) + " " + code(path);
  if (!files.empty()) rows.emplace_back("Files", files);
  return rows;
}

std::vector<Chart> run_curves(const RunRecord& r) {
  std::vector<Chart> charts;
  const std::vector<double> loss = as_doubles(r.step_loss);
  const auto first = static_cast<double>(r.first_step);
  if (!loss.empty()) {
    const int64_t half = smoothing_half_width(loss.size());
    charts.push_back(
        {.id = "loss-steps",
         .title = "Training loss per step",
         .note = "Faint: each step's batch loss, before that step's update. Line: a centred average over " +
                 std::to_string(2 * half + 1) +
                 " steps, shifted inward at the ends rather than shrunk (no lag, no artefact at either end).",
         .x = {.label = "step", .integer = true},
         .y = {.label = "cross-entropy (nats)", .log = true},
         .series = {{.name = "each step", .color = 0, .faint = true, .x0 = first, .y = loss},
                    {.name = "smoothed", .color = 0, .x0 = first, .y = smooth(loss, half)}}});
  }
  if (!r.epochs.empty()) {
    Series train{.name = "training (mean over the epoch)", .color = 0, .markers = true};
    Series test{.name = "test (after the epoch)", .color = 1, .markers = true};
    Series accuracy{.name = "test accuracy", .color = 2, .markers = true};
    for (const EpochRecord& e : r.epochs) {
      const auto x = static_cast<double>(e.epoch);
      train.x.push_back(x), train.y.push_back(e.train_loss);
      test.x.push_back(x), test.y.push_back(e.test_loss);
      accuracy.x.push_back(x), accuracy.y.push_back(100 * e.test_accuracy);
    }
    const std::string one = r.epochs.size() == 1
                                ? " One epoch gives one evaluation, so one point: train for more epochs to "
                                  "see a curve (the loss per step above shows this epoch's course)."
                                : "";
    charts.push_back(
        {.id = "loss-epochs",
         .title = "Loss per epoch",
         .note = "Training loss averages the epoch's steps while the weights changed; test loss is measured "
                 "after the epoch in evaluation mode." +
                 one,
         .x = {.label = "epoch", .integer = true},
         .y = {.label = "cross-entropy (nats)", .log = true},
         .series = {train, test}});
    charts.push_back({.id = "accuracy-epochs",
                      .title = "Test accuracy per epoch",
                      .note = "The share of the test images classified right after each epoch." + one,
                      .x = {.label = "epoch", .integer = true},
                      .y = {.label = "test accuracy (%)", .cap = 100},
                      .series = {accuracy}});
  }
  if (!r.step_lr.empty()) {
    const std::vector<double> lr = as_doubles(r.step_lr);
    double lo = INFINITY, hi = 0;
    for (double v : lr)
      if (v > 0) lo = std::min(lo, v), hi = std::max(hi, v);
    charts.push_back({.id = "lr-steps",
                      .title = "Learning rate per step",
                      .note = "The lr each step used" +
                              std::string(hi > 20 * lo ? " (log scale: it spans more than a decade)." : "."),
                      .x = {.label = "step", .integer = true},
                      .y = {.label = "learning rate", .log = hi > 20 * lo},
                      .series = {{.name = "lr", .color = 4, .x0 = first, .y = lr}}});
  }
  return charts;
}

}  // namespace

ReportWritten write_run_report(const std::string& path, const RunRecord& run, const ModelView* model,
                               double seconds_before) {
  const auto start = std::chrono::steady_clock::now();
  const EpochRecord* last = run.epochs.empty() ? nullptr : &run.epochs.back();
  const double accuracy = last ? last->test_accuracy : run.final_accuracy;
  ReportPage page("minidl: " + percent(accuracy) + " — " + model_name(run.config),
                  "minidl train: " + percent(accuracy) + " test accuracy",
                  run.description.empty() ? model_name(run.config) : run.description);
  page.section("The run", "run");
  page.facts(run_facts(run, model));

  page.section("Curves", "curves", "Hover over a chart (or tap it) to read its values.");
  if (run.step_loss.empty())
    page.html(
        "<p class=\"notice\">This run's record has no per-step values (a summary from an older minidl, or a "
        "checkpoint without its summary): only the per-epoch curves can be drawn.</p>\n");
  const std::vector<Chart> curves = run_curves(run);
  if (curves.empty())
    page.html(
        "<p class=\"notice\">No curves: a checkpoint holds the trained weights, not the run's history. Train with "
        "<code>--summary RUN.json</code> and give that file too.</p>\n");
  else
    page.charts(curves);

  page.section("The test set through the model's eyes", "test-set",
               "Which classes it confuses, and the test images it gets most confidently wrong.");
  if (model) {
    page.html("<h3>Confusion matrix</h3>\n" + confusion_html(*model));
    page.html("<h3>The most confident mistakes</h3>\n" +
              (model->wrong.empty()
                   ? std::string()  // wrong_digits_html says there were none
                   : "<p class=\"intro\">The " + std::to_string(model->wrong.size()) +
                         " wrong test images with the highest probability on the wrong class: the true "
                         "class above, the model's three most probable classes below.</p>\n") +
              wrong_digits_html(*model));
    page.section("What the model learned", "learned");
    if (model->learned.empty())
      page.html(
          "<p class=\"notice\">The model's first layer with weights is neither a linear layer on the 784 pixels "
          "nor a convolution: nothing to draw as images.</p>\n");
    else
      page.html(learned_html(*model));
  } else {
    page.html(
        "<p class=\"notice\">Not available: these need the trained model. Give the run's checkpoint (train with "
        "<code>--save</code>) to <code>minidl report</code>.</p>\n");
  }

  if (!run.telemetry.empty()) {
    page.section(
        "Optimizer telemetry", "telemetry",
        "Per layer and step, from the --telemetry file: the gradient's norm, the norm of the optimizer's "
        "direction buffer (momentum, Adam's first moment), whether the gradient points along that buffer "
        "(cos near 1) or against it (oscillation), and how far each step moved the weights relative to their size.");
    std::string why_not;
    if (const std::string telemetry = file_named_by(run, run.telemetry, &why_not); !telemetry.empty())
      page.charts(telemetry_charts(read_telemetry(telemetry, /*layers=*/true), "telemetry"));
    else if (!why_not.empty())
      page.html("<p class=\"notice\">Not read: " + code(why_not) + ".</p>\n");
    else
      page.html("<p class=\"notice\">The telemetry file " + code(run.telemetry) + " is no longer there.</p>\n");
  }

  const double seconds =
      seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string html = page.str(seconds);
  data::write_text_atomically(path, html, "--report");
  return {path, html.size(),
          seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
}

ReportWritten write_train_report(const std::string& path, const RunRecord& run, ModelViewCollector& view,
                                 const nn::Evaluation& last_evaluation, nn::Sequential& model,
                                 const data::ImageDataset& test, bool quiet) {
  const auto start = std::chrono::steady_clock::now();
  const ModelView seen = view.finish(last_evaluation, model, test, class_names(run.config.dataset));
  const ReportWritten w = write_run_report(
      path, run, &seen, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (!quiet) print_written(w);
  return w;
}

void print_written(const ReportWritten& w) {
  std::printf("report: %s (%s) written in %.2f s\n", w.path.c_str(), megabytes(w.bytes).c_str(), w.seconds);
  std::fflush(stdout);
}

}  // namespace minidl::cli
