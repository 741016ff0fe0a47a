// dist: data parallelism over MPI. CTest runs this program under `mpirun -np 2` and `-np 3`: every
// rank runs every case, and the cases compare what the ranks computed with one another and with a
// single-process run each rank also computes. Run alone (no launcher, or a build without MPI), the
// cases that need several ranks skip, saying so.
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>

#include "minidl/minidl.h"
#include "distributed/agreement.h"
#include "testing.h"

using namespace minidl;

namespace {

// One world for the whole run, joined when the cases start (not when doctest only lists them).
struct JoinWorld : testing::RunListener {
  using RunListener::RunListener;
  void test_run_start() override {
    if (distributed::is_built() && distributed::launched_world_size() > 1) distributed::init();
  }
  void test_run_end(const doctest::TestRunStats&) override { distributed::finalize(); }
};
REGISTER_LISTENER("join-world", 0, JoinWorld);

// Why a case that needs several ranks cannot run here, or "" when it can.
std::string why_not_distributed() {
  if (!distributed::is_built()) return distributed::unavailable_reason();
  if (distributed::world_size() < 2) return "one process: run under mpirun -np 2 or more (CTest does)";
  return "";
}

// An easy 10-class problem in MNIST's layout: class k lights rows 2k+3 and 2k+4, plus noise.
data::ImageDataset synthetic(int64_t n, uint32_t seed) {
  std::vector<uint8_t> pixels(static_cast<size_t>(n * 784));
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    labels[static_cast<size_t>(i)] = static_cast<int32_t>(i % 10);
    for (int p = 0; p < 784; ++p) {
      seed = seed * 1664525u + 1013904223u;
      const int row = p / 28, k = static_cast<int>(i % 10);
      pixels[static_cast<size_t>(i * 784 + p)] =
          static_cast<uint8_t>((row == 2 * k + 3 || row == 2 * k + 4 ? 160 : 0) + (seed >> 26));
    }
  }
  data::IdxArray images;
  images.dims = {n, 28, 28};
  images.file = data::Bytes(std::move(pixels));
  images.data = images.file.span();
  return data::ImageDataset(std::move(images), std::move(labels), data::MNIST::info);
}

std::shared_ptr<nn::Sequential> make_model(const std::string& spec, uint64_t seed) {
  Generator init(seed);
  return nn::build_model(spec, {1, 28, 28}, init);
}

// max |a − b| / max |a| over a tensor.
double relative_difference(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.to_vector(), y = b.to_vector();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(x[i] - y[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(x[i])));
  }
  return diff / std::max(scale, 1e-30);
}

// Rank 0's copy of every parameter equals this rank's, bit for bit.
bool replicas_identical(const nn::Module& model) {
  int32_t differs = 0;
  for (const Tensor& p : model.parameters()) {
    Tensor mine = p.contiguous().clone();
    Tensor root = mine.clone();
    distributed::broadcast(root, 0);
    const std::vector<float> a = mine.to_vector(), b = root.to_vector();
    differs += std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) != 0;
  }
  distributed::all_reduce(std::span<int32_t>(&differs, 1), distributed::ReduceOp::sum);
  return differs == 0;
}

