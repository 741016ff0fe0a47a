// minidl sample, run as a process: streaming text from a GPT checkpoint, and every bad input refused
// with one line, exit 2 and nothing on stdout. The checkpoints are tiny random GPTs written with
// nn::save_gpt (what a trainer's checkpoint carries too), so the tests need no training run.
#include "cli_testing.h"

namespace {

struct GptCheckpoint {
  std::filesystem::path dir;
  std::string path;
  GptCheckpoint() : dir(std::filesystem::temp_directory_path() / ("minidl-sample-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir);
    path = (dir / "gpt.safetensors").string();
    minidl::Generator gen(4);
    minidl::nn::GPT gpt({.vocab = 6, .block = 8, .layers = 1, .heads = 2, .embd = 8}, gen);
    minidl::nn::save_gpt(path, gpt, {'\n', ' ', 'a', 'b', 'c', 'd'});
  }
  ~GptCheckpoint() { std::filesystem::remove_all(dir); }
};

// stdout only (stderr to /dev/null): what a pipe receives.
Run stdout_of(const std::string& args) {
  return run_shell("OMP_WAIT_POLICY=passive " + std::string(MINIDL_BIN) + " sample " + args + " 2>/dev/null");
}

}  // namespace

TEST_SUITE("sample") {
  TEST_CASE("sample writes the prompt and --tokens bytes of the vocabulary, the same for the same seed") {
    GptCheckpoint ck;
    const std::string args = "--checkpoint " + ck.path + " --prompt 'ab a' --tokens 300 --seed 5";
    const Run a = stdout_of(args), b = stdout_of(args), c = stdout_of(args + "0");
    REQUIRE(a.code == 0);
    CHECK(a.output.size() == 4 + 300);
    CHECK(a.output.starts_with("ab a"));
    CHECK(a.output.find_first_not_of("\n abcd") == std::string::npos);
    CHECK(a.output == b.output);
    CHECK(a.output != c.output);
    // Greedy and top-k 1 agree; 20,000 bytes (the window moves 19,992 times) stream in bounded memory.
    CHECK(stdout_of("--checkpoint " + ck.path + " --prompt a --tokens 50 --temperature 0").output ==
          stdout_of("--checkpoint " + ck.path + " --prompt a --tokens 50 --top-k 1 --seed 9").output);
#if defined(MINIDL_SANITIZED)
    const long memory_kib = 0;  // AddressSanitizer reserves terabytes of address space
#else
    const long memory_kib = 1L << 20;  // 1 GiB of address space
#endif
    const Run longer =
        run_minidl("sample --checkpoint " + ck.path + " --prompt a --tokens 20000 > /dev/null", 300, memory_kib);
    CHECK(longer.code == 0);
  }

  TEST_CASE("sample says what it does with an empty prompt and one longer than the block") {
    GptCheckpoint ck;
    const Run empty = run_minidl("sample --checkpoint " + ck.path + " --tokens 5");
    CHECK(empty.code == 0);
    CHECK(empty.output.find("empty prompt: starting from a newline") != std::string::npos);
    const Run cropped = run_minidl("sample --checkpoint " + ck.path + " --prompt 'abcdabcdabcd' --tokens 5");
    CHECK(cropped.code == 0);
    CHECK(cropped.output.find("the prompt has 12 bytes, more than the block of 8: using its last 8") !=
          std::string::npos);
  }

  TEST_CASE("sample refuses bad flags, prompts and checkpoints with one line, exit 2 and nothing on stdout") {
    GptCheckpoint ck;
    TinyMnist tiny;
    const std::string mnist = tiny / "mlp.safetensors";
    REQUIRE(run_minidl("train " + tiny.data() + " --epochs 1 --hidden 8 --quiet --save " + mnist).code == 0);
    const std::string c = "--checkpoint " + ck.path;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {c + " --prompt 'abx'", "--prompt: byte 0x78 ('x') at position 2 is not in the vocabulary (6 bytes)"},
        {c + " --temperature -1", "--temperature must be >= 0 (0: greedy), got -1"},
        {c + " --top-k 0", "--top-k must be >= 1"},
        {c + " --top-k 7", "--top-k 7 is more than the vocabulary of 6 bytes"},
        {c + " --tokens -3", "--tokens must be >= 0, got -3"},
        {"--checkpoint " + mnist, mnist + ": not a GPT checkpoint"},
        {"--checkpoint " + tiny / "missing.safetensors", "missing.safetensors"},
    };
    for (const auto& [args, message] : cases) {
      INFO(args);
      const Run r = run_shell(std::string(MINIDL_BIN) + " sample " + args + " 2>&1 >/dev/null");  // stderr only
      CHECK(r.code == 2);
      CHECK(lines(r.output) == 1);
      CHECK(r.output.find(message) != std::string::npos);
      CHECK(stdout_of(args).output.empty());
    }
  }
}
