// data::TextDataset: a text file as a character-level (byte-level) language-modelling corpus, as
// the reference (../shared/bench/pytorch_char_gpt.py) prepares it: the vocabulary is the sorted set
// of byte values present, token i is byte vocabulary[i]; the first 90% of the tokens train, the
// last 10% validate; a batch is B random windows of block + 1 tokens (inputs x, next-token targets y).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <minidl/core/generator.h>
#include <minidl/core/tensor.h>

namespace minidl::data {

/// The two parts of a corpus: the first 90% and the last 10%.
enum class TextSplit { train, val };

class TextDataset {
 public:
  /// Reads regular file `path` (data/file_bytes.h: a missing, directory, FIFO or device path is
  /// refused naming it); an empty file is refused too. The split is at ⌊0.9·n⌋ tokens (Python's
  /// int(0.9 * n)).
  explicit TextDataset(const std::string& path);
  /// The same from bytes in memory; `name` names them in errors.
  TextDataset(std::span<const uint8_t> bytes, const std::string& name);

  /// The sorted bytes present: token i is byte vocabulary()[i].
  const std::vector<uint8_t>& vocabulary() const { return vocab_; }
  int64_t vocab_size() const { return static_cast<int64_t>(vocab_.size()); }
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }  // tokens (= bytes) in all
  int64_t split_size(TextSplit split) const;
  const std::string& name() const { return name_; }

  /// Refuses a block that a split cannot hold one window (block + 1 tokens) of, naming the sizes.
  void check_block(int64_t block) const;
  /// x, y: int32 [batch, block], y[b, t] = x[b, t + 1] for t < block − 1 (the next token), from
  /// `batch` windows of `split` whose starts are drawn from gen.below(split_size − block) in
  /// order: every window fits (the reference's torch.randint(len − block − 1) leaves out the last
  /// start). check_block(block) must hold.
  std::pair<Tensor, Tensor> batch(TextSplit split, int64_t batch, int64_t block, Generator& gen) const;

  /// The first `length` token ids of `split` (fewer when it is shorter): a fixed window, e.g. the
  /// one a report draws attention maps of.
  std::vector<int32_t> head(TextSplit split, int64_t length) const;
  /// Token ids of `text` (bytes); a byte outside the vocabulary throws, naming it and its position.
  std::vector<int32_t> encode(std::string_view text) const;
  /// The bytes of `tokens`; an id outside [0, vocab_size) throws.
  std::string decode(std::span<const int32_t> tokens) const;

 private:
  std::string name_;
  std::vector<uint8_t> vocab_;
  std::vector<uint8_t> tokens_;  // token ids (the vocabulary has at most 256 entries)
  int64_t train_size_ = 0;
};

/// encode/decode for a vocabulary on its own (a checkpoint's): the same rules and errors.
std::vector<int32_t> encode_bytes(std::string_view text, std::span<const uint8_t> vocabulary);
std::string decode_tokens(std::span<const int32_t> tokens, std::span<const uint8_t> vocabulary);
/// "0x0a ('\n')", "0x41 ('A')", "0xc3": how errors name a byte.
std::string describe_byte(uint8_t byte);

}  // namespace minidl::data
