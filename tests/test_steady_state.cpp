// steady state: after warm-up, a whole training step (of an MLP, and of CNNs) — batch gather, forward, cross-entropy,
// zero_grad, backward, optimizer step, reading the loss — makes no heap allocation. Every
// operator new in this program is counted (replaced below), and the caching allocator reports
// whether any storage request reached malloc.
//
// Not built under sanitizers: they replace operator new themselves, and the caching allocator and
// object pool are off there by design.
//
// What is counted is minidl's own code, so GEMMs stay in OpenBLAS here (MINIDL_GEMM=openblas, set
// before main): where oneDNN runs them (kernels/cpu/gemm.cpp), its sgemm creates a few objects of
// its own on every call (33 operator news in an MLP step, 20–50 in the CNN steps), which this
// replaced operator new counts too.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include <minidl/minidl.h>

namespace {
std::atomic<bool> counting{false};
std::atomic<int64_t> allocations{0};
}  // namespace

void* operator new(size_t bytes) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(bytes ? bytes : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t bytes) { return operator new(bytes); }
void* operator new(size_t bytes, std::align_val_t align) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  const size_t a = static_cast<size_t>(align);
  if (void* p = std::aligned_alloc(a, (bytes + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }

using namespace minidl;

namespace {

// Before main, so before the first GEMM chooses its library.
const bool gemm_pinned = setenv("MINIDL_GEMM", "openblas", 1) == 0;

// A small MNIST-shaped dataset made in memory: random bytes, labels 0–9.
data::ImageDataset synthetic_mnist(int64_t n) {
  Generator gen(3);
  std::vector<uint8_t> file(static_cast<size_t>(n * 784));
  for (uint8_t& b : file) b = static_cast<uint8_t>(gen.below(256));
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int32_t& l : labels) l = static_cast<int32_t>(gen.below(10));
  data::IdxArray images;
  images.dims = {n, 28, 28};
  images.file = data::Bytes(std::move(file));
  images.data = images.file.span();
  return data::ImageDataset(std::move(images), std::move(labels), data::MNIST::info);
}

struct Counts {
  int64_t heap = 0, storage = 0, steps = 0;
};

// Trains one epoch; counts allocations only after the first `warmup` steps.
Counts train_epoch(nn::Module& model, optim::Optimizer& opt, data::DataLoader& loader, int64_t warmup) {
  Counts c;
  int64_t storage_before = 0;
  for (const data::Batch& batch : loader) {
    if (c.steps == warmup) {
      storage_before = memory_stats().backend_allocations;
      allocations = 0;
      counting = true;
    }
    const Tensor loss = nn::functional::cross_entropy(model(batch.inputs), batch.targets);
    opt.zero_grad();
    loss.backward();
    opt.step();
    volatile float l = loss.item();
    (void)l;
    ++c.steps;
  }
  counting = false;
  c.heap = allocations;
  c.storage = memory_stats().backend_allocations - storage_before;
  return c;
}

// nn::train_step over one epoch to warm up, then over a second one, counting: the step minidl train
// takes, with `options` (guards, clipping, gradient sync).
Counts train_step_epoch(nn::Module& model, optim::Optimizer& opt, data::DataLoader& loader,
                        const nn::StepOptions& options) {
  for (const data::Batch& batch : loader) nn::train_step(model, opt, batch.inputs, batch.targets, options);
  Counts c;
  const int64_t storage_before = memory_stats().backend_allocations;
  allocations = 0;
  counting = true;
  for (const data::Batch& batch : loader) {
    nn::train_step(model, opt, batch.inputs, batch.targets, options);
    ++c.steps;
  }
  counting = false;
  c.heap = allocations;
  c.storage = memory_stats().backend_allocations - storage_before;
  return c;
}

}  // namespace

TEST_SUITE("steady state") {
  TEST_CASE("a training step makes no heap allocation after warm-up") {
    REQUIRE(gemm_pinned);
    CHECK(gemm_library() == "openblas");
    REQUIRE(caching_enabled());
    const data::ImageDataset train = synthetic_mnist(64 * 12);
    data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 1});
    const std::pair<const char*, optim::OptionValues> optimizers[] = {
        {"sgd", {}},      {"momentum", {}},
        {"nesterov", {}}, {"adam", {{"amsgrad", "true"}}},
        {"adamw", {}},    {"rmsprop", {{"momentum", "0.9"}, {"centered", "true"}}},
        {"adagrad", {}}};
    for (const auto& name_options_ : optimizers) {
      const auto& name = std::get<0>(name_options_);
      const auto& options = std::get<1>(name_options_);
      CAPTURE(name);
      Generator gen(0);
      const auto model = nn::mlp(784, {256}, 10, gen);
      const auto opt = optim::make_optimizer(name, model->parameters(), {.lr = 0.001f, .options = options});
      train_epoch(*model, *opt, loader, 12);  // warm-up: the pools fill, momentum buffers appear
      const Counts c = train_epoch(*model, *opt, loader, 1);
      CHECK(c.steps == 12);
      CHECK(c.heap == 0);
      CHECK(c.storage == 0);
    }
  }

  TEST_CASE("a CNN training step (convolutions, pooling, batch norm, dropout) makes no heap allocation after warm-up") {
    REQUIRE(caching_enabled());
    const data::ImageDataset train = synthetic_mnist(64 * 6);
    data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 1});
    // The default CNN, and one with every other new op and option on the step's path.
    for (const std::string& model_spec :
         {nn::named_model_spec("cnn"),
          std::string(
              "conv(8,5,padding=2) batchnorm relu avgpool(2) conv(16,3,stride=2,groups=2) relu maxpool(2,stride=1) "
              "flatten linear(32) batchnorm relu dropout(0.3) linear(10)")}) {
      CAPTURE(model_spec);
      Generator init(0), noise(1);
      const auto flat = nn::build_model(model_spec, {1, 28, 28}, init, &noise);
      struct Images : nn::Module {  // [B, 784] rows as [B, 1, 28, 28] images, as minidl train feeds them
        std::shared_ptr<nn::Module> inner;
        Tensor forward(const Tensor& x) override { return (*inner)(x.view({x.size(0), 1, 28, 28})); }
        std::string type_name() const override { return "Images"; }
      } model;
      model.inner = flat;
      const auto opt = optim::make_optimizer("nesterov", flat->parameters(), {.lr = 0.01f});
      train_epoch(model, *opt, loader, 6);  // warm-up
      const Counts c = train_epoch(model, *opt, loader, 1);
      CHECK(c.steps == 6);
      CHECK(c.heap == 0);
      CHECK(c.storage == 0);
    }
  }

  TEST_CASE("nn::train_step, the step minidl train takes (guards and clipping included), allocates nothing") {
    REQUIRE(caching_enabled());
    const data::ImageDataset train = synthetic_mnist(64 * 12);
    data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 1});
    Generator gen(0);
    const auto model = nn::mlp(784, {256}, 10, gen);
    const auto opt = optim::make_optimizer("nesterov", model->parameters(), {.lr = 0.01f});
    int hooks = 0;
    const nn::StepOptions options{.clip_grad_norm = 5.0, .after_backward = [&hooks] { ++hooks; }};
    const Counts c = train_step_epoch(*model, *opt, loader, options);
    CHECK(c.steps == 12);
    CHECK(hooks == 24);
    CHECK(c.heap == 0);
    CHECK(c.storage == 0);
  }

  TEST_CASE("a data-parallel step (grad-ready hook, buckets packed and unpacked, a world of one) allocates nothing") {
    REQUIRE(caching_enabled());
    REQUIRE(distributed::world_size() == 1);  // this suite never starts MPI
    const data::ImageDataset train = synthetic_mnist(64 * 12);
    data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 1, .shard = {0, 1}});
    Generator gen(0);
    const auto model = nn::mlp(784, {256}, 10, gen);
    const auto opt = optim::make_optimizer("nesterov", model->parameters(), {.lr = 0.01f});
    distributed::DataParallel parallel(*model, {.bucket_bytes = 4096});  // several buckets
    REQUIRE(parallel.buckets().size() > 1);
    const nn::StepOptions options{.clip_grad_norm = 5.0, .sync = &parallel};
    const Counts c = train_step_epoch(*model, *opt, loader, options);
    CHECK(c.steps == 12);
    CHECK(parallel.stats().steps == 24);
    CHECK(c.heap == 0);
    CHECK(c.storage == 0);
  }

  TEST_CASE("the counter sees allocations (so zero means zero)") {
    allocations = 0;
    counting = true;
    const Tensor t = Tensor::zeros({3});
    std::vector<float> v = t.to_vector();
    counting = false;
    CHECK(allocations > 0);
  }
}
