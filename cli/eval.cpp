// minidl eval: a checkpoint's test loss, accuracy and confusion matrix (nn::evaluate), and the
// dataset helpers the commands share: finding the data, naming the classes.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/checkpoint.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/model.h"
#include "cli/train_gpt.h"
#include "core/backend.h"
#include "data/data_loader.h"
#include "data/safetensors.h"
#include "nn/evaluate.h"
#include "nn/sequential.h"

namespace minidl::cli {

void check_data_present(const std::string& dir, const std::string& dataset) {
  const std::string file = dir + "/train-images-idx3-ubyte";
  check(std::filesystem::exists(file) || std::filesystem::exists(file + ".gz"), "no ", dataset, " data in ", dir,
        "; get it with: ", fetch_command(dataset));
}

std::vector<std::string> class_names(const std::string& dataset) {
  if (dataset == "fashion-mnist")
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
}

namespace {

// The confusion matrix as a table: rows the true class, columns the predicted one.
void print_confusion(std::ostream& os, const nn::Evaluation& e, const std::vector<std::string>& names) {
  std::vector<std::string> labels;  // "3", or "3 Dress" when classes have names
  size_t width = 0;
  for (int r = 0; r < 10; ++r) {
    std::string label = std::to_string(r);
    if (names[r] != label) label.append(" ").append(names[r]);
    labels.push_back(label);
    width = std::max(width, labels.back().size());
  }
  char buf[32];
  os << "confusion matrix (rows: true class, columns: predicted)\n" << std::string(width, ' ');
  for (int c = 0; c < 10; ++c) {
    std::snprintf(buf, sizeof buf, "%6d", c);
    os << buf;
  }
  os << '\n';
  for (int r = 0; r < 10; ++r) {
    os << labels[r] << std::string(width - labels[r].size(), ' ');
    for (int c = 0; c < 10; ++c) {
      std::snprintf(buf, sizeof buf, "%6lld", static_cast<long long>(e.confusion[r][c]));
      os << buf;
    }
    os << '\n';
  }
}

}  // namespace

int run_eval(const EvalArgs& args) {
  // A language model's checkpoint (gpt.config in its metadata), or text:PATH data: cli/train_gpt.cpp.
  if (args.data_dir.starts_with("text:") || is_gpt_checkpoint(args.checkpoint))
    return run_eval_gpt(args.checkpoint, args.data_dir, args.threads);
  apply_threads_flag(args.threads);
  const Device device = parse_device(args.device);
  const Checkpoint ck = load_checkpoint(args.checkpoint);
  const std::string dataset = args.dataset.empty() ? ck.config.dataset : args.dataset;
  try {
    dataset_info(dataset);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  Generator unused(0);  // the weights come from the checkpoint
  const auto model = make_model(ck.config, unused, &unused);
  model->to(device);
  load_parameters(*model, ck.parameters, args.checkpoint);
  model->eval();

  const std::string dir = args.data_dir.empty() ? default_data_dir(dataset) : args.data_dir;
  check_data_present(dir, dataset);
  const data::ImageDataset test = data::load_mnist_format(dir, data::Split::test, dataset_info(dataset));
  const Shape example = model_input_shape(ck.config);
  data::DataLoader loader(test, {.batch_size = evaluation_batch(ck.config), .device = device});
  const nn::Evaluation e = nn::evaluate(*model, loader, example);
  std::printf("%s test set, %lld images: loss %.4f, accuracy %.2f%% (%lld correct)\n", dataset.c_str(),
              static_cast<long long>(e.total), e.loss, 100 * e.accuracy, static_cast<long long>(e.correct));
  print_confusion(std::cout, e, class_names(dataset));
  return 0;
}

Command add_eval(CLI::App& app) {
  auto e = std::make_shared<EvalArgs>();
  CLI::App* eval = app.add_subcommand("eval", "test loss, accuracy and confusion matrix of a checkpoint");
  eval->add_option("--checkpoint", e->checkpoint, "checkpoint written by minidl train")->required();
  eval->add_option("--dataset", e->dataset, "mnist | fashion-mnist (default: the checkpoint's)");
  add_runtime_flags(eval, *e, kData | kThreads | kDevice);
  return {eval, [e] { return run_eval(*e); }};
}

}  // namespace minidl::cli
