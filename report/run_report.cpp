// The report of one run: what ran (settings, data, device, time, result), its curves (training loss
// per step raw and smoothed, losses and test accuracy per epoch, the lr per step), the test set as
// the model sees it (confusion matrix, the most confidently wrong digits), what its first layer
// learned, and its optimizer telemetry when it recorded some.
#include <chrono>
#include <cmath>

#include "data/atomic_file.h"
#include "report/describe.h"
#include "report/format.h"
#include "report/model_view_html.h"
#include "report/report.h"
#include "report/telemetry.h"

namespace minidl::report {

namespace {

// "Result": the final accuracy, from the last epoch (or the model's view when there are none).
std::string result_html(const RunSummary& r, const ModelView* model) {
  const EpochRecord* last = r.epochs.empty() ? nullptr : &r.epochs.back();
  std::string result =
      "<span class=\"big\">" + percent(last ? last->test_accuracy : r.final_accuracy) + "</span> test accuracy";
  if (model) result += " (" + std::to_string(model->correct) + " of " + std::to_string(model->total) + " test images)";
  if (last) result += ", test loss " + fixed(last->test_loss, 4) + " after epoch " + std::to_string(last->epoch);
  return result;
}

// "98.04% test accuracy", after the last epoch (the summary's final accuracy without epochs).
std::string accuracy_headline(const RunSummary& r) {
  return percent(r.epochs.empty() ? r.final_accuracy : r.epochs.back().test_accuracy) + " test accuracy";
}

std::string data_html(const RunSummary& r, const nlohmann::json& c, const ModelView* model) {
  const EpochRecord* last = r.epochs.empty() ? nullptr : &r.epochs.back();
  std::string data = code(c.value("dataset", std::string("?"))) + ", batches of " +
                     std::to_string(c.value("batch_size", int64_t{0}));
  if (last && last->epoch > r.resumed_after_epoch && last->steps > 0)
    data += " (" + std::to_string((last->steps - (r.first_step - 1)) / (last->epoch - r.resumed_after_epoch)) +
            " steps per epoch)";
  if (const auto shift = c.value("augment_shift", int64_t{0}); shift > 0)
    data += ", training images shifted by up to " + std::to_string(shift) + " pixels";
  if (model) data += "; " + std::to_string(model->total) + " test images";
  return data;
}

std::string training_text(const RunSummary& r) {
  if (r.epochs.empty() && !r.step_loss.empty())  // a run by steps (a language model's)
    return std::to_string(r.step_loss.size()) + " steps in " + fixed(r.train_seconds(), 2) + " s of training (" +
           fixed(1e3 * r.train_seconds() / static_cast<double>(r.step_loss.size()), 1) + " ms per step)";
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
  return training;
}

Facts run_facts(const RunSummary& r, const ModelView* model, const Describer& describer) {
  const nlohmann::json c = settings_json(r);
  Facts rows{{"Result", describer.result ? describer.result(r) : result_html(r, model)}};
  if (!r.command.empty()) rows.emplace_back("Command", code(r.command));
  for (auto& row : settings_facts(describer, r)) rows.push_back(std::move(row));
  if (describer.classifier) rows.emplace_back("Data", data_html(r, c, model));  // else the describer's settings say
  rows.emplace_back("Training", escape_html(training_text(r)));
  rows.emplace_back("Device",
                    escape_html(r.device + ", " + std::to_string(r.threads) + " thread" + (r.threads == 1 ? "" : "s") +
                                (r.blas_core.empty() ? "" : ", OpenBLAS kernels " + r.blas_core)));
  if (c.contains("seed"))
    rows.emplace_back("Seed", escape_html(c.at("seed").dump() +
                                          " (weights from seed, batch order from seed + 1, dropout seed + 2, "
                                          "shifts seed + 3)"));
  if (!r.started.empty()) rows.emplace_back("Started", escape_html(r.started));
  std::string files;
  for (const auto& [what, path] :
       {std::pair{"summary", r.source}, {"checkpoint", r.checkpoint}, {"telemetry", r.telemetry}})
    if (!path.empty()) files += (files.empty() ? "" : ", ") + std::string(what) + " " + code(path);
  if (!files.empty()) rows.emplace_back("Files", files);
  return rows;
}

std::vector<Chart> run_curves(const RunSummary& r) {
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

void add_curves(Page& page, const RunSummary& run) {
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
}

void add_model_view(Page& page, const ModelView* model) {
  page.section("The test set through the model's eyes", "test-set",
               "Which classes it confuses, and the test images it gets most confidently wrong.");
  if (!model) {
    page.html(
        "<p class=\"notice\">Not available: these need the trained model. Give the run's checkpoint (train with "
        "<code>--save</code>) to <code>minidl report</code>.</p>\n");
    return;
  }
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
}

void add_telemetry(Page& page, const RunSummary& run) {
  if (run.telemetry.empty()) return;
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

}  // namespace

Written write(const RunSummary& run, const std::string& path, const RunReportOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  data::check_output_target(path, "report");
  const Describer& d = options.describer;
  const std::string name = model_name(d, run), heading = d.headline ? d.headline(run) : accuracy_headline(run);
  Page page("minidl: " + heading + " — " + name, "minidl train: " + heading,
            run.description.empty() ? name : run.description);
  page.section("The run", "run");
  page.facts(run_facts(run, options.model, options.describer));
  add_curves(page, run);
  if (d.sections) d.sections(run, page);
  if (d.classifier) add_model_view(page, options.model);
  add_telemetry(page, run);
  const auto elapsed = [&] {
    return options.seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const std::string html = page.str(elapsed());
  data::write_text_atomically(path, html, "report");
  return {path, html.size(), elapsed()};
}

std::string file_stem(const std::string& label) {
  std::string s = label;
  for (char& c : s)
    if (c == ':' || c == '=' || c == ',' || c == '/') c = '-';
  return s;
}

}  // namespace minidl::report
