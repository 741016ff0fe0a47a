// The report module called from C++ (report/report.h), without the program: a summary made in
// memory or read from its file becomes a self-contained page; targets the output policy refuses
// are refused with nothing written. What a report looks like in a browser is tests/test_seeing.cpp's.
#include <unistd.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/atomic_file.h"
#include "report/language_model.h"
#include "report/report.h"
#include "testing.h"

namespace {

using namespace minidl;
namespace fs = std::filesystem;

struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("minidl-report-" + std::to_string(::getpid()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() { fs::remove_all(dir); }
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Two epochs of a small run, as `minidl train --summary` would record it.
report::RunSummary small_run(uint64_t seed = 0) {
  report::RunSummary r;
  r.command = "minidl train --epochs 2";
  r.description = "mnist, model 784-32-10, sgd lr 0.1";
  r.config = R"({"dataset":"mnist","model":"tiny-mlp","optimizer":"sgd","lr":0.1,"batch_size":64,"seed":)" +
             std::to_string(seed) + "}";
  r.epochs = {{.epoch = 1, .steps = 3, .train_loss = 1.5, .test_loss = 0.9, .test_accuracy = 0.8, .train_seconds = 1},
              {.epoch = 2, .steps = 6, .train_loss = 0.7, .test_loss = 0.5, .test_accuracy = 0.9, .train_seconds = 1}};
  r.step_loss = {2.3f, 1.6f, 1.1f, 0.9f, 0.7f, 0.6f};
  r.step_lr = {0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f};
  r.final_accuracy = 0.9;
  return r;
}

}  // namespace

TEST_CASE("report::write makes a run's page from a summary in memory, with the sections a kind of run adds") {
  Scratch scratch;
  const std::string path = (scratch.dir / "run.html").string();
  report::Describer describer;
  describer.sections = [](const report::RunSummary&, report::Page& page) {
    page.section("Samples", "samples", "What the model wrote at each evaluation.");
    page.html("<p>sample text</p>\n");
  };
  const report::Written w = report::write(small_run(), path, {.describer = describer});
  CHECK(w.path == path);
  REQUIRE(fs::exists(path));
  const std::string html = slurp(path);
  CHECK(w.bytes == html.size());
  CHECK(html.starts_with("<!DOCTYPE html>"));
  CHECK(html.find("90.00%") != std::string::npos);  // the last epoch's accuracy
  CHECK(html.find("tiny-mlp") != std::string::npos);  // the model, from the settings as written
  for (const char* chart : {"\"loss-steps\"", "\"loss-epochs\"", "\"accuracy-epochs\"", "\"lr-steps\""})
    CHECK_MESSAGE(html.find(chart) != std::string::npos, chart);
  CHECK(html.find("<section id=\"samples\"><h2>Samples</h2>") != std::string::npos);
  CHECK(html.find("sample text") != std::string::npos);
  CHECK(html.find("//") == std::string::npos);  // self-contained: no URL of any kind
  // A classifier's sections, with a notice that the model's view was not given.
  CHECK(html.find("<section id=\"test-set\">") != std::string::npos);
}

TEST_CASE("a kind of run that is no classifier gives its own headline and result, and no test-set sections") {
  Scratch scratch;
  const std::string path = (scratch.dir / "lm.html").string();
  report::Describer describer;
  describer.classifier = false;
  describer.headline = [](const report::RunSummary&) { return std::string("validation loss 2.0142"); };
  describer.result = [](const report::RunSummary&) { return std::string("<b>2.0142</b> nats per byte"); };
  report::write(small_run(), path, {.describer = describer});
  const std::string html = slurp(path);
  CHECK(html.find("<h1>minidl train: validation loss 2.0142</h1>") != std::string::npos);
  CHECK(html.find("<b>2.0142</b> nats per byte") != std::string::npos);
  CHECK(html.find("<section id=\"test-set\">") == std::string::npos);
  CHECK(html.find("<section id=\"learned\">") == std::string::npos);
}

TEST_CASE("report::write reads a summary back from its file, and refuses what is not one") {
  Scratch scratch;
  const fs::path summary = scratch.dir / "run.json";
  std::ofstream(summary) << R"({"config": {"model": "mlp", "optimizer": "adam", "lr": 0.001}, "epochs": [)"
                         << R"({"epoch": 1, "test_accuracy": 0.75, "test_loss": 0.8, "train_loss": 1.0}],)"
                         << R"("steps": {"loss": [2.0, 1.0], "lr": [0.001, 0.001]}})";
  const report::RunSummary run = report::read_summary(summary.string());
  CHECK(run.source == summary.string());
  CHECK(run.step_loss.size() == 2);
  CHECK(run.json.find("\"steps\"") != std::string::npos);  // the whole summary, for a kind's own fields
  const report::Written w = report::write(run, (scratch.dir / "run.html").string());
  CHECK(slurp(w.path).find("75.00%") != std::string::npos);

  // A run by steps alone (no epochs): its curves per step.
  std::ofstream(scratch.dir / "steps.json") << R"({"config": {}, "steps": {"loss": [3.0, 2.5], "lr": [0.001, 0.001]}})";
  const report::RunSummary by_steps = report::read_summary((scratch.dir / "steps.json").string());
  CHECK(by_steps.epochs.empty());
  CHECK(slurp(report::write(by_steps, (scratch.dir / "steps.html").string()).path).find("\"loss-steps\"") !=
        std::string::npos);

  std::ofstream(scratch.dir / "not.json") << R"({"epochs": []})";
  CHECK(error_of([&] { report::read_summary((scratch.dir / "not.json").string()); }).find("not a run summary") !=
        std::string::npos);
}

TEST_CASE("run::Summary's layout is read too: its evaluations as rows, and malformed ones refused, never a crash") {
  const std::string good =
      R"({"config": {}, "steps": 2, "step_loss": [2.0, 1.5], "step_lr": [0.1, 0.1], "evaluations": [)"
      R"({"step": 1, "epoch": 0, "train_loss": 2.0, "val_loss": 1.9}, {"step": 2, "epoch": 0, "val_loss": 1.7}]})";
  const report::RunSummary run = report::summary_from_text(good, "run.json");
  REQUIRE(run.epochs.size() == 2);
  CHECK(run.epochs[1].epoch == 2);  // steps mode: numbered in order
  CHECK(run.epochs[1].steps == 2);
  CHECK(run.epochs[1].test_loss == doctest::Approx(1.7));
  CHECK(run.step_loss.size() == 2);
  // What a fuzzer would try: each field of the wrong type or length is an Error naming the file.
  for (const std::string bad :
       {R"({"config": {}, "steps": 2, "evaluations": 3})", R"({"config": {}, "steps": 2, "evaluations": [1, 2]})",
        R"({"config": {}, "steps": 2, "evaluations": [{"step": "x"}]})",
        R"({"config": {}, "steps": 2, "step_loss": [1.0], "step_lr": []})",
        R"({"config": {}, "steps": 2, "step_loss": 5})",
        // fuzz_summary's find: an epoch number beyond int64 was converted with undefined behaviour.
        R"({"config": {}, "epochs": [{"epoch": 2e44}]})", R"({"config": {}, "epochs": [{"epoch": 1}], "threads": 1e300})"}) {
    CAPTURE(bad);
    const std::string message = error_of([&] { report::summary_from_text(bad, "bad.json"); });
    CHECK(message.find("bad.json") != std::string::npos);
  }
}

// A language model's summary as train --model gpt writes it (report/language_model.h): 2 evaluations,
// their samples (bytes that HTML and UTF-8 would choke on among them), a 1-layer, 2-head map of 3 bytes.
std::string lm_summary(const std::string& sample = "[60, 115, 99, 114, 105, 112, 116, 62, 38, 255, 195, 10, 47, 47]",
                       const std::string& maps =
                           "[[[[1, 0, 0], [0.25, 0.75, 0], [0.5, 0.25, 0.25]], "
                           "[[1, 0, 0], [1, 0, 0], [0, 0, 1]]]]") {
  return R"({"model": "gpt", "config": "vocab=5,block=3,layers=1,heads=2,embd=4,dropout=0", "steps": 4,
    "train_seconds": 0.5, "val_loss": 1.5, "first_step": 1, "step_loss": [2, 1.9, 1.8, 1.7],
    "step_lr": [0.1, 0.1, 0.1, 0.1], "evals": [{"step": 2, "train_loss": 1.9, "val_loss": 2.0},
    {"step": 4, "train_loss": 1.7, "val_loss": 1.5}], "samples": [{"step": 2, "bytes": [104, 105]},
    {"step": 4, "bytes": )" +
         sample + R"(}], "sample_prompt": [10], "sample_seed": 5, "sample_temperature": 1,
    "attention": {"step": 4, "layers": 1, "heads": 2, "model_layers": 1, "model_heads": 2,
    "window": [60, 38, 255], "maps": )" +
         maps + "}}";
}

TEST_CASE("a language model's page: losses by step, each sample escaped byte by byte, a map per layer and head") {
  Scratch scratch;
  const report::RunSummary run = report::summary_from_text(lm_summary(), (scratch.dir / "gpt.json").string());
  CHECK(run.epochs.empty());  // its evaluations are drawn by step, not as epochs
  CHECK(run.train_seconds() == 0.5);
  report::Page page("t", "t", "t");
  report::add_language_model_sections(run, page);
  REQUIRE(page.all_charts().size() == 1);
  CHECK(page.all_charts()[0].id == "loss-evals");
  CHECK(page.all_charts()[0].points() == std::vector<int64_t>{2, 2});
  const std::string html = page.str(0);
  // "<script>&" and the bytes 0xff 0xc3, then a newline and "//": escaped, never raw.
  CHECK(
      html.find("&lt;script&gt;&amp;<span class=\"byte\">\\xff</span><span class=\"byte\">\\xc3</span>\n&#47;&#47;") !=
      std::string::npos);
  CHECK(html.find("<script>&") == std::string::npos);
  const size_t pre = html.find("<pre class=\"sample\">", html.find("Step 4"));
  REQUIRE(pre != std::string::npos);
  const std::string shown = html.substr(pre, html.find("</pre>", pre) - pre);
  CHECK(shown.find('\xff') == std::string::npos);
  CHECK(shown.find('\xc3') == std::string::npos);
  CHECK(html.find("<pre class=\"sample\"><span class=\"prompt\">\n</span>hi</pre>") != std::string::npos);
  // Two heads of one layer; the window's bytes label the axes ('<' escaped, 0xff as x ff).
  size_t figures = 0;
  for (size_t at = html.find("<figure class=\"attention\""); at != std::string::npos;
       at = html.find("<figure class=\"attention\"", at + 1))
    ++figures;
  CHECK(figures == 2);
  CHECK(html.find("&amp; → &lt;: 0.250") != std::string::npos);  // row 1 ('&') gives 0.25 to byte 0 ('<')
  CHECK(html.find(">xff</text>") != std::string::npos);
  // The whole page through report::write, as train --report and minidl report write it.
  CHECK(report::write(run, (scratch.dir / "gpt.html").string(),
                      {.describer = {.sections = report::add_language_model_sections, .classifier = false}})
            .bytes > 0);
}

TEST_CASE("a language model's malformed fields are refused with an Error naming the file, never a crash") {
  const auto message = [](const std::string& text) {
    return error_of([&] {
      report::Page page("t", "t", "t");
      report::add_language_model_sections(report::summary_from_text(text, "lm.json"), page);
    });
  };
  const std::string ok = "[[[[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]], [[1, 0, 0], [1, 0, 0], [1, 0, 0]]]]";
  CHECK(message(lm_summary()).empty());
  for (const std::string& bad_sample : {"[256]", "[-1]", "[1.5]", "[\"a\"]", "[1e300]", "18446744073709551615",
                                        "[18446744073709551615]", "{}", "null"}) {
    CAPTURE(bad_sample);
    CHECK(message(lm_summary(bad_sample)).find("lm.json") != std::string::npos);
  }
  for (const std::string& bad_maps :
       {"[]", "[[[[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]]]]", "[[[[1, 0], [0.5, 0.5], [0.2, 0.3]], [[1, 0, 0]]]]",
        "[[[[2, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]], [[1, 0, 0], [1, 0, 0], [1, 0, 0]]]]",
        "[[[[-1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]], [[1, 0, 0], [1, 0, 0], [1, 0, 0]]]]",
        "[[[[\"x\", 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]], [[1, 0, 0], [1, 0, 0], [1, 0, 0]]]]", "7"}) {
    CAPTURE(bad_maps);
    CHECK(message(lm_summary("[1]", bad_maps)).find("lm.json") != std::string::npos);
  }
  std::string summary = lm_summary("[1]", ok);
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"layers\": 1", "\"layers\": 1e300"},
           {"\"layers\": 1", "\"layers\": 100000"},
           {"\"heads\": 2", "\"heads\": -2"},
           {"\"window\": [60, 38, 255]", "\"window\": []"},
           {"{\"step\": 2, \"train_loss\": 1.9", "{\"step\": 2e44, \"train_loss\": 1.9"},
           {"\"val_loss\": 2.0}", "\"val_loss\": \"low\"}"},
           {"\"sample_seed\": 5", "\"sample_seed\": 5.5"},
           {"\"model_layers\": 1", "\"model_layers\": 0"}}) {
    std::string bad = summary;
    bad.replace(bad.find(from), from.size(), to);
    CAPTURE(bad);
    CHECK(message(bad).find("lm.json") != std::string::npos);
  }
}

