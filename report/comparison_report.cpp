// Reports of several runs: a comparison (minidl compare, or `minidl report` of several summaries)
// and a sweep. Runs that differ only in their seed form a group; each group is one curve, the mean
// over its seeds, with the seeds' spread (min to max) shaded, so a difference between groups can be
// told from seed noise at a glance. Groups are named by the settings that differ between them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "data/atomic_file.h"
#include "report/comparison.h"
#include "report/describe.h"
#include "report/format.h"
#include "report/report.h"
#include "report/telemetry.h"

namespace minidl::report {

namespace {

constexpr size_t kMostGroups = 8;  // curves per chart; more are unreadable

// A setting as a label shows it: "nesterov", "lr 0.01", "betas=0.9,0.99".
std::string setting_text(const std::string& key, const nlohmann::json& value) {
  if (key == "optimizer" || key == "model" || key == "dataset") return value.get<std::string>();
  if (key == "lr") return "lr " + general(value.get<double>());
  if (key == "optimizer_options") {
    std::string out;
    for (const auto& kv : value)
      out += (out.empty() ? "" : " ") + kv[0].get<std::string>() + "=" + kv[1].get<std::string>();
    return out;
  }
  return key + " " + (value.is_string() ? value.get<std::string>() : value.dump());
}

}  // namespace

// Every run's optimizer settings, as the run headers print them, then what they share: a comparison's
// subtitle (the first run's description alone named only its own optimizer).
std::string settings_subtitle(const std::vector<const RunSummary*>& runs, const Describer& describer) {
  std::vector<std::string> seen;
  std::string out;
  for (const RunSummary* r : runs) {
    const std::string s = optimizer_line(describer, *r);
    if (std::find(seen.begin(), seen.end(), s) != seen.end()) continue;
    seen.push_back(s);
    out += (out.empty() ? "" : "; ") + s;
  }
  const nlohmann::json c = settings_json(*runs.front());
  return out + str_cat(" (", c.value("dataset", std::string("?")), ", model ", model_name(describer, *runs.front()),
                       ", batch ", c.value("batch_size", int64_t{0}), ")");
}

std::vector<Group> group_runs(const std::vector<RunSummary>& runs, const Describer& describer) {
  std::vector<Group> groups;
  std::vector<nlohmann::json> settings;  // per group, without the seed
  for (const RunSummary& r : runs) {
    nlohmann::json s = settings_json(r);
    s.erase("seed");
    const auto at = std::find(settings.begin(), settings.end(), s);
    if (at == settings.end()) {
      settings.push_back(s);
      groups.push_back({.runs = {&r}});
    } else {
      groups[static_cast<size_t>(at - settings.begin())].runs.push_back(&r);
    }
  }
  std::set<std::string> keys;
  for (const auto& s : settings)
    for (const auto& [key, value] : s.items()) keys.insert(key);
  std::vector<std::string> differing;  // in a reader's order: the optimizer first
  for (const char* first : {"optimizer", "optimizer_options", "lr"})
    if (keys.contains(first)) differing.push_back(first);
  for (const std::string& key : keys)
    if (std::find(differing.begin(), differing.end(), key) == differing.end()) differing.push_back(key);
  std::erase_if(differing, [&](const std::string& key) {
    return std::all_of(settings.begin(), settings.end(), [&](const nlohmann::json& s) {
      return s.value(key, nlohmann::json()) == settings.front().value(key, nlohmann::json());
    });
  });
  for (size_t g = 0; g < groups.size(); ++g) {
    std::string label;
    for (const std::string& key : differing)
      if (settings[g].contains(key)) label += (label.empty() ? "" : ", ") + setting_text(key, settings[g][key]);
    groups[g].label = label.empty() ? model_name(describer, *groups[g].runs.front()) : label;
    double sum = 0;
    for (const RunSummary* r : groups[g].runs) sum += r->epochs.empty() ? NAN : r->epochs.back().test_accuracy;
    groups[g].mean_accuracy = sum / static_cast<double>(groups[g].runs.size());
  }
  return groups;
}

namespace {

// Mean and min–max over the seeds, pointwise over the length all of them have.
Series spread(const std::string& name, int color, const std::vector<std::vector<double>>& curves) {
  Series s{.name = name, .color = color};
  size_t n = SIZE_MAX;
  for (const auto& c : curves) n = std::min(n, c.size());
  if (curves.empty() || n == 0) return s;
  for (size_t i = 0; i < n; ++i) {
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    for (const auto& c : curves) sum += c[i], lo = std::min(lo, c[i]), hi = std::max(hi, c[i]);
    s.y.push_back(sum / static_cast<double>(curves.size()));
    s.lo.push_back(lo), s.hi.push_back(hi);
  }
  if (curves.size() == 1) s.lo.clear(), s.hi.clear();
  return s;
}

std::string seeds_note(const std::vector<Group>& groups) {
  size_t most = 0;
  for (const Group& g : groups) most = std::max(most, g.runs.size());
  return most > 1 ? " Lines: the mean over seeds; shaded: from the lowest to the highest seed." : "";
}

std::vector<Chart> comparison_curves(const std::vector<Group>& groups) {
  std::vector<Chart> charts;
  const std::string seeds = seeds_note(groups);
  Chart steps{.id = "loss-steps",
              .title = "Training loss per step",
              .x = {.label = "step", .integer = true},
              .y = {.label = "cross-entropy (nats)", .log = true}};
  Chart accuracy{.id = "accuracy-epochs",
                 .title = "Test accuracy per epoch",
                 .note = "After each epoch." + seeds,
                 .x = {.label = "epoch", .integer = true},
                 .y = {.label = "test accuracy (%)", .cap = 100}};
  Chart test_loss{.id = "test-loss-epochs",
                  .title = "Test loss per epoch",
                  .note = "After each epoch, in evaluation mode." + seeds,
                  .x = {.label = "epoch", .integer = true},
                  .y = {.label = "cross-entropy (nats)", .log = true}};
  Chart train_loss{.id = "train-loss-epochs",
                   .title = "Training loss per epoch",
                   .note = "The mean over the epoch's steps." + seeds,
                   .x = {.label = "epoch", .integer = true},
                   .y = {.label = "cross-entropy (nats)", .log = true}};
  Chart lr{.id = "lr-steps",
           .title = "Learning rate per step",
           .x = {.label = "step", .integer = true},
           .y = {.label = "learning rate", .log = true}};
  int64_t half = 1;
  for (size_t g = 0; g < groups.size(); ++g) {
    const Group& group = groups[g];
    const int color = static_cast<int>(g % 8);
    std::vector<std::vector<double>> smoothed, acc, tl, trl;
    for (const RunSummary* r : group.runs) {
      if (!r->step_loss.empty()) {
        half = smoothing_half_width(r->step_loss.size());
        smoothed.push_back(smooth(as_doubles(r->step_loss), half));
      }
      std::vector<double> a, t, l;
      for (const EpochRecord& e : r->epochs)
        a.push_back(100 * e.test_accuracy), t.push_back(e.test_loss), l.push_back(e.train_loss);
      acc.push_back(a), tl.push_back(t), trl.push_back(l);
    }
    if (!smoothed.empty()) steps.series.push_back(spread(group.label, color, smoothed));
    for (auto [chart, curves] : {std::pair{&accuracy, &acc}, {&test_loss, &tl}, {&train_loss, &trl}}) {
      Series s = spread(group.label, color, *curves);
      s.markers = true;
      for (size_t e = 0; e < s.y.size(); ++e) s.x.push_back(static_cast<double>(group.runs.front()->epochs[e].epoch));
      chart->series.push_back(std::move(s));
    }
    if (!group.runs.front()->step_lr.empty())
      lr.series.push_back({.name = group.label, .color = color, .y = as_doubles(group.runs.front()->step_lr)});
  }
  steps.note = "Each run's loss per step as a centred average over " + std::to_string(2 * half + 1) + " steps." + seeds;
  lr.note = "The lr each step used (the same for every seed).";
  for (Chart* c : {&steps, &accuracy, &test_loss, &train_loss, &lr})
    if (!c->series.empty() && !c->series.front().y.empty()) charts.push_back(std::move(*c));
  return charts;
}

}  // namespace

std::string runs_table(const std::vector<Group>& groups) {
  std::string out =
      "<div class=\"scroll\"><table class=\"data\"><tr><th>run</th><th>seeds</th><th>final test accuracy</th>"
      "<th>seed range</th><th>final test loss</th><th>final training loss</th><th>training time</th></tr>";
  for (size_t g = 0; g < groups.size(); ++g) {
    const Group& group = groups[g];
    std::vector<double> acc;
    double test_loss = 0, train_loss = 0, seconds = 0;
    for (const RunSummary* r : group.runs) {
      if (r->epochs.empty()) continue;
      acc.push_back(100 * r->epochs.back().test_accuracy);
      test_loss += r->epochs.back().test_loss, train_loss += r->epochs.back().train_loss, seconds += r->train_seconds();
    }
    const auto n = static_cast<double>(std::max<size_t>(1, acc.size()));
    double mean = 0, var = 0;
    for (double a : acc) mean += a / n;
    for (double a : acc) var += (a - mean) * (a - mean);
    const double sd = acc.size() > 1 ? std::sqrt(var / (n - 1)) : 0;
    const auto [lo, hi] = std::minmax_element(acc.begin(), acc.end());
    out += "<tr><td><span class=\"swatch f" + std::to_string(g % 8) +
           "\" style=\"display:inline-block;width:10px;height:10px;"
           "border-radius:2px;margin-right:6px\"></span>" +
           escape_html(group.label) + "</td><td>" + std::to_string(group.runs.size()) + "</td><td>" + fixed(mean, 2) +
           (acc.size() > 1 ? " ± " + fixed(sd, 2) : "") + "%</td><td>" +
           (acc.empty() ? "–" : fixed(*lo, 2) + "–" + fixed(*hi, 2) + "%") + "</td><td>" + fixed(test_loss / n, 4) +
           "</td><td>" + fixed(train_loss / n, 4) + "</td><td>" + fixed(seconds / n, 1) + " s</td></tr>";
  }
  return out + "</table></div>\n";
}

namespace {

// The telemetry of each group's first seed, the whole model's figures (group 0), one line per group.
std::vector<Chart> comparison_telemetry(const std::vector<Group>& groups) {
  std::vector<TelemetryTrace> traces;
  for (const Group& g : groups) {
    const std::string path = file_named_by(*g.runs.front(), g.runs.front()->telemetry, nullptr);
    if (path.empty()) continue;
    std::vector<TelemetryTrace> t = read_telemetry(path, /*layers=*/false);
    if (t.empty()) continue;
    t.front().name = g.label;
    traces.push_back(std::move(t.front()));
  }
  return traces.empty() ? std::vector<Chart>{} : telemetry_charts(traces, "telemetry");
}

}  // namespace

Written finish(Page& page, const std::string& path, std::chrono::steady_clock::time_point start) {
  const std::string html = page.str(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  data::write_text_atomically(path, html, "report");
  return {path, html.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
}

namespace {

// The groups drawn as curves: all of them, or the best kMostGroups by mean final accuracy.
std::vector<Group> shown(std::vector<Group> groups, std::string* note) {
  if (groups.size() <= kMostGroups) return groups;
  std::stable_sort(groups.begin(), groups.end(),
                   [](const Group& a, const Group& b) { return a.mean_accuracy > b.mean_accuracy; });
  *note = "The curves show the " + std::to_string(kMostGroups) + " of " + std::to_string(groups.size()) +
          " settings with the best final test accuracy.";
  groups.resize(kMostGroups);
  return groups;
}

}  // namespace

void add_comparison(Page& page, const std::vector<Group>& all) {
  std::string note;
  const std::vector<Group> groups = shown(all, &note);
  page.section("Curves", "curves",
               "Hover over a chart (or tap it) to read its values." + (note.empty() ? "" : " " + escape_html(note)));
  page.charts(comparison_curves(groups));
  const std::vector<Chart> telemetry = comparison_telemetry(groups);
  if (!telemetry.empty()) {
    page.section(
        "Optimizer telemetry", "telemetry",
        "The first seed of each run, all parameters together: the gradient's norm, the direction buffer's, "
        "the cosine between them (near 0 once the first descent is over: each batch's gradient is mostly noise "
        "against the buffer's average; near 1 it keeps agreeing, clearly below 0 it undoes the last steps), "
        "and the step's size relative to the weights.");
    page.charts(telemetry);
  }
}

namespace {

// The "Model" row the describer gives, else the model's name.
std::string model_row(const RunSummary& run, const Describer& describer) {
  for (const auto& [label, value] : settings_facts(describer, run))
    if (label == "Model") return value;
  return code(model_name(describer, run));
}

}  // namespace

Written write_comparison(const std::vector<RunSummary>& runs, const std::string& path, const std::string& heading,
                         const Describer& describer) {
  check(!runs.empty(), "report: no runs to compare");
  const auto start = std::chrono::steady_clock::now();
  data::check_output_target(path, "report");
  const std::vector<Group> groups = group_runs(runs, describer);
  size_t seeds = 0;
  for (const Group& g : groups) seeds = std::max(seeds, g.runs.size());
  const std::string shape = std::to_string(groups.size()) + (groups.size() == 1 ? " setting" : " settings") + " × " +
                            std::to_string(seeds) + (seeds == 1 ? " seed" : " seeds");
  std::vector<const RunSummary*> all;
  for (const RunSummary& r : runs) all.push_back(&r);
  Page page(heading + ": " + shape, heading + ": " + shape, settings_subtitle(all, describer));
  page.section("The runs", "runs");
  const RunSummary& first = runs.front();
  const nlohmann::json c = settings_json(first);
  Facts facts;
  if (!first.command.empty()) facts.emplace_back("Command", code(first.command));
  facts.emplace_back("Model", model_row(first, describer));
  facts.emplace_back("Data", code(c.value("dataset", std::string("?"))) + ", batches of " +
                                 std::to_string(c.value("batch_size", int64_t{0})) + ", " +
                                 std::to_string(first.epochs.size()) + (first.epochs.size() == 1 ? " epoch" : " epochs"));
  facts.emplace_back("Device", escape_html(first.device + ", " + std::to_string(first.threads) + " threads"));
  if (!first.started.empty()) facts.emplace_back("Started", escape_html(first.started));
  page.facts(facts);
  page.html(runs_table(groups));
  add_comparison(page, groups);
  return finish(page, path, start);
}

}  // namespace minidl::report
