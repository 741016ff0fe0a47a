// minidl train --model gpt, eval and sample on its checkpoints, run as processes on a tiny GPT and
// a corpus the test writes: train → sample end to end, the run's report, bitwise resume, and every
// bad input refused with one line, exit 2, nothing written.
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "cli_testing.h"
#include "report/language_model.h"

namespace fs = std::filesystem;

namespace {

constexpr const char* kTiny = "--model 'gpt(layers=1,heads=2,embd=16,block=16)' --batch-size 4 --threads 1";

struct Dir {
  fs::path path;
  std::string corpus;
  Dir() : path(fs::temp_directory_path() / ("minidl-cli-gpt-" + std::to_string(::getpid()))) {
    fs::create_directories(path);
    corpus = (path / "corpus.txt").string();
    std::ofstream out(corpus);
    for (int i = 0; i < 200; ++i) out << "the cat sat on the mat " << i % 7 << ".\n";
  }
  ~Dir() { fs::remove_all(path); }
  std::string operator/(const char* name) const { return (path / name).string(); }
};

std::string train(const Dir& d, const std::string& args) {
  return "train " + std::string(kTiny) + " --data text:" + d.corpus + " " + args;
}

minidl::data::SafetensorsFile tensors(const std::string& path) { return minidl::data::load_safetensors(path); }

// Each command (with `common` appended) refused before any work: exit 2, one line naming the
// culprit (the case's second string), and `output` not written.
void check_refused(const std::vector<std::pair<std::string, std::string>>& cases, const std::string& common,
                   const std::string& output) {
  for (const auto& [args, names] : cases) {
    const Run r = run_minidl(args + " " + common, 60);
    INFO(args, "\n", r.output);
    CHECK(r.code == 2);
    CHECK(lines(r.output) == 1);
    CHECK(r.output.find(names) != std::string::npos);
    CHECK(!fs::exists(output));
  }
}

}  // namespace

