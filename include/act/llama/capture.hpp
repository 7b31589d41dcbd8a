#pragma once
/// \file capture.hpp
/// Pooled activations of many prompts from a llama.cpp context, through act::llama::eval_callback: what
/// act-llama's capture and fit run, usable by any host. Needs llama.cpp (target `llama`).
///
///     act::llama::eval_callback cb;
///     llama_context_params params = act::llama::capture_context_params(512, 8, 1);
///     cb.attach(params);
///     llama_context* ctx = llama_init_from_model(model, params);
///     auto tokens = act::llama::tokenize_all(llama_model_get_vocab(model), prompts);
///     auto samples = act::llama::capture_prompts(ctx, cb, tokens, {"l_out-10", "l_out-12"}, act::pooling::mean);
///     // samples["l_out-10"]: [prompts x n_embd], row k pooled over prompt k's tokens
///
/// Prompts are packed into batches, one sequence each, and every batch starts from an empty memory, so a
/// prompt sees only itself. The rows of a sequence are its tokens, nothing else (no padding), so pooling
/// covers the prompt's real tokens only.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>
#include <llama.h>

#include <act/core/error.hpp>
#include <act/llama/eval_callback.hpp>
#include <act/sites/pooling.hpp>

namespace act::llama {

/// Tokens of `text` as llama.cpp's tools make them: BOS when the vocabulary adds one (`add_special`),
/// special tokens such as "<|im_start|>" parsed.
inline std::vector<llama_token> tokenize(const llama_vocab* vocab, std::string_view text, bool add_special = true) {
  std::vector<llama_token> tokens(text.size() + 8);
  int32_t n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                             static_cast<int32_t>(tokens.size()), add_special, true);
  if (n < 0) {
    tokens.resize(static_cast<std::size_t>(-n));
    n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                       static_cast<int32_t>(tokens.size()), add_special, true);
  }
  if (n < 0) raise<invalid_argument>("tokenize: llama.cpp could not tokenize a text of {} bytes", text.size());
  tokens.resize(static_cast<std::size_t>(n));
  return tokens;
}

/// tokenize() of every prompt; a prompt without any token is an error naming it (1-based).
inline std::vector<std::vector<llama_token>> tokenize_all(const llama_vocab* vocab,
                                                          const std::vector<std::string>& prompts) {
  std::vector<std::vector<llama_token>> out;
  out.reserve(prompts.size());
  for (std::size_t k = 0; k < prompts.size(); ++k) {
    out.push_back(tokenize(vocab, prompts[k]));
    if (out.back().empty()) raise<invalid_argument>("prompt {} has no tokens", k + 1);
  }
  return out;
}

/// Context parameters for capture_prompts: `n_ctx` tokens per batch (also the batch and ubatch size), up
/// to `n_seq` prompts per batch (at most n_ctx: llama.cpp wants no more sequences than a batch has
/// outputs), `threads` threads. kv_unified is on, so llama.cpp keeps each batch's rows in batch order,
/// which pooling relies on.
inline llama_context_params capture_context_params(uint32_t n_ctx, uint32_t n_seq, int32_t threads) {
  llama_context_params p = llama_context_default_params();
  p.n_ctx = n_ctx;
  p.n_batch = n_ctx;
  p.n_ubatch = n_ctx;
  p.n_seq_max = std::clamp<uint32_t>(n_seq, 1, std::max<uint32_t>(1, n_ctx));
  p.kv_unified = true;
  p.n_threads = threads;
  p.n_threads_batch = threads;
  return p;
}

/// Whether llama.cpp keeps only the output tokens' rows of `tensor` (the last block drops the other rows
/// before its feed-forward part; the names after the blocks have no layer number): capturing it then
/// needs every token marked as an output.
inline bool needs_all_outputs(std::string_view tensor, int32_t n_layer) {
  const auto dash = tensor.rfind('-');
  if (dash == std::string_view::npos || dash + 1 == tensor.size()) return true;
  long layer = 0;
  for (const char c : tensor.substr(dash + 1)) {
    if (c < '0' || c > '9' || layer > 1000000) return true;
    layer = layer * 10 + (c - '0');
  }
  return layer >= n_layer - 1;
}

