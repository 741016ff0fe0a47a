// A GPT in a safetensors checkpoint (nn/gpt.h): its state_dict as tensors, and in the metadata its
// config ("gpt.config") and byte vocabulary ("gpt.vocabulary", hex). A trainer's checkpoint adds
// its own keys and tensors (optimizer state) beside these; gpt_from_checkpoint reads only its own.
#include <map>

#include "nn/gpt.h"

namespace minidl::nn {

namespace {

constexpr const char* kConfigKey = "gpt.config";
constexpr const char* kVocabularyKey = "gpt.vocabulary";

std::string to_hex(const Vocabulary& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

Vocabulary vocabulary_from_hex(const std::string& hex, int64_t size, const std::string& path) {
  check(hex.size() == 2 * static_cast<size_t>(size), path, ": ", kVocabularyKey, " holds ", hex.size() / 2,
        " bytes, the config's vocab is ", size);
  const auto nibble = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    fail(path, ": ", kVocabularyKey, " is not lowercase hex (found '", c, "')");
  };
  Vocabulary out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
    check(out.size() == 1 || out[out.size() - 2] < out.back(), path, ": ", kVocabularyKey,
          " is not sorted bytes, each once");
  }
  return out;
}

}  // namespace

data::Metadata gpt_checkpoint_metadata(const GPT& model, const Vocabulary& vocabulary) {
  check(static_cast<int64_t>(vocabulary.size()) == model.config().vocab, "gpt_checkpoint_metadata: ", vocabulary.size(),
        " vocabulary bytes for a model of vocab ", model.config().vocab);
  return {{kConfigKey, model.config().str()}, {kVocabularyKey, to_hex(vocabulary)}};
}

void save_gpt(const std::string& path, const GPT& model, const Vocabulary& vocabulary, data::Metadata extra) {
  extra.merge(gpt_checkpoint_metadata(model, vocabulary));
  data::save_safetensors(path, model.state_dict(), extra);
}

LoadedGPT gpt_from_checkpoint(const data::SafetensorsFile& file, const std::string& path) {
  const auto config = file.metadata.find(kConfigKey);
  if (config == file.metadata.end()) {
    const auto format = file.metadata.find("format");
    fail(path, ": not a GPT checkpoint (no '", kConfigKey, "' in its metadata",
         format != file.metadata.end() ? str_cat("; it is a '", format->second, "' checkpoint, e.g. an MNIST model's")
                                       : std::string(),
         ")");
  }
  const auto vocab = file.metadata.find(kVocabularyKey);
  check(vocab != file.metadata.end(), path, ": GPT checkpoint without '", kVocabularyKey, "' in its metadata");
  LoadedGPT out;
  const GPTConfig c = GPTConfig::parse(config->second, path);
  out.vocabulary = vocabulary_from_hex(vocab->second, c.vocab, path);
  Generator unused(0);  // the weights come from the file
  out.model = std::make_shared<GPT>(c, unused);
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [name, t] : file.tensors) by_name[name] = &t;
  NamedTensors state;
  for (const auto& [name, t] : out.model->state_dict()) {
    const auto it = by_name.find(name);
    check(it != by_name.end(), path, ": GPT checkpoint lacks tensor '", name, "' (config ", c.str(), ")");
    state.emplace_back(name, *it->second);
  }
  try {
    out.model->load_state_dict(state);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  return out;
}

LoadedGPT load_gpt(const std::string& path) {
  return gpt_from_checkpoint(data::load_safetensors(path, /*require_checksum=*/true), path);
}

}  // namespace minidl::nn
