// Uses the installed minidl through its umbrella header: tensors and autograd, then a layer and
// an optimizer step, then the HTML report of that little run, as an outside program would.
#include <minidl/minidl.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>

int main() {
  using namespace minidl;
  Tensor w = Tensor::from_vector({1.f, -2.f, 3.f, 0.5f}, {2, 2}, /*requires_grad=*/true);
  Tensor x = Tensor::from_vector({1.f, 2.f}, {1, 2});
  Tensor loss = sum(relu(matmul(x, w.transpose(0, 1))));  // relu([1·1 − 2·2, 1·3 + 2·0.5]) = [0, 4]
  loss.backward();
  const auto g = w.grad().to_vector();  // only the second output row is active: d/dw[1] = x
  bool ok = std::fabs(loss.item() - 4.f) < 1e-6f && g[0] == 0.f && g[1] == 0.f && g[2] == 1.f && g[3] == 2.f;

  Generator gen(0);
  nn::Linear layer(2, 1, true, gen);
  optim::Nesterov opt(layer.parameters(), {.lr = 0.1f, .momentum = 0.9f});
  const Tensor target = Tensor::from_vector({3.f}, {1, 1});
  float first = 0, last = 0;
  report::RunSummary run;  // the run as report/ reads it: settings as JSON, a loss per step
  run.config = R"json({"model": "linear(1)", "optimizer": "nesterov", "lr": 0.1})json";
  for (int step = 0; step < 20; ++step) {
    const Tensor l = nn::functional::mse_loss(layer(x), target);
    (step == 0 ? first : last) = l.item();
    run.step_loss.push_back(l.item()), run.step_lr.push_back(0.1f);
    opt.zero_grad();
    l.backward();
    opt.step();
  }
  ok = ok && last < 0.01f * first;
  run.epochs = {{.epoch = 1, .steps = 20, .train_loss = first, .test_loss = last, .test_accuracy = 1}};
  const std::string page =
      (std::filesystem::temp_directory_path() / ("minidl-consumer-" + std::to_string(::getpid()) + ".html")).string();
  const report::Written written = report::write(run, page);
  ok = ok && written.bytes > 1000 && std::filesystem::file_size(page) == written.bytes;
  std::filesystem::remove(page);
  std::cout << "consumer: loss " << loss.item() << ", grad " << w.grad() << "; linear fit " << first << " -> " << last
            << "; report " << written.bytes << " bytes" << (ok ? " ok" : " WRONG") << "\n";
  return ok ? 0 : 1;
}
