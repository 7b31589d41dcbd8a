#pragma once
// The committed toy Gemma (examples/toy_gemma/toy_gemma.gguf) for the llama.cpp tests: loaded once in
// llama.cpp and in act's engine, contexts whose logits can be compared with act's engine.

#include <string>
#include <vector>

#include "../../examples/toy_gemma/model.hpp"
#include "../../examples/toy_lm/recipe.hpp"
#include "llama_test_util.hpp"

namespace act_llama_test {

inline const std::string& toy_gemma_path() {
  static const std::string path = std::string(ACT_SOURCE_DIR) + "/examples/toy_gemma/toy_gemma.gguf";
  return path;
}

inline llama_model* toy_gemma_model() {
  static model_ptr model = [] {
    model_ptr m(llama_model_load_from_file(toy_gemma_path().c_str(), host_model_params()));
    if (!m) throw std::runtime_error("llama.cpp could not load " + toy_gemma_path());
    return m;
  }();
  return model.get();
}

inline const toy_gemma::model& toy_gemma_engine() {
  static const toy_gemma::model m = toy_gemma::load_gguf(toy_gemma_path());
  return m;
}

/// How llama.cpp splits the work of a context; the defaults are the arithmetic act's engine reproduces.
struct toy_gemma_split {
  uint32_t n_ubatch = 0;    ///< 0: one ubatch for the whole context
  bool flash_attn = false;  ///< llama.cpp's flash-attention kernel instead of the plain softmax
};

/// A one-thread context with an F32 key/value cache (llama.cpp's default F16 cache rounds keys and
/// values); without flash attention and in one ubatch unless `split` says otherwise.
inline context_ptr toy_gemma_context(act::llama::eval_callback* cb, uint32_t n_ctx = 64, toy_gemma_split split = {}) {
  llama_context_params p = llama_context_default_params();
  p.n_ctx = n_ctx;
  p.n_batch = n_ctx;
  p.n_ubatch = split.n_ubatch != 0 ? split.n_ubatch : n_ctx;
  p.n_threads = p.n_threads_batch = 1;
  p.flash_attn_type = split.flash_attn ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
  p.type_k = p.type_v = GGML_TYPE_F32;
  if (cb != nullptr) cb->attach(p);
  context_ptr ctx(llama_init_from_model(toy_gemma_model(), p));
  REQUIRE(ctx != nullptr);
  return ctx;
}

/// The text llama.cpp prints for `tokens`, piece after piece.
inline std::string piece_text(const llama_vocab* vocab, const std::vector<llama_token>& tokens) {
  std::string s;
  for (const llama_token t : tokens) {
    char buf[128];
    const int32_t n = llama_token_to_piece(vocab, t, buf, sizeof buf, 0, false);
    REQUIRE(n >= 0);
    s.append(buf, static_cast<std::size_t>(n));
  }
  return s;
}

}  // namespace act_llama_test
