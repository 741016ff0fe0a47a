// minidl graph: the tape of one training step of a model (its forward pass and cross-entropy, what
// backward() then runs in reverse) as a Graphviz DOT file (autograd::to_dot), rendered to SVG or
// PNG by Graphviz's `dot` when it is installed. The batch is made up: the tape's ops and shapes
// depend on the model and the batch size, never on the pixel values, so no data is needed. A GPT's
// (--model gpt) depend on the vocabulary too, so its step reads the corpus train would (--data
// text:PATH, default the fetched one) and takes the first batch train takes; without a corpus, the
// tokens are 0, 1, 2, … over every byte. Each transformer block is drawn in a box of its own.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "autograd/to_dot.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/model.h"
#include "cli/train_gpt.h"
#include "data/atomic_file.h"
#include "nn/functional.h"

namespace minidl::cli {

namespace {

// The first executable `name` on PATH, or "" when there is none.
std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate)) return candidate;
  }
  return "";
}

// Runs a program without a shell (paths need no quoting) and returns its exit code.
int run_program(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  check(pid >= 0, "graph: fork failed");
  if (pid == 0) {
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool is_gpt(const TrainConfig& config) { return config.model == "gpt" || config.model.starts_with("gpt("); }

// The model checked: a classifier planned within the memory budget, a GPT's spec parsed.
void check_graph_model(const GraphArgs& args) {
  if (is_gpt(args.config)) {
    parse_gpt_model(args.config.model);  // a UsageError naming the spec
    return;
  }
  if (!args.data.empty())
    throw UsageError("--data is read by --model gpt only: a classifier's tape does not depend on the images");
  try {
    plan_run_model(args.config);
  } catch (const Error& e) {
    throw UsageError(std::string("--model: ") + e.what());
  }
}

// Every flag and the model checked, and the outputs refused by the output policy, before any work.
void check_graph_args(const GraphArgs& args) {
  if (args.config.batch_size < 1 || args.config.batch_size > 4096)
    throw UsageError(str_cat("--batch-size must be in [1, 4096] for a graph, got ", args.config.batch_size));
  for (const std::string& format : args.formats)
    if (format != "svg" && format != "png")
      throw UsageError("--format takes svg and png (comma-separated) or none, got '" + format + "'");
  const std::string extension = std::filesystem::path(args.out).extension().string();
  if (extension == ".svg" || extension == ".png")
    throw UsageError("--out names the DOT file (e.g. graph.dot); the " + extension.substr(1) + " goes beside it");
  std::vector<data::NamedFile> outputs = {{"--out", args.out}};
  for (const std::string& format : args.formats)
    outputs.push_back({"--out's " + format, std::filesystem::path(args.out).replace_extension(format).string()});
  for (const data::NamedFile& f : outputs) data::check_output_target(f.path, "graph --out");
  data::check_distinct_outputs(outputs);
  check_graph_model(args);
}

// The DOT of one training step's tape: the model on a batch of zero images with labels 0, 1, 2, …
std::string step_graph(const TrainConfig& config) {
  Generator init(config.seed), noise(config.seed + 2);
  const auto model = make_model(config, init, &noise);
  model->train();  // as in a training step: dropout draws its mask, batch norm uses the batch
  const int64_t n = config.batch_size;
  const Tensor images = model_input(Tensor::zeros({n, kInputs}), model_input_shape(config));
  std::vector<int32_t> classes(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) classes[static_cast<size_t>(i)] = static_cast<int32_t>(i % kClasses);
  const Tensor labels = Tensor::from_vector(classes, {n});
  const Tensor loss = nn::functional::cross_entropy((*model)(images), labels);
  NamedTensors names = model->state_dict();  // parameters and buffers: batch norm's running statistics by name
  names.emplace_back("images", images);
  names.emplace_back("labels", labels);
  return autograd::to_dot(loss, names);
}

// A GPT step's tokens (B, T) and next tokens, and the vocabulary they are drawn from.
struct GptBatch {
  Tensor x, y;
  int64_t vocab;
  std::string source;  // where they come from, for the summary line
};

// The first batch `train --model gpt --seed S` takes (its windows drawn from seed + 1) from the
// corpus --data names, or the fetched one when it is there; else tokens 0, 1, 2, … over 256 bytes.
GptBatch gpt_batch(const GraphArgs& args, int64_t block) {
  const int64_t n = args.config.batch_size;
  if (!args.data.empty() || std::filesystem::exists(kDefaultText)) {
    const data::TextDataset text = load_text(text_path(args.data), block);
    Generator windows(args.config.seed + 1);
    auto [x, y] = text.batch(data::TextSplit::train, n, block, windows);
    return {x, y, text.vocab_size(), "the first batch of " + text.name()};
  }
  constexpr int64_t kBytes = 256;
  std::vector<int32_t> x(static_cast<size_t>(n * block)), y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<int32_t>(i % kBytes);
    y[i] = static_cast<int32_t>((i + 1) % kBytes);
  }
  return {Tensor::from_vector(x, {n, block}), Tensor::from_vector(y, {n, block}), kBytes,
          str_cat("tokens 0, 1, 2, … of a 256-byte vocabulary (no corpus: ", kDefaultText, " is absent)")};
}

// The DOT of one GPT training step (GPT::loss of its logits), each block in a cluster of its own.
std::string gpt_step_graph(const GraphArgs& args, std::string& described) {
  nn::GPTConfig c = parse_gpt_model(args.config.model);
  const GptBatch batch = gpt_batch(args, c.block);
  c.vocab = batch.vocab;
  Generator init(args.config.seed), noise(args.config.seed + 2);  // as train seeds them
  nn::GPT model(c, init);
  if (c.dropout > 0) model.set_dropout_generator(noise);
  model.train();
  const Tensor loss = nn::GPT::loss(model(batch.x), batch.y);
  NamedTensors names = model.state_dict();
  names.emplace_back("tokens", batch.x);
  names.emplace_back("targets", batch.y);
  std::vector<autograd::DotCluster> clusters;
  for (int64_t i = 0; i < c.layers; ++i)
    clusters.push_back({str_cat("transformer.h.", i, "."), str_cat("transformer.h.", i, " (TransformerBlock)")});
  described = str_cat("gpt(", c.str(), ") on ", batch.source);
  return autograd::to_dot(loss, names, clusters);
}

// The images --format asks for, rendered by Graphviz's dot when it is installed.
void render(const GraphArgs& args, const std::string& dot) {
  const std::string dot_program = find_program("dot");
  const std::filesystem::path stem = std::filesystem::path(args.out).replace_extension();
  if (dot_program.empty()) {
    std::printf(
        "Graphviz's dot is not installed (Debian: apt-get install graphviz), so no %s was rendered; "
        "with it: dot -T%s %s -o %s.%s\n",
        args.formats.front().c_str(), args.formats.front().c_str(), args.out.c_str(), stem.c_str(),
        args.formats.front().c_str());
    return;
  }
  // dot reads and writes in a private directory; its image is then published under the output policy
  // (data/atomic_file.h), so a link planted beside --out is replaced, never written through.
  const data::PrivateDirectory drawing("graph --out");
  data::write_text_atomically(drawing / "graph.dot", dot, "graph --out");
  for (const std::string& format : args.formats) {
    const std::string image = stem.string() + "." + format;
    const int code = run_program({dot_program, "-T" + format, drawing / "graph.dot", "-o", drawing / ("g." + format)});
    if (code != 0)
      throw Error(str_cat("graph: ", dot_program, " -T", format, " ", args.out, " failed (exit ", code, ")"));
    data::publish_copy(drawing / ("g." + format), image, "graph --out");
    std::printf("rendered %s\n", image.c_str());
  }
}

}  // namespace

