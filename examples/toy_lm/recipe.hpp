#pragma once
/// How the bundled weights were made: corpus seed and sizes, model shape, training options.
/// Experiments rebuild the same splits with default_corpus() (held-out text for perplexity).
#include <string>

#include "corpus.hpp"
#include "model.hpp"
#include "tokenizer.hpp"
#include "trainer.hpp"

namespace toy_lm {

inline constexpr std::uint64_t corpus_seed = 2024;
inline constexpr std::size_t train_sentences = 80000;
inline constexpr std::size_t heldout_sentences = 2000;
inline constexpr std::uint64_t init_seed = 7;

/// The bundled model's splits (deterministic; ~0.1 s to generate); documents fit the context of 48.
inline corpus default_corpus() { return make_corpus(corpus_seed, train_sentences, heldout_sentences, 47); }

/// The vocabulary of the grammar, special tokens first.
inline tokenizer default_tokenizer() { return tokenizer(grammar_words()); }

inline model_config default_config(int vocab) {
  model_config c;
  c.vocab = vocab;
  c.d_model = 64;
  c.n_layers = 4;
  c.n_heads = 4;
  c.d_ff = 256;
  c.context = 48;
  return c;
}

inline train_options default_train_options() {
  train_options o;
  o.steps = 1500;
  o.batch_size = 16;
  o.learning_rate = 3e-3;
  o.seed = 1;
  return o;
}

#ifdef TOY_LM_SOURCE_DIR
/// The committed weights, found through the source folder baked in at build time.
inline std::string default_weights_path() { return std::string(TOY_LM_SOURCE_DIR) + "/toy_lm.safetensors"; }
#else
/// The committed weights, relative to the repository root.
inline std::string default_weights_path() { return "examples/toy_lm/toy_lm.safetensors"; }
#endif

}  // namespace toy_lm