TEST_SUITE("cli_gpt") {
  TEST_CASE("train --model gpt writes a summary and a checkpoint that sample and eval read") {
    Dir d;
    const Run r = run_minidl(train(d, "--steps 6 --eval-every 3 --eval-batches 2 --save " + (d / "ck.safetensors") +
                                          " --summary " + (d / "s.json") + " --metrics " + (d / "m.csv")));
    INFO(r.output);
    REQUIRE(r.code == 0);
    CHECK(r.output.find("step 3: train loss") != std::string::npos);
    std::ifstream in(d / "s.json");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string summary = ss.str();
    for (const char* key : {"\"steps\": 6", "\"train_seconds\"", "\"val_loss\"", "\"evals\"", "\"step_ms_median\"",
                            "\"blas_core\"", "\"peak_rss_mib\""})
      CHECK_MESSAGE(summary.find(key) != std::string::npos, key);
    CHECK(fs::exists(d / "m.csv"));
    const Run s = run_shell("OMP_WAIT_POLICY=passive " + std::string(MINIDL_BIN) + " sample --checkpoint " +
                            (d / "ck.safetensors") + " --prompt the --tokens 200 --seed 3 2>/dev/null");
    REQUIRE(s.code == 0);
    CHECK(s.output.size() == 3 + 200);
    const Run e = run_minidl("eval --checkpoint " + (d / "ck.safetensors") + " --data text:" + d.corpus);
    INFO(e.output);
    CHECK(e.code == 0);
    CHECK(e.output.find("bits per byte") != std::string::npos);
  }

  TEST_CASE("train --model gpt resumed from its step-3 checkpoint ends bitwise where the whole run does") {
    Dir d;
    const std::string common = "--schedule none --eval-every 3 --eval-batches 2 ";
    // The whole run and the resumed one record samples at each evaluation (--summary) and the half
    // run none: the samples' generation must not move the training's generators.
    REQUIRE(run_minidl(
                train(d, common + "--steps 6 --save " + (d / "whole.safetensors") + " --summary " + (d / "whole.json")))
                .code == 0);
    REQUIRE(run_minidl(train(d, common + "--steps 3 --save " + (d / "half.safetensors"))).code == 0);
    const Run r =
        run_minidl("train --resume " + (d / "half.safetensors") + " --steps 6 --data text:" + d.corpus +
                   " --threads 1 --save " + (d / "resumed.safetensors") + " --report " + (d / "resumed.html"));
    INFO(r.output);
    REQUIRE(r.code == 0);
    const auto a = tensors(d / "whole.safetensors"), b = tensors(d / "resumed.safetensors");
    REQUIRE(a.tensors.size() == b.tensors.size());
    for (size_t i = 0; i < a.tensors.size(); ++i) {
      INFO(a.tensors[i].first);
      REQUIRE(a.tensors[i].first == b.tensors[i].first);
      CHECK(a.tensors[i].second.to_vector() == b.tensors[i].second.to_vector());
    }
  }

  TEST_CASE("train --model gpt --report: loss curves, a sample per evaluation, a map per layer and head") {
    Dir d;
    const std::string model = "--model 'gpt(layers=2,heads=2,embd=16,block=16)' --batch-size 4 --threads 1";
    const Run r = run_minidl("train " + model + " --data text:" + d.corpus +
                             " --steps 9 --eval-every 3 --eval-batches 2 --summary " + (d / "s.json") + " --report " +
                             (d / "r.html"));
    INFO(r.output);
    REQUIRE(r.code == 0);
    CHECK(r.output.find("report: " + (d / "r.html") + " (") != std::string::npos);
    const std::string html = slurp(d / "r.html");
    const nlohmann::json summary = nlohmann::json::parse(slurp(d / "s.json"));
    // The curves: per step (loss, lr) and per evaluation (train and validation loss by step).
    for (const char* chart : {"data-chart=\"loss-steps\"", "data-chart=\"lr-steps\"", "data-chart=\"loss-evals\""})
      CHECK(html.find(chart) != std::string::npos);
    CHECK(summary.at("step_loss").size() == 9);
    // A sample at each of the 3 evaluations, 200 bytes each, each on the page as the report shows bytes.
    REQUIRE(summary.at("samples").size() == 3);
    for (const auto& sample : summary.at("samples")) {
      std::string bytes;
      for (const auto& b : sample.at("bytes")) bytes += static_cast<char>(b.get<int>());
      CHECK(bytes.size() == 200);
      CHECK(html.find("<h3>Step " + std::to_string(sample.at("step").get<int>()) + "</h3>") != std::string::npos);
      CHECK(html.find(minidl::report::visible_bytes(bytes) + "</pre>") != std::string::npos);
    }
    // layers × heads = 4 maps of the validation split's first 16 bytes (block 16 < the 32 recorded at most).
    const auto& attention = summary.at("attention");
    CHECK(attention.at("window").size() == 16);
    CHECK(attention.at("maps").size() == 2);
    CHECK(attention.at("maps").at(1).size() == 2);
    size_t maps = 0;
    for (size_t at = html.find("<figure class=\"attention\""); at != std::string::npos;
         at = html.find("<figure class=\"attention\"", at + 1))
      ++maps;
    CHECK(maps == 4);
    CHECK(html.find("<table class=\"confusion\">") == std::string::npos);  // no classifier's sections
    // minidl report on the summary draws the same page (but for the time it took).
    const Run again = run_minidl("report --out " + (d / "again.html") + " " + (d / "s.json"));
    INFO(again.output);
    REQUIRE(again.code == 0);
    const auto untimed = [](std::string page) { return page.erase(page.rfind("<footer>")); };
    CHECK(untimed(slurp(d / "again.html")) == untimed(html));
    // A summary damaged in its language model's fields is refused, naming it, with nothing written.
    std::string damaged = slurp(d / "s.json");
    damaged.replace(damaged.find("\"window\":["), 10, "\"window\":[300,");
    std::ofstream(d / "bad.json") << damaged;
    const Run bad = run_minidl("report --out " + (d / "bad.html") + " " + (d / "bad.json"));
    CHECK(bad.code != 0);
    CHECK(bad.output.find("bad.json") != std::string::npos);
    CHECK(!fs::exists(d / "bad.html"));
  }

  TEST_CASE("train --model gpt keeps at most 32 samples, spread over the run, the last evaluation's included") {
    Dir d;
    const Run r = run_minidl(train(d, "--steps 40 --eval-every 1 --eval-batches 1 --summary " + (d / "s.json")));
    INFO(r.output);
    REQUIRE(r.code == 0);
    const nlohmann::json samples = nlohmann::json::parse(slurp(d / "s.json")).at("samples");
    // 40 evaluations: the 33rd halves the 33 kept to 17 (steps 1, 3, …, 33), then every other one
    // (35, 37, 39) and the last (40).
    REQUIRE(samples.size() == 21);
    CHECK(samples.front().at("step") == 1);
    CHECK(samples.at(16).at("step") == 33);
    CHECK(samples.at(19).at("step") == 39);
    CHECK(samples.back().at("step") == 40);
  }

  TEST_CASE("bad input to train --model gpt: one line, exit 2, nothing written") {
    Dir d;
    const std::string save = d / "out.safetensors";
    std::ofstream(d / "empty.txt");
    std::ofstream(d / "short.txt") << std::string(100, 'a');  // validation split: 10 bytes < block + 1
    REQUIRE(::mkfifo((d / "fifo").c_str(), 0600) == 0);
    fs::create_directories(d / "dir");
    const std::string model = "--steps 2 --threads 1 --save " + save + " ";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"train --model gpt --data text:" + (d / "missing.txt"), "missing.txt"},
        {"train --model gpt --data text:" + (d / "empty.txt"), "empty.txt"},
        {"train --model gpt --data text:" + (d / "dir"), "dir"},
        {"train --model gpt --data text:" + (d / "fifo"), "fifo"},
        {"train --model gpt --data text:/dev/zero", "/dev/zero"},
        {"train --model gpt --data text:" + (d / "short.txt"), "short.txt"},
        {"train --model gpt --data data/mnist", "text:"},
        {"train --model cnn --data text:" + d.corpus, "--model cnn"},
        {"train --model 'gpt(heads=3,embd=16)' --data text:" + d.corpus, "heads"},
        {"train --model 'gpt(layers=0)' --data text:" + d.corpus, "layers"},
        {"train --model 'gpt(embd=-8)' --data text:" + d.corpus, "embd"},
        {"train --model 'gpt(depth=2)' --data text:" + d.corpus, "depth"},
        {"train --model gpt --steps 0 --data text:" + d.corpus, "--steps"},
        {"train --model gpt --eval-batches 0 --data text:" + d.corpus, "--eval-batches"},
        {"train --model gpt --batch-size 0 --data text:" + d.corpus, "--batch-size"},
        {"train --model gpt --report /nonexistent/dir/r.html --data text:" + d.corpus, "--report"},
        {"train --model gpt --report " + (d / "dir") + " --data text:" + d.corpus, "--report"},
        {"train --model gpt --report " + (d / "fifo") + " --data text:" + d.corpus, "--report"},
        {"train --model mlp --steps 5", "--steps"},
    };
    check_refused(cases, model, save);
  }

  TEST_CASE("predict refuses a GPT checkpoint, in one line") {
    Dir d;
    REQUIRE(run_minidl(train(d, "--steps 1 --eval-batches 1 --save " + (d / "ck.safetensors"))).code == 0);
    const Run r = run_minidl("predict --checkpoint " + (d / "ck.safetensors") + " " + d.corpus);
    INFO(r.output);
    CHECK(r.code == 2);
    CHECK(lines(r.output) == 1);
  }
  TEST_CASE("graph --model gpt draws one step's tape on the corpus's first batch, each block in a box of its own") {
    Dir d;
    const std::string dot = d / "g.dot";
    const Run r = run_minidl(
        "graph --model 'gpt(layers=2,heads=2,embd=16,block=8)' --batch-size 2 --format none "
        "--data text:" +
        d.corpus + " --out " + dot);
    INFO(r.output);
    REQUIRE(r.code == 0);
    CHECK(r.output.find("one training step of model gpt(vocab=19,block=8,layers=2,heads=2,embd=16,dropout=0) on "
                        "the first batch of " +
                        d.corpus + ", batch 2: ") != std::string::npos);
    const std::string g = slurp(dot);
    // The corpus's 19 bytes ("the cat sat on the mat 0…6.\n") make the vocabulary: the tied embedding
    // is (19, 16), the logits (2, 8, 19).
    CHECK(g.find("transformer.wte.weight\\n[19, 16]") != std::string::npos);
    CHECK(g.find("[2, 8, 19]") != std::string::npos);
    CHECK(g.find("transformer.h.1.attn.c_attn.weight\\n[48, 16]") != std::string::npos);
    // One cluster per block, holding its 12 parameters and the same ops in each.
    std::vector<std::string> members;
    for (const char* label :
         {"label=\"transformer.h.0 (TransformerBlock)\"", "label=\"transformer.h.1 (TransformerBlock)\""}) {
      const size_t at = g.find(label);
      REQUIRE(at != std::string::npos);
      members.push_back(g.substr(at, g.find('}', at) - at));
    }
    CHECK(g.find("cluster_2") == std::string::npos);
    const auto count = [](const std::string& text, const std::string& what) {
      size_t n = 0;
      for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
      return n;
    };
    for (const std::string& m : members) {
      CHECK(count(m, " leaf") == 12);
      CHECK(count(m, " op") >= 6);  // two layer norms, four linear maps, the attention
      CHECK(count(m, " op") == count(members[0], " op"));
    }
    // The residual adds read the stream and a block's output: outside every box.
    CHECK(count(g, "subgraph cluster_") == 2);
  }

  TEST_CASE("graph --model gpt without a corpus draws tokens 0, 1, 2, … of a byte vocabulary, and bad specs exit 2") {
    Dir d;
    const std::string dot = d / "g.dot";
    // From a directory without data/text/fortunes.txt: nothing to read, so every byte is a token.
    const Run r = run_shell("cd " + d.path.string() + " && OMP_WAIT_POLICY=passive " + MINIDL_BIN +
                            " graph --model 'gpt(layers=1,heads=2,embd=8,block=4)' --format none --out g.dot 2>&1");
    INFO(r.output);
    REQUIRE(r.code == 0);
    CHECK(r.output.find("batch 12: ") != std::string::npos);  // train --model gpt's batch
    CHECK(r.output.find("tokens 0, 1, 2, … of a 256-byte vocabulary") != std::string::npos);
    CHECK(slurp(dot).find("transformer.wte.weight\\n[256, 8]") != std::string::npos);
    fs::remove(dot);
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"graph --model 'gpt(heads=3,embd=16)'", "heads"},
        {"graph --model 'gpt(layers=0)'", "layers"},
        {"graph --model 'gpt(block=0)'", "block"},
        {"graph --model 'gpt(embd=-8)'", "embd"},
        {"graph --model 'gpt(depth=2)'", "depth"},
        {"graph --model 'gpt(layers=1,heads=1,embd=8,block=4)' --data text:" + (d / "missing.txt"), "missing.txt"},
        {"graph --model 'gpt(layers=1,heads=1,embd=8,block=4)' --data data/mnist", "text:"},
        {"graph --model mlp --data text:" + d.corpus, "--data"},
        {"graph --model 'gpt(layers=1,heads=1,embd=8,block=4)' --batch-size 0", "--batch-size"},
    };
    check_refused(cases, "--format none --out " + dot, dot);
  }

  TEST_CASE("explain-step on a GPT checkpoint: each group's weight decay, and the step the resumed run takes") {
    Dir d;
    const std::string ck = d / "ck.safetensors";
    // The default recipe (AdamW, weight decay 0.1 on 2-D weights, warm-up, clipping at 1).
    REQUIRE(run_minidl(train(d, "--steps 3 --eval-every 3 --eval-batches 2 --save " + ck)).code == 0);
    const std::string explain = "explain-step --threads 1 --checkpoint " + ck;
    const Run attn = run_minidl(explain + " --param transformer.h.0.attn.c_attn.weight --index 5,7");
    INFO(attn.output);
    REQUIRE(attn.code == 0);
    CHECK(attn.output.find(
              "explain-step: transformer.h.0.attn.c_attn.weight[5,7] at step 4 (after 3 of the run's 3 steps on " +
              d.corpus) != std::string::npos);
    const size_t lr_at = attn.output.find("\nadamw, lr ");
    REQUIRE(lr_at != std::string::npos);
    // The schedule's lr at step index 3 of the 100-step warm-up, 1e-3 · 4/100, rounded to float.
    CHECK(std::fabs(std::stod(attn.output.substr(lr_at + 11)) - 4e-5) <= 4e-5 * 1e-6);
    CHECK(attn.output.find(", weight decay 0.1 (the group of 2-D weights, decayed)") != std::string::npos);
    CHECK(attn.output.find("AdamW's decoupled weight decay") != std::string::npos);
    CHECK(attn.output.find(": matches") != std::string::npos);
    const Run ln = run_minidl(explain + " --param transformer.h.0.ln_1.weight --index 3");
    INFO(ln.output);
    REQUIRE(ln.code == 0);
    CHECK(ln.output.find("weight decay 0 (the group of biases and LayerNorm weights: no decay)") != std::string::npos);
    CHECK(ln.output.find(": matches") != std::string::npos);

    // The resumed run's fourth step writes the weight the explanation gives (printed to 8 digits).
    REQUIRE(run_minidl("train --resume " + ck + " --steps 4 --threads 1 --save " + (d / "ck4.safetensors")).code == 0);
    const size_t at = attn.output.find("θ (after)");
    REQUIRE(at != std::string::npos);
    const double explained = std::stod(attn.output.substr(at + std::string("θ (after)").size()));
    float actual = 0;
    for (const auto& [name, t] : tensors(d / "ck4.safetensors").tensors)
      if (name == "transformer.h.0.attn.c_attn.weight") actual = t.to_vector()[5 * 16 + 7];
    CHECK(std::fabs(explained - actual) <= 1e-7 * std::fabs(actual) + 1e-12);

    const Run unknown = run_minidl(explain + " --param blocks.0.attn.c_attn.weight");
    CHECK(unknown.code == 2);
    CHECK(
        unknown.output.starts_with("minidl explain-step: error: --param: no parameter 'blocks.0.attn.c_attn.weight' "
                                   "(the model has transformer.wte.weight, transformer.wpe.weight, "
                                   "transformer.h.0.ln_1.weight, "));
    CHECK(unknown.output.find(" in all)") != std::string::npos);
    CHECK(lines(unknown.output) == 1);
    const Run missing =
        run_minidl(explain + " --param transformer.h.0.ln_1.weight --index 0 --data text:" + (d / "no.txt"));
    CHECK(missing.code == 2);
    CHECK(lines(missing.output) == 1);
    CHECK(missing.output.find("no.txt") != std::string::npos);
  }
}
