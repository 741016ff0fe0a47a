// core: shapes, factories, the generator, views and strides, the non-differentiable compute
// (through the public ops), printing, memory, and the errors every misuse must raise.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>
#include <sstream>

#include <minidl/minidl.h>
#include "core/dispatch.h"
#include "testing.h"

using namespace minidl;

namespace {

std::string repr(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

std::vector<float> iota(int64_t n, float start = 0.f) {
  std::vector<float> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), start);
  return v;
}

// Naive row-major matrix product in double, for checking matmul.
std::vector<double> naive_matmul(const std::vector<float>& a, const std::vector<float>& b, int m, int k, int n) {
  std::vector<double> c(static_cast<size_t>(m * n), 0.0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      for (int p = 0; p < k; ++p) c[i * n + j] += double{a[i * k + p]} * b[p * n + j];
  return c;
}

std::vector<float> absolute(std::vector<float> v) {
  for (float& e : v) e = std::fabs(e);
  return v;
}

// matmul's result against the exact product: each element is a k-term dot product that BLAS adds in
// its own order, so it is within testing::reorder_tolerance of the exact value, with Σ|aᵢbᵢ| the
// product of |a| and |b|.
void check_matmul(const std::vector<float>& got, const std::vector<float>& a, const std::vector<float>& b, int m, int k,
                  int n) {
  testing::check_reordered(got, naive_matmul(a, b, m, k, n), k, naive_matmul(absolute(a), absolute(b), m, k, n));
}

void check_close(const std::vector<float>& got, const std::vector<float>& want, double eps = 1e-5) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(eps));
}

}  // namespace