int run_graph(const GraphArgs& args) {
  check_graph_args(args);
  std::string model;
  const std::string dot = is_gpt(args.config) ? gpt_step_graph(args, model) : step_graph(args.config);
  if (model.empty()) model = model_name(args.config);
  data::write_text_atomically(args.out, dot, "graph --out");
  const size_t summary_end = dot.find(". Forward");
  std::printf("wrote %s: one training step of model %s, batch %lld: %s\n", args.out.c_str(), model.c_str(),
              static_cast<long long>(args.config.batch_size),
              dot.substr(dot.find(": ") + 2, summary_end - dot.find(": ") - 2).c_str());
  if (!args.formats.empty()) render(args, dot);
  return 0;
}

Command add_graph(CLI::App& app) {
  struct Flags {
    GraphArgs args;
    std::string hidden = "256", formats = "svg";
  };
  auto f = std::make_shared<Flags>();
  GraphArgs& g = f->args;
  CLI::App* graph = app.add_subcommand("graph",
                                       "the autograd tape of one training step as a Graphviz graph (DOT, "
                                       "and SVG/PNG when Graphviz's dot is installed)");
  graph->add_option("--model", g.config.model, model_help())->capture_default_str();
  graph->add_option("--hidden", f->hidden, "hidden layer sizes, comma-separated (--model mlp)")->capture_default_str();
  graph->add_option("--batch-size", g.config.batch_size, "examples in the step's batch")->capture_default_str();
  graph->add_option("--seed", g.config.seed, "seed of the initialization (and dropout's mask)")
      ->check(kNonNegative)
      ->capture_default_str();
  graph->add_option("--out", g.out, "the DOT file to write; rendered images go beside it")->capture_default_str();
  graph->add_option("--format", f->formats, "svg, png, svg,png or none")->capture_default_str();
  graph->add_option("--data", g.data,
                    str_cat("--model gpt: text:PATH, the corpus whose vocabulary and first batch the step uses "
                            "(default text:",
                            kDefaultText, " when it is there, else tokens 0, 1, 2, …)"));
  graph->footer(layers_footer());
  return {graph, [f, graph] {
            GraphArgs& g = f->args;
            // A GPT's step is drawn at train --model gpt's batch unless told otherwise.
            if (is_gpt(g.config) && graph->get_option("--batch-size")->count() == 0)
              g.config.batch_size = GptSettings{}.batch_size;
            g.config.hidden = parse_int_list(f->hidden, "--hidden", "sizes");
            g.formats = f->formats == "none" ? std::vector<std::string>{} : split_list(f->formats);
            return run_graph(g);
          }};
}

}  // namespace minidl::cli