/// Progress of capture_prompts: prompts done, prompts in all.
using capture_progress = std::function<void(std::size_t done, std::size_t total)>;

/// Runs `prompts` through `ctx`, whose cb_eval is `cb` (attached before the context was made; its maps,
/// if any, steer these passes), and returns each of `tensors` pooled per prompt: [prompts x width].
/// Batches hold at most llama_n_batch(ctx) tokens (and llama_n_ctx) and llama_n_seq_max(ctx) prompts; with
/// more than one prompt per batch the context must have kv_unified on (capture_context_params). A prompt
/// longer than a batch is an error naming it. Throws what cb.check() throws.
inline std::map<std::string, Eigen::MatrixXf> capture_prompts(llama_context* ctx, eval_callback& cb,
                                                              const std::vector<std::vector<llama_token>>& prompts,
                                                              const std::vector<std::string>& tensors, pooling how,
                                                              const capture_progress& progress = {}) {
  if (prompts.empty()) raise<invalid_argument>("capture: no prompts");
  if (tensors.empty()) raise<invalid_argument>("capture: no tensors");
  const std::size_t budget = std::min<std::size_t>(llama_n_batch(ctx), llama_n_ctx(ctx));
  const std::size_t max_seq = std::max<uint32_t>(1, llama_n_seq_max(ctx));
  const int32_t n_layer = llama_model_n_layer(llama_get_model(ctx));
  const bool all_outputs =
      std::any_of(tensors.begin(), tensors.end(), [&](const std::string& t) { return needs_all_outputs(t, n_layer); });
  for (std::size_t k = 0; k < prompts.size(); ++k)
    if (prompts[k].empty() || prompts[k].size() > budget)
      raise<invalid_argument>("capture: prompt {} has {} tokens; a batch holds 1 to {} (raise the context size)", k + 1,
                              prompts[k].size(), budget);

  cb.capture(tensors, how);
  llama_batch batch = llama_batch_init(static_cast<int32_t>(budget), 0, 1);
  struct batch_guard {
    llama_batch& b;
    ~batch_guard() { llama_batch_free(b); }
  } guard{batch};
  for (std::size_t first = 0; first < prompts.size();) {
    // Pack prompts [first, last) into one batch, sequence j = prompt first + j.
    std::size_t last = first, tokens = 0;
    while (last < prompts.size() && last - first < max_seq && tokens + prompts[last].size() <= budget)
      tokens += prompts[last++].size();
    std::vector<int> sample_of_row;
    sample_of_row.reserve(tokens);
    batch.n_tokens = 0;
    for (std::size_t k = first; k < last; ++k) {
      const auto& p = prompts[k];
      for (std::size_t i = 0; i < p.size(); ++i) {
        const int32_t at = batch.n_tokens++;
        batch.token[at] = p[i];
        batch.pos[at] = static_cast<llama_pos>(i);
        batch.n_seq_id[at] = 1;
        batch.seq_id[at][0] = static_cast<llama_seq_id>(k - first);
        batch.logits[at] = all_outputs || i + 1 == p.size();
        sample_of_row.push_back(static_cast<int>(k));
      }
    }
    llama_memory_clear(llama_get_memory(ctx), true);
    cb.expect_batch(std::move(sample_of_row));
    const int32_t status = llama_decode(ctx, batch);
    cb.check();
    if (status != 0)
      raise<invalid_argument>("capture: llama_decode failed with status {} on prompts {}..{}", status, first + 1, last);
    first = last;
    if (progress) progress(first, prompts.size());
  }
  std::map<std::string, Eigen::MatrixXf> out;
  for (const auto& t : tensors) out[t] = cb.samples(t);
  cb.stop_capture();
  return out;
}

}  // namespace act::llama
