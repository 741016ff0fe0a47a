#include "data/text_dataset.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "data/file_bytes.h"

namespace minidl::data {

std::string describe_byte(uint8_t byte) {
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", byte);
  static const std::array<std::pair<uint8_t, const char*>, 4> escapes = {
      {{'\n', "\\n"}, {'\t', "\\t"}, {'\r', "\\r"}, {'\'', "\\'"}}};
  for (const auto& [b, text] : escapes)
    if (b == byte) return str_cat(hex, " ('", text, "')");
  if (byte >= 0x20 && byte < 0x7f) return str_cat(hex, " ('", static_cast<char>(byte), "')");
  return hex;
}

std::vector<int32_t> encode_bytes(std::string_view text, std::span<const uint8_t> vocabulary) {
  std::array<int32_t, 256> index;
  index.fill(-1);
  for (size_t i = 0; i < vocabulary.size(); ++i) index[vocabulary[i]] = static_cast<int32_t>(i);
  std::vector<int32_t> out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const uint8_t b = static_cast<uint8_t>(text[i]);
    check(index[b] >= 0, "byte ", describe_byte(b), " at position ", i, " is not in the vocabulary (",
          vocabulary.size(), " bytes)");
    out.push_back(index[b]);
  }
  return out;
}

std::string decode_tokens(std::span<const int32_t> tokens, std::span<const uint8_t> vocabulary) {
  std::string out;
  out.reserve(tokens.size());
  for (int32_t t : tokens) {
    check(t >= 0 && static_cast<size_t>(t) < vocabulary.size(), "decode: token ", t, " is outside the vocabulary [0, ",
          vocabulary.size(), ")");
    out += static_cast<char>(vocabulary[static_cast<size_t>(t)]);
  }
  return out;
}

TextDataset::TextDataset(const std::string& path) : TextDataset(read_file(path, "TextDataset"), path) {}

TextDataset::TextDataset(std::span<const uint8_t> bytes, const std::string& name) : name_(name) {
  check(!bytes.empty(), "TextDataset: ", name, ": the file is empty");
  std::array<bool, 256> present{};
  for (uint8_t b : bytes) present[b] = true;
  std::array<uint8_t, 256> index{};
  for (int b = 0; b < 256; ++b)
    if (present[static_cast<size_t>(b)]) {
      index[static_cast<size_t>(b)] = static_cast<uint8_t>(vocab_.size());
      vocab_.push_back(static_cast<uint8_t>(b));
    }
  tokens_.reserve(bytes.size());
  for (uint8_t b : bytes) tokens_.push_back(index[b]);
  // int(0.9 * n) in double, as the reference computes it.
  train_size_ = static_cast<int64_t>(0.9 * static_cast<double>(tokens_.size()));
}

int64_t TextDataset::split_size(TextSplit split) const {
  return split == TextSplit::train ? train_size_ : size() - train_size_;
}

std::vector<int32_t> TextDataset::head(TextSplit split, int64_t length) const {
  const int64_t first = split == TextSplit::train ? 0 : train_size_;
  const int64_t n = std::clamp<int64_t>(length, 0, split_size(split));
  return {tokens_.begin() + first, tokens_.begin() + first + n};
}

void TextDataset::check_block(int64_t block) const {
  check(block > 0, "TextDataset: block must be > 0, got ", block);
  for (TextSplit s : {TextSplit::train, TextSplit::val})
    check(split_size(s) >= block + 1, "TextDataset: ", name_, ": the ",
          s == TextSplit::train ? "training" : "validation", " split has ", split_size(s), " bytes (",
          s == TextSplit::train ? "the first 90%" : "the last 10%", " of ", size(),
          "), fewer than block + 1 = ", block + 1, " that one window needs");
}

std::pair<Tensor, Tensor> TextDataset::batch(TextSplit split, int64_t batch, int64_t block, Generator& gen) const {
  check(batch > 0, "TextDataset: batch must be > 0, got ", batch);
  check_block(block);
  const int64_t first = split == TextSplit::train ? 0 : train_size_;
  const uint64_t starts = static_cast<uint64_t>(split_size(split) - block);  // windows of block + 1 that fit
  std::vector<int32_t> x(static_cast<size_t>(batch * block)), y(x.size());
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t start = first + static_cast<int64_t>(gen.below(starts));
    for (int64_t t = 0; t < block; ++t) {
      x[static_cast<size_t>(b * block + t)] = tokens_[static_cast<size_t>(start + t)];
      y[static_cast<size_t>(b * block + t)] = tokens_[static_cast<size_t>(start + t + 1)];
    }
  }
  return {Tensor::from_vector(std::move(x), {batch, block}), Tensor::from_vector(std::move(y), {batch, block})};
}

std::vector<int32_t> TextDataset::encode(std::string_view text) const { return encode_bytes(text, vocab_); }

std::string TextDataset::decode(std::span<const int32_t> tokens) const { return decode_tokens(tokens, vocab_); }

}  // namespace minidl::data
