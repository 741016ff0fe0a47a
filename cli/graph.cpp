// minidl graph: the tape of one training step of a model (its forward pass and cross-entropy, what
// backward() then runs in reverse) as a Graphviz DOT file (autograd::to_dot), rendered to SVG or
// PNG by Graphviz's `dot` when it is installed. The batch is made up: the tape's ops and shapes
// depend on the model and the batch size, never on the pixel values, so no data is needed.
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
#include "data/atomic_file.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/model.h"
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

}  // namespace

int run_graph(const GraphArgs& args) {
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
  try {
    plan_run_model(args.config);
  } catch (const Error& e) {
    throw UsageError(std::string("--model: ") + e.what());
  }
  Generator init(args.config.seed), noise(args.config.seed + 2);
  const auto model = make_model(args.config, init, &noise);
  model->train();  // as in a training step: dropout draws its mask, batch norm uses the batch
  const int64_t n = args.config.batch_size;
  const Tensor images = model_input(Tensor::zeros({n, kInputs}), model_input_shape(args.config));
  std::vector<int32_t> classes(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) classes[static_cast<size_t>(i)] = static_cast<int32_t>(i % kClasses);
  const Tensor labels = Tensor::from_vector(classes, {n});
  const Tensor loss = nn::functional::cross_entropy((*model)(images), labels);
  NamedTensors names = model->state_dict();  // parameters and buffers: batch norm's running statistics by name
  names.emplace_back("images", images);
  names.emplace_back("labels", labels);
  const std::string dot = autograd::to_dot(loss, names);

  data::write_text_atomically(args.out, dot, "graph --out");
  const size_t summary_end = dot.find(". Forward");
  std::printf("wrote %s: one training step of model %s, batch %lld: %s\n", args.out.c_str(),
              model_name(args.config).c_str(), static_cast<long long>(n),
              dot.substr(dot.find(": ") + 2, summary_end - dot.find(": ") - 2).c_str());
  if (args.formats.empty()) return 0;
  const std::string dot_program = find_program("dot");
  const std::filesystem::path stem = std::filesystem::path(args.out).replace_extension();
  if (dot_program.empty()) {
    std::printf(
        "Graphviz's dot is not installed (Debian: apt-get install graphviz), so no %s was rendered; "
        "with it: dot -T%s %s -o %s.%s\n",
        args.formats.front().c_str(), args.formats.front().c_str(), args.out.c_str(), stem.c_str(),
        args.formats.front().c_str());
    return 0;
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
  graph->footer(layers_footer());
  return {graph, [f] {
            GraphArgs& g = f->args;
            g.config.hidden = parse_int_list(f->hidden, "--hidden", "sizes");
            g.formats = f->formats == "none" ? std::vector<std::string>{} : split_list(f->formats);
            return run_graph(g);
          }};
}

}  // namespace minidl::cli
