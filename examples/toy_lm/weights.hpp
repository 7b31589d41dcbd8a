#pragma once
/// The toy LM's weights file: a safetensors file (act/io/safetensors.hpp) holding
/// - every tensor of parameter_layout, f32, named as there ("tok_emb", "blk.0.attn.qkv.weight", ...),
///   matrices [in x out] (y = x W + b), vectors 1-D;
/// - metadata "format" = "act-toy-lm-1", the model_config ("vocab", "d_model", "n_layers", "n_heads",
///   "d_ff", "context" as decimal strings) and "vocabulary" = the tokenizer's words joined by single
///   spaces in id order (starting "<pad> <unk> <bos> <eos>"),
/// so a file is self-contained: no grammar code is needed to load and run it.
#include <act/io/safetensors.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "../common/weights.hpp"
#include "model.hpp"
#include "tokenizer.hpp"

namespace toy_lm {

struct loaded_model {
  transformer<float> model;
  tokenizer tok;
};

/// Tensor shapes in the file: matrices [rows x cols], vectors (one row) 1-D.
inline std::vector<std::uint64_t> tensor_shape(const tensor_slot& s) {
  std::vector<std::uint64_t> shape;
  if (s.rows != 1) shape.push_back(static_cast<std::uint64_t>(s.rows));
  shape.push_back(static_cast<std::uint64_t>(s.cols));
  return shape;
}

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
  examples_common::put_tensors(f, model.layout().slots(), tensor_shape, model.params());
  act::write_safetensors(path, f);
}

inline loaded_model load_weights(const std::string& path) {
  using examples_common::metadata_int;
  const act::safetensors_file f = act::read_safetensors(path);
  examples_common::check_format(f, "act-toy-lm-1", path);
  model_config c;
  c.vocab = metadata_int(f, "vocab", path);
  c.d_model = metadata_int(f, "d_model", path);
  c.n_layers = metadata_int(f, "n_layers", path);
  c.n_heads = metadata_int(f, "n_heads", path);
  c.d_ff = metadata_int(f, "d_ff", path);
  c.context = metadata_int(f, "context", path);
  std::vector<std::string> words;
  {
    const std::string& v = examples_common::metadata(f, "vocabulary", path);
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
  examples_common::get_tensors(f, out.model.layout().slots(), tensor_shape, out.model.params(), path);
  return out;
}

}  // namespace toy_lm
