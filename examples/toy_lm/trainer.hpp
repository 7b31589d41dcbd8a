#pragma once
/// Adam training of the toy LM on packed sentences; deterministic for a given seed on one thread.
#include <chrono>
#include <cmath>
#include <functional>
#include <numeric>
#include <vector>

#include "backprop.hpp"
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
  double clip_norm = 1.0;       ///< global gradient norm clip
  std::uint64_t seed = 1;       ///< data order (the model is initialised by the caller)
};

struct train_report {
  std::vector<double> losses;  ///< one per step
  double seconds = 0;
};

/// Packs sentences (each a token list ending in <eos>, without <bos>) into sequences
/// "<bos> s1 <eos> s2 <eos> ..." of at most `context` tokens, taking them in a seeded random order.
/// Packing makes every position of the context seen in training and wastes no compute on padding.
class sequence_packer {
public:
  sequence_packer(const std::vector<std::vector<int>>& sentences, int context, std::uint64_t seed)
      : sentences_(sentences), context_(context), rng_(seed) {
    order_.resize(sentences_.size());
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    shuffle();
  }

  std::vector<int> next() {
    std::vector<int> seq{tokenizer::bos};
    for (;;) {
      const auto& s = sentences_[order_[cursor_]];
      if (seq.size() + s.size() > static_cast<std::size_t>(context_)) {
        if (seq.size() > 1) break;
        // A sentence longer than the context on its own is cut (the grammar never makes one).
        seq.insert(seq.end(), s.begin(), s.begin() + (context_ - 1));
        advance();
        break;
      }
      seq.insert(seq.end(), s.begin(), s.end());
      advance();
    }
    return seq;
  }

  batch next_batch(int n) {
    std::vector<std::vector<int>> seqs;
    for (int i = 0; i < n; ++i) seqs.push_back(next());
    return batch::from_sequences(seqs);
  }

private:
  void shuffle() {
    for (std::size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng_.below(i)]);
  }
  void advance() {
    if (++cursor_ == order_.size()) {
      cursor_ = 0;
      shuffle();
    }
  }
  const std::vector<std::vector<int>>& sentences_;
  int context_;
  rng rng_;
  std::vector<std::size_t> order_;
  std::size_t cursor_ = 0;
};

/// Adam with bias correction, over the flat parameter vector.
template <class T>
class adam {
public:
  explicit adam(std::size_t n) : m_(n, 0.0), v_(n, 0.0) {}

  void step(std::vector<T>& params, const std::vector<T>& grad, double lr, double beta1, double beta2,
            double eps) {
    ++t_;
    const double c1 = 1.0 - std::pow(beta1, t_), c2 = 1.0 - std::pow(beta2, t_);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const double gi = double(grad[i]);
      m_[i] = beta1 * m_[i] + (1 - beta1) * gi;
      v_[i] = beta2 * v_[i] + (1 - beta2) * gi * gi;
      params[i] -= T(lr * (m_[i] / c1) / (std::sqrt(v_[i] / c2) + eps));
    }
  }

private:
  std::vector<double> m_, v_;
  int t_ = 0;
};

inline double learning_rate_at(const train_options& o, int step) {
  if (step < o.warmup) return o.learning_rate * (step + 1) / o.warmup;
  const double progress = double(step - o.warmup) / std::max(1, o.steps - o.warmup);
  const double cosine = 0.5 * (1 + std::cos(3.141592653589793 * std::min(1.0, progress)));
  return o.learning_rate * (o.min_lr_ratio + (1 - o.min_lr_ratio) * cosine);
}

/// Trains `model` in place. `on_step(step, loss)` is called after every step (progress output).
template <class T>
train_report train(transformer<T>& model, const std::vector<std::vector<int>>& sentences, const train_options& o,
                   const std::function<void(int, double)>& on_step = {}) {
  const auto start = std::chrono::steady_clock::now();
  sequence_packer packer(sentences, model.config().context, o.seed);
  adam<T> opt(model.parameter_count());
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
    opt.step(model.params(), grad, learning_rate_at(o, step), o.beta1, o.beta2, o.epsilon);
    report.losses.push_back(double(loss));
    if (on_step) on_step(step, double(loss));
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace toy_lm
