#pragma once
/// The toy LM's weights file: a safetensors file (act/io/safetensors.hpp) holding
/// - every tensor of parameter_layout, f32, named as there ("tok_emb", "blk.0.attn.qkv.weight", ...),
///   matrices [in x out] (y = x W + b), vectors 1-D;
/// - metadata "format" = "act-toy-lm-1", the model_config ("vocab", "d_model", "n_layers", "n_heads",
///   "d_ff", "context" as decimal strings) and "vocabulary" = the tokenizer's words joined by single
///   spaces in id order (starting "<pad> <unk> <bos> <eos>"),
/// so a file is self-contained: no grammar code is needed to load and run it.
#include <act/io/safetensors.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "model.hpp"
#include "tokenizer.hpp"

namespace toy_lm {

struct loaded_model {
  transformer<float> model;
  tokenizer tok;
};

inline void save_weights(const std::string& path, const transformer<float>& model, const tokenizer& tok) {
  act::safetensors_file f;
  const auto& c = model.config();
  f.metadata["format"] = "act-toy-lm-1";
  f.metadata["vocab"] = std::to_string(c.vocab);
  f.metadata["d_model"] = std::to_string(c.d_model);
  f.metadata["n_layers"] = std::to_string(c.n_layers);
  f.metadata["n_heads"] = std::to_string(c.n_heads);
  f.metadata["d_ff"] = std::to_string(c.d_ff);
  f.metadata["context"] = std::to_string(c.context);
  std::string vocab;
  for (const auto& w : tok.words()) {
    if (!vocab.empty()) vocab += ' ';
    vocab += w;
  }
  f.metadata["vocabulary"] = vocab;
  for (const auto& s : model.layout().slots()) {
    std::vector<std::uint64_t> shape;
    if (s.rows != 1) shape.push_back(static_cast<std::uint64_t>(s.rows));
    shape.push_back(static_cast<std::uint64_t>(s.cols));
    f.tensors.push_back(act::safetensors_tensor::from_floats(s.name, shape, model.params().data() + s.offset));
  }
  act::write_safetensors(path, f);
}

inline loaded_model load_weights(const std::string& path) {
  const act::safetensors_file f = act::read_safetensors(path);
  auto meta = [&](const char* key) -> const std::string& {
    auto it = f.metadata.find(key);
    if (it == f.metadata.end()) throw std::runtime_error(path + ": toy LM weights lack metadata '" + key + "'");
    return it->second;
  };
  if (meta("format") != "act-toy-lm-1") throw std::runtime_error(path + ": not an act-toy-lm-1 weights file");
  model_config c;
  c.vocab = std::stoi(meta("vocab"));
  c.d_model = std::stoi(meta("d_model"));
  c.n_layers = std::stoi(meta("n_layers"));
  c.n_heads = std::stoi(meta("n_heads"));
  c.d_ff = std::stoi(meta("d_ff"));
  c.context = std::stoi(meta("context"));
  std::vector<std::string> words;
  {
    const std::string& v = meta("vocabulary");
    std::size_t i = 0;
    while (i <= v.size()) {
      std::size_t j = v.find(' ', i);
      if (j == std::string::npos) j = v.size();
      if (j > i) words.push_back(v.substr(i, j - i));
      i = j + 1;
    }
  }
  loaded_model out{transformer<float>(c), tokenizer::from_vocabulary(words)};
  if (out.tok.size() != c.vocab) throw std::runtime_error(path + ": vocabulary size does not match config");
  for (const auto& s : out.model.layout().slots()) {
    const auto* t = f.find(s.name);
    if (!t) throw std::runtime_error(path + ": missing tensor " + s.name);
    const std::vector<float> v = t->to_floats();
    if (v.size() != s.size()) throw std::runtime_error(path + ": tensor " + s.name + " has the wrong size");
    std::copy(v.begin(), v.end(), out.model.params().begin() + static_cast<std::ptrdiff_t>(s.offset));
  }
  return out;
}

}  // namespace toy_lm
