// The README's C++ loop (one epoch of the default MLP, Nesterov), timed: what scripts/bench-threads
// runs at the library's default thread count and at 1 thread, beside one busy process per core.
//
//   build/examples/readme_loop data/mnist        # the library's default (core/backend.h)
//   build/examples/readme_loop data/mnist 1      # set_num_threads(1) first
//
// Prints one JSON line: {"seconds": <the epoch>, "threads": <used>, "accuracy": <test accuracy>}.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <minidl/minidl.h>
using namespace minidl;

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "data/mnist";
  if (argc > 2) set_num_threads(std::atoi(argv[2]));  // else the library chooses, at its first op
  data::MNIST train(dir, data::Split::train);
  data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 1});
  Generator gen(0);
  auto model = nn::mlp(784, {256}, 10, gen);
  optim::Nesterov opt(model->parameters(), {.lr = 0.01f, .momentum = 0.9f});
  const auto start = std::chrono::steady_clock::now();
  for (const data::Batch& batch : loader) nn::train_step(*model, opt, batch.inputs, batch.targets);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  data::MNIST test(dir, data::Split::test);
  data::DataLoader test_loader(test, {.batch_size = 1000});
  std::printf("{\"seconds\": %.4f, \"threads\": %d, \"accuracy\": %.4f}\n", seconds, num_threads(),
              nn::evaluate(*model, test_loader).accuracy);
  return 0;
}
