#pragma once
// A llama-architecture GGUF model with random weights and a small SentencePiece-style vocabulary, written
// from scratch for the llama.cpp tests and the benchmark. It loads and generates in llama.cpp; its text is
// gibberish. Deterministic: the same shape and seed give the same bytes on every machine.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace act_llama_test {

/// Shape of the random model. head dimension = n_embd / n_head (even, for RoPE).
struct model_shape {
  int n_layer = 4;
  int n_embd = 64;
  int n_ff = 128;
  int n_head = 4;
  int n_head_kv = 4;
  int n_ctx = 512;
  int n_vocab = 0;  ///< 0: the base vocabulary only; more: padded with two-letter pieces
  std::uint32_t seed = 0;
};

/// Deterministic pseudo-random numbers (splitmix64 and Box-Muller), independent of the standard library.
class random_stream {
 public:
  explicit random_stream(std::uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in (0, 1).
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) / 9007199254740992.0; }
  double normal() {
    if (spare_) {
      spare_ = false;
      return cached_;
    }
    const double r = std::sqrt(-2.0 * std::log(uniform())), a = 6.283185307179586 * uniform();
    cached_ = r * std::sin(a);
    spare_ = true;
    return r * std::cos(a);
  }

 private:
  std::uint64_t state_;
  bool spare_ = false;
  double cached_ = 0;
};

/// The vocabulary: <unk>, <s>, </s>; the 256 byte tokens <0x00>..<0xFF> (byte fallback, so any text
/// tokenizes); the word-start marker U+2581 and printable ASCII; words with every prefix (SentencePiece
/// merges two adjacent pieces only when their concatenation is a token), longer pieces scoring higher.
struct vocabulary {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<std::int32_t> types;  // 1 normal, 2 unknown, 3 control, 6 byte
};

inline vocabulary make_vocabulary(int n_vocab) {
  vocabulary v;
  std::set<std::string> seen;
  const auto add = [&](const std::string& token, float score, std::int32_t type) {
    if (!seen.insert(token).second) return;
    v.tokens.push_back(token);
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0, 2);
  add("<s>", 0, 3);
  add("</s>", 0, 3);
  char hex[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(hex, sizeof hex, "<0x%02X>", b);
    add(hex, 0, 6);
  }
  const std::string marker = "\xE2\x96\x81";  // U+2581, SentencePiece's word start
  add(marker, -1, 1);
  for (char c = 33; c < 127; ++c) add(std::string(1, c), -1, 1);
  const char* words[] = {"the",   "a",      "is",   "was",   "of",    "and", "to",    "in",   "it",   "I",     "you",
                         "we",    "they",   "that", "this",  "with",  "not", "very",  "love", "hate", "happy", "sad",
                         "good",  "bad",    "calm", "angry", "cat",   "dog", "sun",   "rain", "day",  "night", "hello",
                         "world", "friend", "kind", "cruel", "peace", "war", "smile", "cry"};
  for (const char* w : words) {
    const std::string piece = marker + w;
    for (std::size_t k = marker.size() + 1; k <= piece.size(); ++k)
      add(piece.substr(0, k), static_cast<float>(k - marker.size() + 1), 1);
  }
  const std::string letters = "etaoinshrdlucmfwypvbgkjqxz";
  for (std::size_t i = 0; static_cast<int>(v.tokens.size()) < n_vocab && i < letters.size() * letters.size(); ++i)
    add(std::string{letters[i / letters.size()], letters[i % letters.size()]}, 0.5f, 1);
  if (static_cast<int>(v.tokens.size()) < n_vocab)
    throw std::invalid_argument("n_vocab is larger than this vocabulary can pad to");
  return v;
}