TEST_SUITE("core") {
  TEST_CASE("Shape is built from a braced list and reports its element count") {
    const Shape s{64, 784};
    CHECK(s.size() == 2);
    CHECK(s.numel() == 64 * 784);
    CHECK(s.str() == "[64, 784]");
    CHECK(Shape{}.numel() == 1);
    CHECK(Shape{3, 0}.numel() == 0);
    CHECK(contiguous_strides({2, 3, 4}) == Shape{12, 4, 1});
    CHECK(broadcast_shapes({3, 1}, {4}, "add") == Shape{3, 4});
    CHECK(broadcast_shapes({}, {2, 2}, "add") == Shape{2, 2});
    CHECK(error_of([] { Shape{1, 2, 3, 4, 5, 6, 7, 8, 9}; }) == "Shape: at most 8 dimensions are supported, got 9");
    CHECK(error_of([] { Shape{1LL << 40, 1LL << 40}.numel(); }).find("overflows") != std::string::npos);
  }

  TEST_CASE("factories fill values, dtypes and options") {
    CHECK(Tensor::zeros({2, 3}).to_vector() == std::vector<float>(6, 0.f));
    CHECK(Tensor::ones({4}).to_vector() == std::vector<float>(4, 1.f));
    CHECK(Tensor::full({2}, 2.5f).to_vector() == std::vector<float>{2.5f, 2.5f});
    CHECK(Tensor::arange(5).to_vector() == std::vector<float>{0, 1, 2, 3, 4});
    CHECK(Tensor::arange(5, 0, -2).to_vector() == std::vector<float>{5, 3, 1});
    CHECK(Tensor::arange(0, 0).numel() == 0);
    const Tensor i = Tensor::arange(3, {.dtype = DType::int32});
    CHECK(i.dtype() == DType::int32);
    CHECK(i.to_int_vector() == std::vector<int32_t>{0, 1, 2});
    const Tensor v = Tensor::from_vector({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
    CHECK(v.shape() == Shape{2, 3});
    CHECK(v.dim() == 2);
    CHECK(v.numel() == 6);
    CHECK(v.size(-1) == 3);
    CHECK(v.dtype() == DType::float32);
    CHECK(v.device() == Device::cpu());
    CHECK(v.is_contiguous());
    CHECK_FALSE(v.requires_grad());
    CHECK(Tensor::zeros({2}, {.requires_grad = true}).requires_grad());
    CHECK(Tensor::from_vector(std::vector<int32_t>{7, -1}, {2}).to_int_vector() == std::vector<int32_t>{7, -1});
    CHECK(Tensor::full({}, 3.f).item() == 3.f);
    CHECK(Tensor::full({2}, -3.9f, {.dtype = DType::int32}).to_int_vector() == std::vector<int32_t>{-3, -3});
  }

  TEST_CASE("Generator reproduces the published xoshiro256** and splitmix64 outputs") {
    uint64_t seed = 0;
    CHECK(Generator::splitmix64(seed) == 0xe220a8397b1dcdafULL);
    Generator g;
    g.set_state({1, 2, 3, 4});
    CHECK(g.next_u64() == 11520ULL);
    CHECK(g.next_u64() == 0ULL);
    CHECK(g.next_u64() == 1509978240ULL);
    CHECK(g.next_u64() == 1215971899390074240ULL);
    CHECK(error_of([&] { g.set_state({0, 0, 0, 0}); }).find("all-zero") != std::string::npos);
  }

  TEST_CASE("Generator is deterministic per seed and its distributions have the right moments") {
    Generator a(42), b(42), c(43);
    const Tensor x = Tensor::randn({100000}, a);
    CHECK(x.to_vector() == Tensor::randn({100000}, b).to_vector());
    CHECK(x.to_vector() != Tensor::randn({100000}, c).to_vector());
    const float m = mean(x).item();
    const float var = mean(square(x - m)).item();
    CHECK(std::fabs(m) < 0.01f);
    CHECK(var == doctest::Approx(1.0).epsilon(0.02));

    const std::vector<float> u = Tensor::uniform({50000}, -2.f, 3.f, a).to_vector();
    CHECK(*std::min_element(u.begin(), u.end()) >= -2.f);
    CHECK(*std::max_element(u.begin(), u.end()) < 3.f);
    CHECK(std::accumulate(u.begin(), u.end(), 0.0) / u.size() == doctest::Approx(0.5).epsilon(0.02));

    std::vector<int> counts(7, 0);
    for (int i = 0; i < 70000; ++i) ++counts[a.below(7)];
    for (int c7 : counts) CHECK(std::abs(c7 - 10000) < 500);

    Generator s(7);  // state round trip resumes the same stream
    s.next_u64();
    const auto state = s.state();
    const uint64_t next = s.next_u64();
    Generator t(0);
    t.set_state(state);
    CHECK(t.next_u64() == next);
  }

  TEST_CASE("views share storage, and contiguous copies only when needed") {
    const Tensor x = Tensor::from_vector(iota(12), {3, 4});
    const Tensor t = x.transpose(0, 1);
    CHECK(t.shares_storage(x));
    CHECK(t.shape() == Shape{4, 3});
    CHECK(t.strides() == Shape{1, 4});
    CHECK_FALSE(t.is_contiguous());
    CHECK(t.to_vector() == std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
    CHECK(x.contiguous().is_same(x));
    const Tensor tc = t.contiguous();
    CHECK_FALSE(tc.shares_storage(x));
    CHECK(tc.is_contiguous());
    CHECK(tc.to_vector() == t.to_vector());

    const Tensor r = x.reshape({2, 6});
    CHECK(r.shares_storage(x));
    CHECK(x.reshape({-1}).shape() == Shape{12});
    CHECK(x.view({4, -1}).shape() == Shape{4, 3});
    CHECK_FALSE(t.reshape({12}).shares_storage(x));  // a transposed tensor cannot be flattened in place
    CHECK(t.reshape({12}).to_vector() == t.to_vector());
    CHECK(t.reshape({2, 2, 3}).shares_storage(x));  // splitting the first dim still works in place

    const Tensor s = x.slice(1, 1, 3);  // columns 1, 2
    CHECK(s.shares_storage(x));
    CHECK(s.offset() == 1);
    CHECK(s.to_vector() == std::vector<float>{1, 2, 5, 6, 9, 10});
    CHECK(x.slice(0, -1, 3).to_vector() == std::vector<float>{8, 9, 10, 11});
    CHECK(x.slice(1, 0, 4, 2).to_vector() == std::vector<float>{0, 2, 4, 6, 8, 10});
    CHECK(x.slice(0, 1, 1).numel() == 0);

    const Tensor p = Tensor::from_vector(iota(24), {2, 3, 4}).permute({2, 0, 1});
    CHECK(p.shape() == Shape{4, 2, 3});
    CHECK(p.contiguous().to_vector()[1] == 4.f);  // p[0, 0, 1] = x[0, 1, 0]
    CHECK(x.unsqueeze(0).shape() == Shape{1, 3, 4});
    CHECK(x.unsqueeze(-1).shape() == Shape{3, 4, 1});
    CHECK(x.unsqueeze(1).squeeze(1).shape() == Shape{3, 4});
    CHECK(Tensor::zeros({2, 3, 4}).flatten(1).shape() == Shape{2, 12});
    CHECK(x.detach().shares_storage(x));
  }

  TEST_CASE("elementwise ops broadcast by NumPy rules") {
    const Tensor col = Tensor::from_vector({1.f, 2.f, 3.f}, {3, 1});
    const Tensor row = Tensor::from_vector({10.f, 20.f}, {2});
    CHECK((col + row).shape() == Shape{3, 2});
    CHECK((col + row).to_vector() == std::vector<float>{11, 21, 12, 22, 13, 23});
    CHECK((row - col).to_vector() == std::vector<float>{9, 19, 8, 18, 7, 17});
    CHECK((col * row).to_vector() == std::vector<float>{10, 20, 20, 40, 30, 60});
    CHECK((row / 4.f).to_vector() == std::vector<float>{2.5f, 5.f});
    CHECK((1.f - row).to_vector() == std::vector<float>{-9.f, -19.f});
    CHECK((2.f * col).to_vector() == std::vector<float>{2, 4, 6});
    CHECK((-row).to_vector() == std::vector<float>{-10, -20});
    CHECK((8.f / row).to_vector() == std::vector<float>{0.8f, 0.4f});
    // Non-contiguous operands: a transposed view plus a slice.
    const Tensor x = Tensor::from_vector(iota(6), {2, 3});
    CHECK((x.transpose(0, 1) + x.slice(1, 0, 2).transpose(0, 1).slice(0, 0, 1)).to_vector() ==
          std::vector<float>{0, 6, 1, 7, 2, 8});
    const Tensor v = Tensor::from_vector({-1.f, 0.5f, 2.f}, {3});
    CHECK(relu(v).to_vector() == std::vector<float>{0.f, 0.5f, 2.f});
    check_close(sigmoid(v).to_vector(), {1 / (1 + std::exp(1.f)), 1 / (1 + std::exp(-0.5f)), 1 / (1 + std::exp(-2.f))});
    check_close(tanh(v).to_vector(), {std::tanh(-1.f), std::tanh(0.5f), std::tanh(2.f)});
    check_close(exp(v).to_vector(), {std::exp(-1.f), std::exp(0.5f), std::exp(2.f)});
    check_close(log(exp(v)).to_vector(), v.to_vector());
    check_close(sqrt(square(v)).to_vector(), {1.f, 0.5f, 2.f});
  }

  TEST_CASE("reductions over all elements or one dim, with and without keepdim") {
    const Tensor x = Tensor::from_vector({1.f, 5.f, 3.f, 4.f, 2.f, 6.f}, {2, 3});
    CHECK(sum(x).item() == 21.f);
    CHECK(sum(x).dim() == 0);
    CHECK(mean(x).item() == 3.5f);
    CHECK(max(x).item() == 6.f);
    CHECK(argmax(x).to_int_vector() == std::vector<int32_t>{5});
    CHECK(sum(x, 0).to_vector() == std::vector<float>{5, 7, 9});
    CHECK(sum(x, 1).to_vector() == std::vector<float>{9, 12});
    CHECK(sum(x, -1, true).shape() == Shape{2, 1});
    CHECK(sum(x, 0, true).shape() == Shape{1, 3});
    CHECK(mean(x, 1).to_vector() == std::vector<float>{3, 4});
    CHECK(max(x, 0).to_vector() == std::vector<float>{4, 5, 6});
    CHECK(max(x, 1, true).shape() == Shape{2, 1});
    CHECK(argmax(x, 1).to_int_vector() == std::vector<int32_t>{1, 2});
    CHECK(argmax(x, 0).dtype() == DType::int32);
    CHECK(sum(x.transpose(0, 1), 1).to_vector() == std::vector<float>{5, 7, 9});
    CHECK(sum(Tensor::zeros({0})).item() == 0.f);
    // Long sums stay accurate: a float accumulator running left to right would drift by ~1%. The
    // kernel adds in double (kernels/cpu/reduce.cpp), whose error here is n·2⁻⁵³·Σ ≈ 10⁻¹⁰ relative,
    // and rounds once to float (2⁻²⁴ ≈ 6·10⁻⁸), so the result is float(10⁶ · 0.1f) within an ulp.
    const double exact = 1e6 * double{0.1f};
    CHECK(std::fabs(sum(Tensor::full({1000000}, 0.1f)).item() - exact) <= 0x1p-24 * exact);
  }

  TEST_CASE("reductions give bitwise the same results on 1 and 2 threads") {
    Generator gen(3);
    const Tensor x = Tensor::randn({1000, 2000}, gen);  // enough work for two threads
    const int before = num_threads();
    set_num_threads(1);
    const auto a = sum(x).to_vector(), b = sum(x, 0).to_vector(), c = sum(x, 1).to_vector();
    set_num_threads(2);
    CHECK(sum(x).to_vector() == a);
    CHECK(sum(x, 0).to_vector() == b);
    CHECK(sum(x, 1).to_vector() == c);
    set_num_threads(before);
  }

  TEST_CASE("softmax and log_softmax along a dim") {
    const Tensor x = Tensor::from_vector({1.f, 2.f, 3.f, 1000.f, 1000.f, 1000.f}, {2, 3});
    const auto s = softmax(x, 1).to_vector();
    const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
    check_close(
        s, {float(std::exp(1.0) / z), float(std::exp(2.0) / z), float(std::exp(3.0) / z), 1 / 3.f, 1 / 3.f, 1 / 3.f});
    check_close(log_softmax(x, -1).to_vector(), {float(1 - std::log(z)), float(2 - std::log(z)), float(3 - std::log(z)),
                                                 -std::log(3.f), -std::log(3.f), -std::log(3.f)});
    const auto s0 = softmax(x, 0).to_vector();  // columns: [1, 1000] → [0, 1]
    CHECK(s0[0] == doctest::Approx(0.0));
    CHECK(s0[3] == doctest::Approx(1.0));
  }

  TEST_CASE("matmul matches a naive product for every transpose combination") {
    Generator gen(1);
    const int m = 5, k = 7, n = 3;
    const Tensor a = Tensor::randn({m, k}, gen), b = Tensor::randn({k, n}, gen);
    const auto av = a.to_vector(), bv = b.to_vector();
    check_matmul(matmul(a, b).to_vector(), av, bv, m, k, n);
    const Tensor at = a.transpose(0, 1).contiguous().transpose(0, 1);  // same values, column-major
    const Tensor bt = b.transpose(0, 1).contiguous().transpose(0, 1);
    check_matmul(matmul(at, b).to_vector(), av, bv, m, k, n);
    check_matmul(matmul(a, bt).to_vector(), av, bv, m, k, n);
    check_matmul(matmul(at, bt).to_vector(), av, bv, m, k, n);
    // A stepped slice cannot be described to BLAS and is copied; the result is the same.
    const Tensor wide = Tensor::randn({m, 2 * k}, gen);
    const Tensor stepped = wide.slice(1, 0, 2 * k, 2);
    check_matmul(matmul(stepped, b).to_vector(), stepped.to_vector(), bv, m, k, n);
    CHECK(matmul(Tensor::zeros({2, 0}), Tensor::zeros({0, 3})).to_vector() == std::vector<float>(6, 0.f));
  }

  TEST_CASE("batched matmul, with a 2-D operand shared across the batch") {
    Generator gen(2);
    const Tensor a = Tensor::randn({3, 4, 5}, gen), b = Tensor::randn({3, 5, 2}, gen), w = Tensor::randn({5, 2}, gen);
    const Tensor y = matmul(a, b), yw = matmul(a, w);
    CHECK(y.shape() == Shape{3, 4, 2});
    for (int i = 0; i < 3; ++i) {
      const auto ai = a.slice(0, i, i + 1).reshape({4, 5}).to_vector();
      check_matmul(y.slice(0, i, i + 1).to_vector(), ai, b.slice(0, i, i + 1).to_vector(), 4, 5, 2);
      check_matmul(yw.slice(0, i, i + 1).to_vector(), ai, w.to_vector(), 4, 5, 2);
    }
  }

  TEST_CASE("matmul of transposed views allocates only its output") {
    Generator gen(4);
    const Tensor x = Tensor::randn({64, 784}, gen), w = Tensor::randn({256, 784}, gen),
                 dy = Tensor::randn({64, 256}, gen);
    const auto count = [] { return memory_stats().requests; };
    for (const auto& [a, b] : {std::pair{x, w.transpose(0, 1)}, std::pair{dy, w}, std::pair{x.transpose(0, 1), dy}}) {
      const int64_t before = count();
      const Tensor y = matmul(a, b);
      CHECK(count() - before == 1);
    }
  }

  TEST_CASE("to(DType) converts, and to_int_vector needs int32") {
    const Tensor f = Tensor::from_vector({1.9f, -1.9f}, {2});
    CHECK(f.to(DType::int32).to_int_vector() == std::vector<int32_t>{1, -1});
    CHECK(f.to(DType::int32).to(DType::float32).to_vector() == std::vector<float>{1.f, -1.f});
    CHECK(Tensor::arange(3, {.dtype = DType::int32}).to_vector() == std::vector<float>{0, 1, 2});
    CHECK(error_of([&] { f.to_int_vector(); }) ==
          "to_int_vector: tensor is float32 [2]; convert it with to(DType::int32) first");
  }

  TEST_CASE("slice and arange count with sizes near the int64 limits without overflowing") {
    const Tensor x = Tensor::arange(12).reshape({4, 3});
    // (end − start + step − 1) / step overflowed for a huge step, and stride · step with it.
    const Tensor first = x.slice(0, 0, 4, INT64_MAX);
    CHECK(first.shape() == Shape{1, 3});
    CHECK(first.to_vector() == std::vector<float>{0, 1, 2});
    CHECK(x.slice(1, 1, 3, INT64_MAX - 1).to_vector() == std::vector<float>{1, 4, 7, 10});
    CHECK(x.slice(0, 1, 4, 2).to_vector() == std::vector<float>{3, 4, 5, 9, 10, 11});
    CHECK(error_of([&] {
            x.slice(0, INT64_MIN, 2);
          }).starts_with("slice: range [-9223372036854775808, 2) is out of bounds"));
    // end − start in int64 overflowed into an empty tensor; the count itself is 2^64 − 1.
    CHECK(error_of([] { Tensor::arange(INT64_MIN, INT64_MAX); }) ==
          "arange: [-9223372036854775808, 9223372036854775807) in steps of 1 has 18446744073709551615 elements, more "
          "than a tensor can hold");
    CHECK(error_of([] { Tensor::arange(INT64_MAX, INT64_MIN, -1); }).find("has 18446744073709551615 elements") !=
          std::string::npos);
    CHECK(Tensor::arange(0, 10, INT64_MAX).to_vector() == std::vector<float>{0});
    CHECK(Tensor::arange(0, -10, INT64_MIN).to_vector() == std::vector<float>{0});
    CHECK(Tensor::arange(INT64_MAX - 2, INT64_MAX).numel() == 2);
    CHECK(Tensor::arange(INT64_MIN, INT64_MIN + 3, 1, {.dtype = DType::float32}).numel() == 3);
    CHECK(Tensor::arange(5, -5, -3, {.dtype = DType::int32}).to_int_vector() == std::vector<int32_t>{5, 2, -1, -4});
    CHECK(error_of([] { Tensor::arange(0, int64_t{1} << 40, 1 << 20, {.dtype = DType::int32}); }) ==
          "arange: range [0, 1099511627776) does not fit int32");
    // A count that fits int64 but not memory fails in the allocator, with an Error, not std::bad_alloc.
    CHECK(error_of([] { Tensor::arange(int64_t{1} << 58); }).starts_with("allocate: out of memory"));
  }

  TEST_CASE("in-place updates write through views and broadcast their operand") {
    Tensor x = Tensor::from_vector(iota(6), {2, 3});
    x.add_(Tensor::from_vector({10.f, 20.f, 30.f}, {3}));
    CHECK(x.to_vector() == std::vector<float>{10, 21, 32, 13, 24, 35});
    x.add_(Tensor::ones({2, 1}), -2.f);
    CHECK(x.to_vector() == std::vector<float>{8, 19, 30, 11, 22, 33});
    x.mul_(0.5f);
    CHECK(x.to_vector() == std::vector<float>{4, 9.5f, 15, 5.5f, 11, 16.5f});
    x.slice(1, 1, 3).fill_(-1.f);  // a strided view: the rest of x is untouched
    CHECK(x.to_vector() == std::vector<float>{4, -1, -1, 5.5f, -1, -1});
    x.transpose(0, 1).copy_(Tensor::from_vector(iota(6), {3, 2}));
    CHECK(x.to_vector() == std::vector<float>{0, 2, 4, 1, 3, 5});
    x.copy_(x.transpose(0, 1).reshape({2, 3}));  // source overlapping the destination is read first
    CHECK(x.to_vector() == std::vector<float>{0, 1, 2, 3, 4, 5});
    x.zero_();
    CHECK(x.to_vector() == std::vector<float>(6, 0.f));
    Tensor i = Tensor::zeros({3}, {.dtype = DType::int32});
    i.fill_(7.f);
    CHECK(i.to_int_vector() == std::vector<int32_t>{7, 7, 7});

    Tensor w = Tensor::ones({2}, {.requires_grad = true});
    CHECK(error_of([&] { w.add_(Tensor::ones({2})); }) ==
          "add_: in-place update of a [2] tensor that requires grad while grad mode is on; do it inside a "
          "NoGradGuard (as optimizers do)");
    {
      NoGradGuard no_grad;
      w.add_(Tensor::ones({2}), -0.5f);
    }
    CHECK(w.to_vector() == std::vector<float>{0.5f, 0.5f});
    CHECK(error_of([&] { x.add_(Tensor::ones({4})); }) ==
          "add_: shapes [2, 3] and [4] do not broadcast (dim -1: 3 vs 4)");
    CHECK(error_of([&] {
            x.copy_(Tensor::ones({3, 3}));
          }) == "copy_: shapes [3, 3] and [2, 3] do not broadcast (dim -2: 3 vs 2)");
    CHECK(error_of([&] { x.copy_(Tensor::ones({1, 2, 3})); }) == "copy_: cannot broadcast shape [1, 2, 3] to [2, 3]");
  }

  TEST_CASE("index_select_rows gathers rows into one new tensor") {
    const Tensor x = Tensor::from_vector(iota(8), {4, 2});
    const Tensor idx = Tensor::from_vector({3, 0, 3}, {3});
    const Tensor rows = dispatch::index_select_rows(x, idx, "gather");
    CHECK(rows.shape() == Shape{3, 2});
    CHECK(rows.to_vector() == std::vector<float>{6, 7, 0, 1, 6, 7});
    const Tensor labels = Tensor::from_vector({5, 6, 7, 8}, {4});
    CHECK(dispatch::index_select_rows(labels, idx, "gather").to_int_vector() == std::vector<int32_t>{8, 5, 8});
    CHECK(error_of([&] {
            dispatch::index_select_rows(x, Tensor::from_vector({1, 4}, {2}), "gather");
          }) == "gather: row index 4 at position 1 is out of range [0, 4)");
  }

  TEST_CASE("printing shows values like PyTorch, with shape and dtype") {
    CHECK(repr(Tensor::from_vector({1.5f, -2.f, 3.f, 4.25f}, {2, 2})) ==
          "tensor([[ 1.5000, -2.0000],\n        [ 3.0000,  4.2500]], shape=[2, 2], dtype=float32)");
    CHECK(repr(Tensor::from_vector({1.f, 2.f, 30.f}, {3})) == "tensor([ 1.,  2., 30.], shape=[3], dtype=float32)");
    CHECK(repr(Tensor::arange(3, {.dtype = DType::int32})) == "tensor([0, 1, 2], shape=[3], dtype=int32)");
    CHECK(repr(Tensor::full({}, 0.5f, {.requires_grad = true})) ==
          "tensor(0.5000, shape=[], dtype=float32, requires_grad=true)");
    CHECK(repr(Tensor::from_vector({1e-5f, 1.f}, {2})) == "tensor([1.0000e-05, 1.0000e+00], shape=[2], dtype=float32)");
    CHECK(repr(Tensor::arange(8).reshape({2, 2, 2})) ==
          "tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]], shape=[2, 2, 2], "
          "dtype=float32)");
    const std::string big = repr(Tensor::arange(2000));
    CHECK(big == "tensor([   0.,    1.,    2., ..., 1997., 1998., 1999.], shape=[2000], dtype=float32)");
    CHECK(repr(Tensor()) == "tensor(undefined)");
    CHECK(repr(Tensor::zeros({0, 3})) == "tensor([], shape=[0, 3], dtype=float32)");
  }

  TEST_CASE("the caching allocator reuses freed blocks") {
    if (!caching_enabled()) SKIP_TEST("caching is off in this build (AddressSanitizer or MINIDL_CACHING_ALLOCATOR=0)");
    { Tensor warm = Tensor::empty({123457}); }
    const MemoryStats before = memory_stats();
    { Tensor again = Tensor::empty({123457}); }
    const MemoryStats after = memory_stats();
    CHECK(after.requests - before.requests == 1);
    CHECK(after.cache_hits - before.cache_hits == 1);
    CHECK(after.backend_allocations == before.backend_allocations);
    CHECK(after.bytes_in_use == before.bytes_in_use);
  }

  TEST_CASE("devices parse and print, and a CUDA device that is not there is refused with the reason") {
    CHECK(Device::parse("cpu") == Device::cpu());
    CHECK(Device::parse("cuda:1") == Device::cuda(1));
    CHECK(Device::cuda(1).str() == "cuda:1");
    CHECK(error_of([] { Device::parse("tpu"); }) == "Device: cannot parse 'tpu' (expected cpu, cuda or cuda:N)");
    CHECK(error_of([] { Device::parse("cuda:-1"); }) != "");
    CHECK(cuda::is_available() == (cuda::device_count() > 0));
    CHECK(cuda::is_available() == cuda::unavailable_reason().empty());
    if (!cuda::is_built()) CHECK(!cuda::is_available());
    // One past the last device (cuda:0 on a machine without a GPU) is refused, naming it and why.
    const Device missing = Device::cuda(cuda::device_count());
    const std::string e = error_of([&] { Tensor::zeros({2}, {.device = missing}); });
    CHECK(e.find(missing.str()) != std::string::npos);
    if (!cuda::is_available()) CHECK(e.find(cuda::unavailable_reason()) != std::string::npos);
    MESSAGE("CUDA: built " << cuda::is_built() << ", devices " << cuda::device_count() << " "
                           << cuda::unavailable_reason());
  }

  TEST_CASE("set_data gives every handle of a tensor new data, and to(the same device) is the tensor itself") {
    Tensor p = Tensor::zeros({2, 3});
    p.set_requires_grad(true);
    const Tensor held = p;  // as a layer and an optimizer hold the same parameter
    p.set_grad(Tensor::ones({2, 3}));
    p.set_data(Tensor::arange(6).reshape({2, 3}).to(DType::float32));
    CHECK(held.to_vector() == std::vector<float>{0, 1, 2, 3, 4, 5});
    CHECK(held.requires_grad());
    CHECK(!held.grad().defined());
    CHECK(p.to(Device::cpu()).shares_storage(p));
    CHECK(error_of([&] {
            p.set_data(Tensor::zeros({3, 2}));
          }) == "set_data: new data float32 [3, 2] does not match tensor float32 [2, 3]");
    CHECK(error_of([&] { (p * 2.f).set_data(Tensor::zeros({2, 3})); }).starts_with("set_data: only a leaf tensor"));
  }

  TEST_CASE("misuse raises minidl::Error naming the op and the shapes") {
    const Tensor a = Tensor::zeros({64, 784}), w = Tensor::zeros({256, 784});
    CHECK(error_of([&] { matmul(a, w); }) == "matmul: shapes [64, 784] and [256, 784] are not aligned (784 != 256)");
    CHECK(error_of([] { matmul(Tensor::zeros({}), Tensor::zeros({3})); }) ==
          "matmul: expected tensors of at least 1 dim, got shapes [] and [3]");
    // Vectors are as torch.matmul takes them: [3]·[3] is their dot product.
    CHECK(matmul(Tensor::from_vector({1.f, 2.f, 3.f}, {3}), Tensor::from_vector({4.f, 5.f, 6.f}, {3})).item() == 32.f);
    CHECK(error_of([] {
            Tensor::zeros({2, 3}) + Tensor::zeros({4});
          }) == "add: shapes [2, 3] and [4] do not broadcast (dim -1: 3 vs 4)");
    CHECK(error_of([] {
            Tensor::zeros({2, 3}) * Tensor::zeros({3, 3});
          }) == "mul: shapes [2, 3] and [3, 3] do not broadcast (dim -2: 2 vs 3)");
    CHECK(error_of([] {
            Tensor::zeros({2, 3}).reshape({4, 2});
          }) == "reshape: cannot reshape [2, 3] (6 elements) into [4, 2] (8 elements)");
    CHECK(error_of([] {
            Tensor::zeros({2, 3}).reshape({-1, 4});
          }) == "reshape: cannot reshape [2, 3] (6 elements) into [-1, 4]");
    CHECK(error_of([] {
            Tensor::zeros({3, 4}).transpose(0, 2);
          }) == "transpose: dim 2 is out of range for shape [3, 4] (expected -2..1)");
    CHECK(error_of([] {
            Tensor::zeros({5, 3}).slice(0, 2, 7);
          }) == "slice: range [2, 7) is out of bounds for dim 0 of size 5 in shape [5, 3]");
    CHECK(error_of([] {
            Tensor::zeros({5, 3}).slice(2, 0, 1);
          }) == "slice: dim 2 is out of range for shape [5, 3] (expected -2..1)");
    CHECK(error_of([] { relu(Tensor::arange(3, {.dtype = DType::int32})); }) ==
          "relu: expected a float32 tensor, got int32 [3]");
    CHECK(error_of([] { Tensor::zeros({2}) + Tensor::arange(2, {.dtype = DType::int32}); }) ==
          "add: expected a float32 tensor, got int32 [2]");
    CHECK(error_of([] {
            Tensor::from_vector({1.f, 2.f, 3.f}, {2, 2});
          }) == "from_vector: 3 values do not fill shape [2, 2] (4 elements)");
    CHECK(error_of([] { Tensor::from_vector(std::vector<int32_t>{1}, {3}); }) ==
          "from_vector: 1 values do not fill shape [3] (3 elements)");
    CHECK(error_of([] { Tensor::zeros({-1, 2}); }) == "full: negative dimension -1 in shape [-1, 2]");
    CHECK(error_of([] {
            Tensor::zeros({2, 3}).view({3, 2}).transpose(0, 1).view({6});
          }) == "view: cannot view shape [2, 3] with strides [1, 2] as [6] without copying; use reshape()");
    CHECK(error_of([] {
            Tensor::zeros({2, 3}).permute({0, 0});
          }) == "permute: dim 0 appears twice; dims must be a permutation of 0..1");
    CHECK(error_of([] {
            Tensor::zeros({2, 3}).squeeze(0);
          }) == "squeeze: dim 0 has size 2 in shape [2, 3]; only size-1 dims can be squeezed");
    CHECK(error_of([] {
            sum(Tensor::zeros({2, 3}), 3);
          }) == "sum: dim 3 is out of range for shape [2, 3] (expected -2..1)");
    CHECK(error_of([] { max(Tensor::zeros({2, 0}), 1); }) == "max: cannot reduce over dim 1 of size 0 in shape [2, 0]");
    CHECK(error_of([] { Tensor::zeros({2}).item(); }) == "item: expected a tensor with one element, got shape [2]");
    CHECK(error_of([] { Tensor().shape(); }).find("undefined") != std::string::npos);
    CHECK(error_of([] { relu(Tensor()); }) ==
          "relu: got an undefined tensor (default-constructed, or a grad() never computed)");
    CHECK(error_of([] { Tensor::arange(3, {.dtype = DType::int32}).set_requires_grad(); }) ==
          "set_requires_grad: only float32 tensors can require grad, got int32 [3]");
    CHECK(error_of([] { Tensor::arange(0, 5, 0); }) == "arange: step must be non-zero");
    CHECK(error_of([] {
            Tensor::zeros({1LL << 31, 1LL << 31});
          }) == "Tensor: shape [2147483648, 2147483648] needs more than 2^63 bytes");
    CHECK(error_of([] { Tensor::zeros({1LL << 40, 1LL << 20}); }).find("out of memory") != std::string::npos);
    CHECK(error_of([] { Tensor::zeros({2}).data<int32_t>(); }) == "Tensor::data: tensor is float32, asked for int32");
    CHECK(error_of([] { set_num_threads(0); }) == "set_num_threads: need at least 1 thread, got 0");
  }
}
