#pragma once
/// Adam training of the denoiser and the classifier on freshly drawn procedural images.
/// Deterministic for a given seed (single thread, our own random numbers).
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include "../common/adam.hpp"
#include "classifier.hpp"
#include "dataset.hpp"
#include "flow.hpp"
#include "model.hpp"
#include "rng.hpp"

namespace toy_diffusion {

/// Adam as the committed weights were trained with: betas 0.9 / 0.999, epsilon 1e-8, the sum rounded to float.
constexpr examples_common::adam_options adam_settings{0.9, 0.999, 1e-8, examples_common::adam_rounding::round_result};

/// Linear warm-up over the first 5% of steps, then cosine decay to 10% of the peak.
inline double learning_rate(double peak, int step, int steps) {
  const int warm = std::max(1, steps / 20);
  if (step < warm) return peak * (step + 1) / warm;
  const double p = static_cast<double>(step - warm) / std::max(1, steps - warm);
  return peak * (0.1 + 0.9 * 0.5 * (1.0 + std::cos(3.141592653589793 * p)));
}

/// Scales `grads` so their global L2 norm is at most `max_norm`; returns the norm before.
template <class T>
double clip_gradients(std::vector<T>& grads, double max_norm) {
  double s = 0;
  for (T g : grads) s += static_cast<double>(g) * static_cast<double>(g);
  const double norm = std::sqrt(s);
  if (norm > max_norm)
    for (T& g : grads) g = static_cast<T>(static_cast<double>(g) * max_norm / norm);
  return norm;
}

struct train_options {
  int steps = 3000;
  int batch = 32;
  double lr = 2e-3;
  std::uint64_t seed = 7;
  /// Called every `report_every` steps with (step, mean loss since the last report).
  std::function<void(int, double)> progress;
  int report_every = 100;
};

/// A batch of data-set images [n x 1 x S x S] with their prompts and drawn styles.
struct data_batch {
  fmap<float> images;
  std::vector<prompt> prompts;
  std::vector<int> shapes, styles;
};

inline data_batch draw_batch(std::uint64_t seed, std::uint64_t first, int n) {
  data_batch b{fmap<float>(n, 1, image_size, image_size), {}, {}, {}};
  for (int i = 0; i < n; ++i) {
    const example e = dataset_example(seed, first + static_cast<std::uint64_t>(i));
    std::copy(e.pixels.begin(), e.pixels.end(), b.images.image(i));
    b.prompts.push_back(e.p);
    b.shapes.push_back(e.p.shape);
    b.styles.push_back(e.drawn_style);
  }
  return b;
}

/// Trains the denoiser; returns the wall-clock seconds.
inline double train_denoiser(denoiser<float>& model, const train_options& o) {
  const auto start = std::chrono::steady_clock::now();
  examples_common::adam opt(model.params().size(), adam_settings);
  std::vector<float> grads(model.params().size());
  const std::uint64_t data_seed = derive_seed(o.seed, 1), noise_seed = derive_seed(o.seed, 2);
  double acc = 0;
  for (int step = 0; step < o.steps; ++step) {
    const data_batch b = draw_batch(data_seed, static_cast<std::uint64_t>(step) * o.batch, o.batch);
    rng r(derive_seed(noise_seed, static_cast<std::uint64_t>(step)));
    fmap<float> noise(o.batch, 1, image_size, image_size);
    for (auto& v : noise.v) v = static_cast<float>(r.normal());
    std::vector<float> t(static_cast<std::size_t>(o.batch));
    for (auto& ti : t) ti = static_cast<float>(r.uniform());
    std::fill(grads.begin(), grads.end(), 0.0f);
    acc += flow_loss(model, b.images, noise, t, b.prompts, &grads);
    clip_gradients(grads, 1.0);
    opt.step(model.params(), grads, learning_rate(o.lr, step, o.steps));
    if (o.progress && (step + 1) % o.report_every == 0) {
      o.progress(step + 1, acc / o.report_every);
      acc = 0;
    }
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Adds N(0, sigma^2) pixel noise with sigma uniform in [0, 0.15] per image: generated images are
/// never perfectly clean, and the judge should not care.
inline void augment(fmap<float>& x, rng& r) {
  for (int i = 0; i < x.n; ++i) {
    const double sigma = r.uniform(0.0, 0.15);
    float* p = x.image(i);
    for (int k = 0; k < x.positions(); ++k) p[k] = static_cast<float>(p[k] + sigma * r.normal());
  }
}

/// Trains the classifier; returns the wall-clock seconds.
inline double train_classifier(classifier<float>& model, const train_options& o) {
  const auto start = std::chrono::steady_clock::now();
  examples_common::adam opt(model.params().size(), adam_settings);
  std::vector<float> grads(model.params().size());
  const std::uint64_t data_seed = derive_seed(o.seed, 3), noise_seed = derive_seed(o.seed, 4);
  double acc = 0;
  for (int step = 0; step < o.steps; ++step) {
    data_batch b = draw_batch(data_seed, static_cast<std::uint64_t>(step) * o.batch, o.batch);
    rng r(derive_seed(noise_seed, static_cast<std::uint64_t>(step)));
    augment(b.images, r);
    std::fill(grads.begin(), grads.end(), 0.0f);
    acc += model.loss(b.images, b.shapes, b.styles, &grads);
    clip_gradients(grads, 5.0);
    opt.step(model.params(), grads, learning_rate(o.lr, step, o.steps));
    if (o.progress && (step + 1) % o.report_every == 0) {
      o.progress(step + 1, acc / o.report_every);
      acc = 0;
    }
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Shape and style accuracy of the classifier on n held-out data-set images (a seed training never uses).
inline std::pair<double, double> classifier_accuracy(const classifier<float>& model, int n, std::uint64_t seed = 99) {
  const data_batch b = draw_batch(derive_seed(seed, 5), 0, n);
  const auto j = model.classify(b.images);
  int shape_ok = 0, style_ok = 0;
  for (int i = 0; i < n; ++i) {
    const auto si = static_cast<std::size_t>(i);
    shape_ok += j[si].shape == b.shapes[si];
    style_ok += j[si].style == b.styles[si];
  }
  return {static_cast<double>(shape_ok) / n, static_cast<double>(style_ok) / n};
}

}  // namespace toy_diffusion