/// A minimal GGUF v3 writer: metadata in order, then F32 tensors, data aligned to 32 bytes.
class gguf_writer {
 public:
  void kv(const std::string& key, const std::string& value) {
    key_(key, 8);
    str_(meta_, value);
    ++n_kv_;
  }
  void kv_u32(const std::string& key, std::uint32_t value) {
    key_(key, 4);
    put_(meta_, value);
    ++n_kv_;
  }
  void kv_f32(const std::string& key, float value) {
    key_(key, 6);
    put_(meta_, value);
    ++n_kv_;
  }
  void kv_bool(const std::string& key, bool value) {
    key_(key, 7);
    meta_.push_back(value ? 1 : 0);
    ++n_kv_;
  }
  void kv_strings(const std::string& key, const std::vector<std::string>& values) {
    key_(key, 9);
    put_<std::uint32_t>(meta_, 8);
    put_<std::uint64_t>(meta_, values.size());
    for (const auto& s : values) str_(meta_, s);
    ++n_kv_;
  }
  void kv_f32s(const std::string& key, const std::vector<float>& values) {
    key_(key, 9);
    put_<std::uint32_t>(meta_, 6);
    put_<std::uint64_t>(meta_, values.size());
    for (const float f : values) put_(meta_, f);
    ++n_kv_;
  }
  void kv_i32s(const std::string& key, const std::vector<std::int32_t>& values) {
    key_(key, 9);
    put_<std::uint32_t>(meta_, 5);
    put_<std::uint64_t>(meta_, values.size());
    for (const std::int32_t i : values) put_(meta_, i);
    ++n_kv_;
  }
  /// A tensor of shape `ne` (ggml order: ne[0] is the row length) holding `values`.
  void tensor(const std::string& name, std::vector<std::uint64_t> ne, std::vector<float> values) {
    tensors_.push_back({name, std::move(ne), std::move(values)});
  }

  void write(const std::string& path) const {
    std::vector<unsigned char> out = {'G', 'G', 'U', 'F'};
    put_<std::uint32_t>(out, 3);
    put_<std::uint64_t>(out, tensors_.size());
    put_<std::uint64_t>(out, n_kv_);
    out.insert(out.end(), meta_.begin(), meta_.end());
    std::uint64_t offset = 0;
    for (const auto& t : tensors_) {
      str_(out, t.name);
      put_<std::uint32_t>(out, static_cast<std::uint32_t>(t.ne.size()));
      for (const auto d : t.ne) put_(out, d);
      put_<std::uint32_t>(out, 0);  // F32
      put_(out, offset);
      offset += padded(t.values.size() * 4);
    }
    pad_(out);
    std::ofstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot write " + path);
    f.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
    const std::vector<char> zeros(32, 0);
    for (const auto& t : tensors_) {
      f.write(reinterpret_cast<const char*>(t.values.data()), static_cast<std::streamsize>(t.values.size() * 4));
      f.write(zeros.data(), static_cast<std::streamsize>(padded(t.values.size() * 4) - t.values.size() * 4));
    }
    if (!f) throw std::runtime_error("write to " + path + " failed");
  }

 private:
  struct tensor_data {
    std::string name;
    std::vector<std::uint64_t> ne;
    std::vector<float> values;
  };
  static std::uint64_t padded(std::uint64_t n) { return (n + 31) / 32 * 32; }
  template <class T>
  static void put_(std::vector<unsigned char>& out, T value) {
    unsigned char raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));
    out.insert(out.end(), raw, raw + sizeof(T));
  }
  static void str_(std::vector<unsigned char>& out, const std::string& s) {
    put_<std::uint64_t>(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
  }
  static void pad_(std::vector<unsigned char>& out) {
    while (out.size() % 32 != 0) out.push_back(0);
  }
  void key_(const std::string& key, std::uint32_t type) {
    str_(meta_, key);
    put_(meta_, type);
  }

  std::vector<unsigned char> meta_;
  std::uint64_t n_kv_ = 0;
  std::vector<tensor_data> tensors_;
};