// `steps` steps of one process on whole batches and of this world on its shares, from the same
// seed: the largest relative difference over the parameters.
double data_parallel_vs_one_process(const std::string& spec, int64_t batch, int64_t steps, int64_t bucket_bytes) {
  const data::ImageDataset train = synthetic(200, 11);
  const Shape image{-1, 1, 28, 28};
  auto single = make_model(spec, 5), replica = make_model(spec, 5);
  optim::Nesterov single_opt(single->parameters(), {.lr = 0.05f, .momentum = 0.9f});
  optim::Nesterov replica_opt(replica->parameters(), {.lr = 0.05f, .momentum = 0.9f});
  distributed::DataParallel parallel(*replica, {.bucket_bytes = bucket_bytes});
  data::DataLoader whole(train, {.batch_size = batch, .shuffle = true, .seed = 6});
  data::DataLoader part(train,
                        {.batch_size = batch, .shuffle = true, .seed = 6, .shard = {distributed::rank(), distributed::world_size()}});
  int64_t done = 0;
  while (done < steps) {
    whole.begin();
    part.begin();
    for (int64_t i = 0; i < whole.num_batches() && done < steps; ++i, ++done) {
      const data::Batch all = whole.batch(i), mine = part.batch(i);
      const double loss = nn::train_step(*single, single_opt, all.inputs.view(image), all.targets);
      const double shared =
          nn::train_step(*replica, replica_opt, mine.inputs.view(image), mine.targets, {.sync = &parallel});
      CHECK(shared == doctest::Approx(loss).epsilon(1e-5));  // the global batch's loss, on every rank
      CHECK(parallel.global_examples() == all.targets.numel());
    }
  }
  double worst = 0;
  const auto a = single->parameters(), b = replica->parameters();
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, relative_difference(a[i], b[i]));
  CHECK(replicas_identical(*replica));
  return worst;
}

}  // namespace

TEST_SUITE("dist") {
  TEST_CASE("a world of one without a launcher: rank 0 of 1, and collectives return their input") {
    if (distributed::launched_world_size() > 1) SKIP_TEST("started by a launcher: the other cases cover the world");
    CHECK(distributed::rank() == 0);
    CHECK(distributed::world_size() == 1);
    std::vector<float> x = {1.5f, -2.f};
    distributed::all_reduce(std::span<float>(x), distributed::ReduceOp::average);
    CHECK(x == std::vector<float>{1.5f, -2.f});
    std::vector<int32_t> n = {3};
    CHECK(error_of([&] { distributed::all_reduce(std::span<int32_t>(n), distributed::ReduceOp::average); }) ==
          "all_reduce: average needs float32 or float64 data, got int32");
    if (!distributed::is_built())
      CHECK(error_of([] { distributed::init(); })
                .starts_with("distributed::init: cannot join a world of several processes: this "
                             "minidl was built without MPI ("));
  }

  TEST_CASE("buckets take parameters from last to first and close at the size asked for") {
    const std::vector<int64_t> numels = {100, 10, 300, 30};  // 400, 40, 1200, 120 bytes
    CHECK(distributed::plan_buckets(numels, 150) == std::vector<std::vector<size_t>>{{3, 2}, {1, 0}});
    CHECK(distributed::plan_buckets(numels, 1 << 20) == std::vector<std::vector<size_t>>{{3, 2, 1, 0}});
    CHECK(distributed::plan_buckets(numels, 1) == std::vector<std::vector<size_t>>{{3}, {2}, {1}, {0}});
    CHECK(error_of([&] { distributed::plan_buckets(numels, 0); }) == "plan_buckets: bucket_bytes must be > 0, got 0");
  }
}

