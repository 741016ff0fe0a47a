// Fits y = 3x − 2 by gradient descent, written out by hand: the smallest complete use of
// minidl's tensors and autograd. Reads top to bottom: data, parameters, the loop, the result.
#include <minidl/minidl.h>

#include <cmath>
#include <cstdio>

int main() {
  using namespace minidl;
  Generator gen(0);

  // Data: 256 points on the line, with a little noise.
  const Tensor x = Tensor::uniform({256, 1}, -1.f, 1.f, gen);
  const Tensor y = 3.f * x - 2.f + 0.01f * Tensor::randn({256, 1}, gen);

  // Parameters: a 1×1 weight and a bias, both leaves that collect gradients.
  Tensor w = Tensor::zeros({1, 1}, {.requires_grad = true});
  Tensor b = Tensor::zeros({1}, {.requires_grad = true});

  const float lr = 0.5f;
  for (int step = 0; step < 200; ++step) {
    const Tensor loss = mean(square(matmul(x, w) + b - y));  // mean squared error
    w.set_grad({});                                          // gradients accumulate, so clear them before each backward
    b.set_grad({});
    loss.backward();
    {
      NoGradGuard no_grad;  // the update itself is not part of any graph
      w = (w - lr * w.grad()).set_requires_grad();
      b = (b - lr * b.grad()).set_requires_grad();
    }
    if (step % 50 == 0) std::printf("step %3d  loss %.6f\n", step, loss.item());
  }
  const float wv = w.item(), bv = b.item();
  std::printf("fitted y = %.4f x %+.4f (true: y = 3 x - 2)\n", wv, bv);
  return std::fabs(wv - 3.f) < 0.01f && std::fabs(bv + 2.f) < 0.01f ? 0 : 1;
}
