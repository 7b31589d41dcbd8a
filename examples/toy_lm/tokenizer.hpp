#pragma once
/// Word-level tokenizer: one id per word of a fixed vocabulary, split on spaces.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace toy_lm {

class tokenizer {
 public:
  /// Ids of the special tokens: they are the first four entries of every vocabulary.
  static constexpr int pad = 0;  ///< fills rows past a sequence's length; never predicted
  static constexpr int unk = 1;  ///< any word outside the vocabulary
  static constexpr int bos = 2;  ///< starts every sequence
  static constexpr int eos = 3;  ///< ends every sentence

  tokenizer() = default;

  /// words: the ordinary words (special tokens are added in front).
  explicit tokenizer(const std::vector<std::string>& words) {
    for (const char* s : {"<pad>", "<unk>", "<bos>", "<eos>"}) add(s);
    for (const auto& w : words) add(w);
  }

  /// Rebuilds a tokenizer from words(), e.g. as stored with the weights.
  static tokenizer from_vocabulary(const std::vector<std::string>& all_words) {
    if (all_words.size() < 4 || all_words[0] != "<pad>" || all_words[1] != "<unk>" || all_words[2] != "<bos>" ||
        all_words[3] != "<eos>")
      throw std::runtime_error("toy_lm: vocabulary must start with <pad> <unk> <bos> <eos>");
    tokenizer t;
    for (const auto& w : all_words) t.add(w);
    return t;
  }

  int size() const { return static_cast<int>(words_.size()); }
  const std::vector<std::string>& words() const { return words_; }
  const std::string& word(int id) const { return words_.at(static_cast<std::size_t>(id)); }

  int id(std::string_view w) const {
    auto it = ids_.find(std::string(w));
    return it == ids_.end() ? unk : it->second;
  }

  /// Splits on spaces; no <bos>/<eos> added.
  std::vector<int> encode(std::string_view text) const {
    std::vector<int> out;
    std::size_t i = 0;
    while (i < text.size()) {
      std::size_t j = text.find(' ', i);
      if (j == std::string_view::npos) j = text.size();
      if (j > i) out.push_back(id(text.substr(i, j - i)));
      i = j + 1;
    }
    return out;
  }

  /// <bos> text: the form in which prompts are fed to the model.
  std::vector<int> encode_prompt(std::string_view text) const {
    std::vector<int> out{bos};
    const auto body = encode(text);
    out.insert(out.end(), body.begin(), body.end());
    return out;
  }

  /// <bos> text <eos>: the form of a whole sentence (training, perplexity, activation collection).
  std::vector<int> encode_sentence(std::string_view text) const {
    auto out = encode_prompt(text);
    out.push_back(eos);
    return out;
  }

  /// Words joined by spaces; special tokens are dropped.
  std::string decode(const std::vector<int>& ids) const {
    std::string s;
    for (int id : ids) {
      if (id <= eos) continue;
      if (!s.empty()) s += ' ';
      s += word(id);
    }
    return s;
  }

 private:
  void add(const std::string& w) {
    if (ids_.count(w)) return;
    ids_.emplace(w, static_cast<int>(words_.size()));
    words_.push_back(w);
  }

  std::vector<std::string> words_;
  std::unordered_map<std::string, int> ids_;
};

}  // namespace toy_lm