/// Writes the random model. Weights are N(0, 1/fan_in), embeddings N(0, 1), norms 1. The output rows of
/// <unk>, <s>, </s> and the byte tokens are zero: greedy decoding never ends early (benchmarks generate a
/// fixed number of tokens) and its gibberish is made of words and letters.
inline void write_random_model(const std::string& path, const model_shape& s) {
  if (s.n_head <= 0 || s.n_embd % s.n_head != 0 || (s.n_embd / s.n_head) % 2 != 0 || s.n_head_kv <= 0 ||
      s.n_head % s.n_head_kv != 0)
    throw std::invalid_argument("n_embd must split into n_head heads of even size, n_head into n_head_kv groups");
  const vocabulary v = make_vocabulary(s.n_vocab);
  const auto n_vocab = static_cast<std::uint64_t>(v.tokens.size());
  const auto n_embd = static_cast<std::uint64_t>(s.n_embd), n_ff = static_cast<std::uint64_t>(s.n_ff);
  const std::uint64_t head_dim = n_embd / static_cast<std::uint64_t>(s.n_head);
  const std::uint64_t n_kv = head_dim * static_cast<std::uint64_t>(s.n_head_kv);

  gguf_writer g;
  g.kv("general.architecture", "llama");
  g.kv("general.name", "act random llama");
  g.kv_u32("general.file_type", 0);  // all F32
  g.kv_u32("llama.context_length", static_cast<std::uint32_t>(s.n_ctx));
  g.kv_u32("llama.embedding_length", static_cast<std::uint32_t>(s.n_embd));
  g.kv_u32("llama.block_count", static_cast<std::uint32_t>(s.n_layer));
  g.kv_u32("llama.feed_forward_length", static_cast<std::uint32_t>(s.n_ff));
  g.kv_u32("llama.attention.head_count", static_cast<std::uint32_t>(s.n_head));
  g.kv_u32("llama.attention.head_count_kv", static_cast<std::uint32_t>(s.n_head_kv));
  g.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  g.kv_f32("llama.rope.freq_base", 10000.0f);
  g.kv_u32("llama.vocab_size", static_cast<std::uint32_t>(n_vocab));
  g.kv("tokenizer.ggml.model", "llama");
  g.kv_strings("tokenizer.ggml.tokens", v.tokens);
  g.kv_f32s("tokenizer.ggml.scores", v.scores);
  g.kv_i32s("tokenizer.ggml.token_type", v.types);
  g.kv_u32("tokenizer.ggml.bos_token_id", 1);
  g.kv_u32("tokenizer.ggml.eos_token_id", 2);
  g.kv_u32("tokenizer.ggml.unknown_token_id", 0);
  g.kv_bool("tokenizer.ggml.add_bos_token", true);
  g.kv_bool("tokenizer.ggml.add_eos_token", false);

  random_stream rng(s.seed);
  const auto random = [&](std::uint64_t cols, std::uint64_t rows, double scale) {
    std::vector<float> w(cols * rows);
    for (auto& x : w) x = static_cast<float>(rng.normal() * scale);
    return w;
  };
  const std::vector<float> ones(n_embd, 1.0f);
  const double in_embd = 1.0 / std::sqrt(static_cast<double>(n_embd));
  g.tensor("token_embd.weight", {n_embd, n_vocab}, random(n_embd, n_vocab, 1.0));
  for (int i = 0; i < s.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    g.tensor(p + "attn_norm.weight", {n_embd}, ones);
    g.tensor(p + "attn_q.weight", {n_embd, n_embd}, random(n_embd, n_embd, in_embd));
    g.tensor(p + "attn_k.weight", {n_embd, n_kv}, random(n_embd, n_kv, in_embd));
    g.tensor(p + "attn_v.weight", {n_embd, n_kv}, random(n_embd, n_kv, in_embd));
    g.tensor(p + "attn_output.weight", {n_embd, n_embd}, random(n_embd, n_embd, in_embd));
    g.tensor(p + "ffn_norm.weight", {n_embd}, ones);
    g.tensor(p + "ffn_gate.weight", {n_embd, n_ff}, random(n_embd, n_ff, in_embd));
    g.tensor(p + "ffn_up.weight", {n_embd, n_ff}, random(n_embd, n_ff, in_embd));
    g.tensor(p + "ffn_down.weight", {n_ff, n_embd}, random(n_ff, n_embd, 1.0 / std::sqrt(static_cast<double>(n_ff))));
  }
  g.tensor("output_norm.weight", {n_embd}, ones);
  std::vector<float> output = random(n_embd, n_vocab, in_embd);
  for (std::size_t t = 0; t < v.tokens.size(); ++t)
    if (v.types[t] != 1) std::fill_n(output.begin() + static_cast<std::ptrdiff_t>(t * n_embd), n_embd, 0.0f);
  g.tensor("output.weight", {n_embd, n_vocab}, std::move(output));
  g.write(path);
}

}  // namespace act_llama_test