TEST_CASE("report::write refuses, with nothing written, a target the output policy refuses") {
  Scratch scratch;
  const report::RunSummary run = small_run();
  // A directory: refused, and left as it was.
  const fs::path dir = scratch.dir / "a-directory.html";
  fs::create_directories(dir);
  CHECK_THROWS_AS(report::write(run, dir.string()), data::RefusedOutput);
  CHECK(fs::is_directory(dir));
  CHECK(fs::is_empty(dir));
  // A character device.
  const std::string refused = error_of([&] { report::write(run, "/dev/null"); });
  CHECK(refused.find("/dev/null") != std::string::npos);
  CHECK(refused.find("an output must be a regular file") != std::string::npos);
  // A directory that does not exist: an Error naming it, no file anywhere.
  const fs::path missing = scratch.dir / "no-such-dir" / "run.html";
  const std::string no_dir = error_of([&] { report::write(run, missing.string()); });
  INFO(no_dir);
  CHECK(no_dir.find(missing.parent_path().string()) != std::string::npos);
  CHECK_FALSE(fs::exists(missing.parent_path()));
  // The comparison and the sweep go through the same policy.
  CHECK_THROWS_AS(report::write_comparison({run}, dir.string(), "test"), data::RefusedOutput);
  CHECK_THROWS_AS(report::write_sweep(scratch.dir.string(), dir.string()), data::RefusedOutput);
}

TEST_CASE("report::write_comparison groups runs that differ only in their seed") {
  Scratch scratch;
  const std::string path = (scratch.dir / "compare.html").string();
  report::RunSummary other = small_run(0);
  other.config = R"({"dataset":"mnist","model":"tiny-mlp","optimizer":"adam","lr":0.001,"batch_size":64,"seed":0})";
  report::write_comparison({small_run(0), small_run(1), other}, path, "test compare");
  const std::string html = slurp(path);
  CHECK(html.find("test compare: 2 settings × 2 seeds") != std::string::npos);
  CHECK(html.find("\"accuracy-epochs\"") != std::string::npos);
}