// Every case here needs several ranks: run alone (CTest's ranked entries in a build without MPI) each
// one skips, saying why, and the run exits 77, which CTest shows as Skipped.
TEST_SUITE("dist across ranks") {
  TEST_CASE("all_reduce sums and averages float32, float64 and int32 in place, broadcast and barrier") {
    if (const std::string why = why_not_distributed(); !why.empty()) SKIP_TEST(why);
    const int r = distributed::rank(), n = distributed::world_size();
    std::vector<float> f = {static_cast<float>(r + 1), 0.5f};
    distributed::all_reduce(std::span<float>(f), distributed::ReduceOp::sum);
    CHECK(f[0] == static_cast<float>(n * (n + 1) / 2));
    CHECK(f[1] == 0.5f * static_cast<float>(n));
    std::vector<double> d = {static_cast<double>(r)};
    distributed::all_reduce(std::span<double>(d), distributed::ReduceOp::average);
    CHECK(d[0] == doctest::Approx((n - 1) / 2.0));
    std::vector<int32_t> i = {r, 1, -r};
    distributed::all_reduce(std::span<int32_t>(i), distributed::ReduceOp::sum);
    CHECK(i == std::vector<int32_t>{n * (n - 1) / 2, n, -n * (n - 1) / 2});
    std::vector<int32_t> m = {r};
    distributed::all_reduce(std::span<int32_t>(m), distributed::ReduceOp::max);
    CHECK(m[0] == n - 1);
    Tensor t = Tensor::full({2, 3}, static_cast<float>(r));
    distributed::all_reduce(t, distributed::ReduceOp::average);
    CHECK(t.to_vector() == std::vector<float>(6, static_cast<float>(n - 1) / 2));
    Tensor k = Tensor::full({4}, static_cast<float>(r + 1)).to(DType::int32);
    distributed::all_reduce(k, distributed::ReduceOp::sum);
    CHECK(k.to_int_vector() == std::vector<int32_t>(4, n * (n + 1) / 2));
    Tensor b = Tensor::full({5}, static_cast<float>(r * 10));
    distributed::broadcast(b, n - 1);
    CHECK(b.to_vector() == std::vector<float>(5, static_cast<float>((n - 1) * 10)));
    CHECK(error_of([&] { distributed::broadcast(b, n); }) ==
          str_cat("broadcast: root ", n, " is not a rank of this world of ", n));
    CHECK(error_of([&] {
            distributed::all_reduce(b.slice(0, 0, 5, 2), distributed::ReduceOp::sum);
          }).starts_with("all_reduce: needs a contiguous tensor, got shape [3]"));
    distributed::barrier();
    distributed::Request request = distributed::all_reduce_async(std::span<float>(f), distributed::ReduceOp::sum, "test sum");
    request.wait("test sum");
    CHECK(f[0] == static_cast<float>(n * n * (n + 1) / 2));
  }

  TEST_CASE("ranks that disagree stop together: the first differing field and each rank's value, or the drift") {
    if (const std::string why = why_not_distributed(); !why.empty()) SKIP_TEST(why);
    const int r = distributed::rank(), n = distributed::world_size();
    distributed::check_ranks_agree({{"model", "mlp"}, {"lr", "0.1"}});  // the same everywhere: nothing
    std::string values;
    for (int k = 0; k < n; ++k) values += str_cat(k ? ", " : ": ", "rank ", k, " has '", k == n - 1 ? "5" : "0.1", "'");
    // Every rank gets the same message, naming the first field that differs (not the later one).
    CHECK(error_of([&] {
            distributed::check_ranks_agree({{"model", "mlp"}, {"lr", r == n - 1 ? "5" : "0.1"}, {"seed", str_cat(r)}});
          }) == "the ranks must run the same training, and they disagree on lr" + values +
                    " (start every rank with the same flags and data)");
    distributed::check_replicas_agree(42, "by step 7");
    CHECK(error_of([&] { distributed::check_replicas_agree(r == 1 ? 43 : 42, "by step 7 (checked after epoch 1)"); }) ==
          "the replicas drifted apart by step 7 (checked after epoch 1): the parameters of rank 1 differ from rank "
          "0's (a rank trained on other data or settings, or its memory was corrupted)");
    Tensor w = Tensor::full({3}, 1.f);
    CHECK(distributed::parameters_hash({w}) == distributed::parameters_hash({w.clone()}));
    CHECK(distributed::parameters_hash({w}) != distributed::parameters_hash({Tensor::full({3}, 1.0000001f)}));
  }

  TEST_CASE("100 steps on N ranks equal one process on the same global batches to 1e-5, MLP and CNN") {
    if (const std::string why = why_not_distributed(); !why.empty()) SKIP_TEST(why);
    set_num_threads(1);  // one core per rank: several ranks share this machine
    // Batch 16 over 2 ranks is 8 + 8; over 3 ranks 6 + 5 + 5, and the epoch's last batch of 8 is
    // 3 + 3 + 2: unequal shares, weighted by their sizes.
    const double mlp = data_parallel_vs_one_process("flatten linear(32) relu linear(10)", 16, 100, 1 << 20);
    CAPTURE(mlp);
    CHECK(mlp < 1e-5);
    // Small buckets: every layer's gradients travel on their own, in several all-reduces per step.
    const double cnn =
        data_parallel_vs_one_process("conv(4,3,padding=1) relu maxpool(2) flatten linear(10)", 16, 100, 256);
    CAPTURE(cnn);
    CHECK(cnn < 1e-5);
  }

  TEST_CASE("buckets start in the same order on every rank, from inside backward()") {
    if (const std::string why = why_not_distributed(); !why.empty()) SKIP_TEST(why);
    const data::ImageDataset train = synthetic(64, 3);
    auto model = make_model("flatten linear(16) relu linear(12) relu linear(10)", 1);
    optim::SGD opt(model->parameters(), {.lr = 0.1f});
    distributed::DataParallel parallel(*model, {.bucket_bytes = 40});  // each parameter alone (a bias is 40 bytes or more)
    REQUIRE(parallel.buckets().size() == 6);
    data::DataLoader loader(train, {.batch_size = 32, .shard = {distributed::rank(), distributed::world_size()}});
    for (const data::Batch& b : loader) {
      nn::train_step(*model, opt, b.inputs, b.targets, {.sync = &parallel});
      std::vector<int32_t> order;
      for (const distributed::BucketLaunch& launch : parallel.last_launches()) {
        order.push_back(launch.bucket);
        CHECK(launch.during_backward);  // every parameter had a gradient: none waited for finish_step
      }
      std::vector<int32_t> expected(parallel.buckets().size());
      std::iota(expected.begin(), expected.end(), 0);
      CHECK(order == expected);
      std::vector<int32_t> root = order;
      distributed::broadcast(std::span<int32_t>(root), 0);
      CHECK(order == root);
    }
  }

  TEST_CASE("a rank whose share of a batch is empty still takes part, and the step is the whole batch's") {
    if (const std::string why = why_not_distributed(); !why.empty()) SKIP_TEST(why);
    const data::ImageDataset train = synthetic(20, 4);
    const int64_t batch = distributed::world_size() - 1;  // the last rank's share is empty
    auto single = make_model("flatten linear(10)", 2), replica = make_model("flatten linear(10)", 2);
    optim::SGD single_opt(single->parameters(), {.lr = 0.5f});
    optim::SGD replica_opt(replica->parameters(), {.lr = 0.5f});
    distributed::DataParallel parallel(*replica);
    data::DataLoader whole(train, {.batch_size = batch}),
        part(train, {.batch_size = batch, .shard = {distributed::rank(), distributed::world_size()}});
    for (int64_t i = 0; i < 3; ++i) {
      const data::Batch all = whole.batch(i), mine = part.batch(i);
      CHECK(mine.targets.numel() == (distributed::rank() == distributed::world_size() - 1 ? 0 : 1));
      nn::train_step(*single, single_opt, all.inputs, all.targets);
      nn::train_step(*replica, replica_opt, mine.inputs, mine.targets, {.sync = &parallel});
      CHECK(parallel.global_examples() == batch);
    }
    for (size_t i = 0; i < single->parameters().size(); ++i)
      CHECK(relative_difference(single->parameters()[i], replica->parameters()[i]) < 1e-6);
  }

  TEST_CASE("a loss that is not finite on one rank stops every rank at the same step, with the weights unchanged") {
    if (const std::string why = why_not_distributed(); !why.empty()) SKIP_TEST(why);
    auto model = make_model("flatten linear(10)", 3);
    optim::SGD opt(model->parameters(), {.lr = 0.1f});
    distributed::DataParallel parallel(*model);
    const Tensor before = model->parameters()[0].clone();
    Tensor inputs = Tensor::zeros({4, 784});
    if (distributed::rank() == 1) inputs = Tensor::full({4, 784}, NAN);
    const Tensor targets = Tensor::zeros({4}, {.dtype = DType::int32});
    const std::string error = error_of([&] { nn::train_step(*model, opt, inputs, targets, {.sync = &parallel}); });
    CHECK(error == "the loss is nan");
    CHECK(model->parameters()[0].to_vector() == before.to_vector());
  }

  TEST_CASE("a stop flag raised on one rank is agreed by every rank at the next step") {
    if (const std::string why = why_not_distributed(); !why.empty()) SKIP_TEST(why);
    volatile std::sig_atomic_t flag = 0;
    auto model = make_model("flatten linear(10)", 3);
    optim::SGD opt(model->parameters(), {.lr = 0.1f});
    distributed::DataParallel parallel(*model, {.stop_flag = &flag});
    const Tensor inputs = Tensor::zeros({2, 784}), targets = Tensor::zeros({2}, {.dtype = DType::int32});
    nn::train_step(*model, opt, inputs, targets, {.sync = &parallel});
    CHECK(parallel.agreed_stop() == 0);
    if (distributed::rank() == distributed::world_size() - 1) flag = SIGTERM;
    nn::train_step(*model, opt, inputs, targets, {.sync = &parallel});
    CHECK(parallel.agreed_stop() == SIGTERM);
  }

  TEST_CASE("evaluation shared among the ranks equals one process's") {
    if (const std::string why = why_not_distributed(); !why.empty()) SKIP_TEST(why);
    const data::ImageDataset test = synthetic(103, 9);
    auto model = make_model("flatten linear(16) relu linear(10)", 7);
    data::DataLoader whole(test, {.batch_size = 25}),
        part(test, {.batch_size = 25, .shard = {distributed::rank(), distributed::world_size()}});
    const nn::Evaluation one = nn::evaluate(*model, whole), shared = distributed::evaluate(*model, part);
    CHECK(shared.total == 103);
    CHECK(shared.correct == one.correct);
    CHECK(shared.accuracy == one.accuracy);
    CHECK(shared.loss == doctest::Approx(one.loss).epsilon(1e-6));
    CHECK(shared.confusion == one.confusion);
  }

  TEST_CASE("the watchdog names a rank that does not come to a collective, and the world goes on once it does") {
    if (const std::string why = why_not_distributed(); !why.empty()) SKIP_TEST(why);
    const double saved = distributed::timeout();
    distributed::set_timeout(1);
    const int late = distributed::world_size() - 1;
    // No race with the clock: the late rank comes only once every other rank has given up, which each
    // says by a file (outside MPI, which the late rank must not enter early), named after rank 0's pid.
    Tensor job = Tensor::full({1}, static_cast<float>(::getpid() % (1 << 24)));
    distributed::broadcast(job, 0);
    const auto gave_up = [&](int rank) {
      return std::filesystem::temp_directory_path() /
             str_cat("minidl-watchdog-", static_cast<int64_t>(job.item()), "-rank-", rank, "-gave-up");
    };
    std::string error;
    const auto start = std::chrono::steady_clock::now();
    if (distributed::rank() == late) {
      for (int rank = 0; rank < late; ++rank)  // hung, as far as the others can tell (at most 10 minutes)
        for (int wait = 0; wait < 60000 && !std::filesystem::exists(gave_up(rank)); ++wait)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
      for (int rank = 0; rank < late; ++rank) std::filesystem::remove(gave_up(rank));
      distributed::barrier();  // matches the barrier the others gave up on
    } else {
      error = error_of([] { distributed::barrier(); });
      std::ofstream(gave_up(distributed::rank())) << error;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    distributed::set_timeout(saved);
    if (distributed::rank() != late) {
      CAPTURE(error);
      CHECK(error.starts_with(str_cat("rank ", distributed::rank(), ": no progress for 1 s in barrier (collective #")));
      CHECK(error.find(str_cat("; rank ", late,
                               " did not answer within 0.5 s (dead or hung; the watchdog's "
                               "timeout is 1 s, MINIDL_DIST_TIMEOUT)")) != std::string::npos);
      if (distributed::world_size() > 2) CHECK(error.find(" waiting here too") != std::string::npos);
      // The timeout and the grace (1.5 s), with room for a machine 10 times slower: the error itself
      // (not a completed barrier) shows that the rank did not wait for the late one.
      CHECK(seconds < 15);
    }
    // Every rank started the same collectives (the given-up barrier completed when the late rank
    // came), so the world still works.
    std::vector<int32_t> one = {1};
    distributed::all_reduce(std::span<int32_t>(one), distributed::ReduceOp::sum);
    CHECK(one[0] == distributed::world_size());
  }
}
