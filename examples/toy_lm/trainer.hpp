#pragma once
/// Adam training of the toy LM on documents; deterministic for a given seed on one thread.
#include <chrono>
#include <cmath>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "../common/adam.hpp"
#include "backprop.hpp"
#include "corpus.hpp"
#include "model.hpp"
#include "rng.hpp"
#include "tokenizer.hpp"

namespace toy_lm {

struct train_options {
  int steps = 2000;
  int batch_size = 16;          ///< packed sequences per step
  double learning_rate = 3e-3;  ///< peak, after linear warm-up; cosine decay to min_lr_ratio * peak
  double min_lr_ratio = 0.05;
  int warmup = 100;
  double beta1 = 0.9, beta2 = 0.99, epsilon = 1e-8;
  double clip_norm = 1.0;  ///< global gradient norm clip
  std::uint64_t seed = 1;  ///< data order (the model is initialised by the caller)
};

struct train_report {
  std::vector<double> losses;  ///< one per step
  double seconds = 0;
};

/// Serves training sequences (each "<bos> ... ", at most the context long) in a seeded random
/// order, reshuffled after every pass.
class sequence_sampler {
 public:
  sequence_sampler(const std::vector<std::vector<int>>& sequences, std::uint64_t seed)
      : sequences_(sequences), rng_(seed) {
    if (sequences_.empty()) throw std::invalid_argument("toy_lm: no training sequences");
    order_.resize(sequences_.size());
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    shuffle();
  }

  batch next_batch(int n) {
    std::vector<std::vector<int>> seqs;
    for (int i = 0; i < n; ++i) {
      seqs.push_back(sequences_[order_[cursor_]]);
      if (++cursor_ == order_.size()) {
        cursor_ = 0;
        shuffle();
      }
    }
    return batch::from_sequences(seqs);
  }

 private:
  void shuffle() {
    for (std::size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng_.below(i)]);
  }
  const std::vector<std::vector<int>>& sequences_;
  rng rng_;
  std::vector<std::size_t> order_;
  std::size_t cursor_ = 0;
};

/// Documents as training sequences "<bos> s1 <eos> s2 <eos> ...".
inline std::vector<std::vector<int>> encode_documents(const tokenizer& tok, const std::vector<document>& docs) {
  std::vector<std::vector<int>> out;
  for (const auto& d : docs) {
    std::vector<int> seq{tokenizer::bos};
    for (const auto& s : d.sentences) {
      const auto ids = tok.encode(s.text);
      seq.insert(seq.end(), ids.begin(), ids.end());
      seq.push_back(tokenizer::eos);
    }
    out.push_back(std::move(seq));
  }
  return out;
}

inline double learning_rate_at(const train_options& o, int step) {
  if (step < o.warmup) return o.learning_rate * (step + 1) / o.warmup;
  const double progress = double(step - o.warmup) / std::max(1, o.steps - o.warmup);
  const double cosine = 0.5 * (1 + std::cos(3.141592653589793 * std::min(1.0, progress)));
  return o.learning_rate * (o.min_lr_ratio + (1 - o.min_lr_ratio) * cosine);
}

/// Trains `model` in place on `sequences` (each starting with <bos>, at most the context long).
/// `on_step(step, loss)` is called after every step (progress output).
template <class T>
train_report train(transformer<T>& model, const std::vector<std::vector<int>>& sequences, const train_options& o,
                   const std::function<void(int, double)>& on_step = {}) {
  const auto start = std::chrono::steady_clock::now();
  sequence_sampler packer(sequences, o.seed);
  examples_common::adam opt(model.parameter_count(),
                            {o.beta1, o.beta2, o.epsilon, examples_common::adam_rounding::round_step});
  train_report report;
  std::vector<T> grad;
  for (int step = 0; step < o.steps; ++step) {
    const batch b = packer.next_batch(o.batch_size);
    const T loss = loss_and_gradient(model, b, &grad);
    double norm2 = 0;
    for (T v : grad) norm2 += double(v) * double(v);
    const double norm = std::sqrt(norm2);
    if (o.clip_norm > 0 && norm > o.clip_norm)
      for (T& v : grad) v *= T(o.clip_norm / norm);
    opt.step(model.params(), grad, learning_rate_at(o, step));
    report.losses.push_back(double(loss));
    if (on_step) on_step(step, double(loss));
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace toy_lm
