#pragma once
/// The judge: a small conv net trained on the procedural data that reads shape and style off an
/// image (generated or drawn). conv3x3 1->c1, SiLU, avgpool -> conv3x3 c1->c2, SiLU, avgpool ->
/// dense -> hidden, SiLU -> dense -> n_shapes + n_styles logits (two softmax heads).
#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "dataset.hpp"
#include "layers.hpp"
#include "params.hpp"
#include "rng.hpp"

namespace toy_diffusion {

struct classifier_config {
  int size = image_size;
  int c1 = 16, c2 = 32, hidden = 64;
};

/// Predicted labels of one image.
struct judgement {
  int shape = 0;
  int style = 0;
};

template <class T>
class classifier {
 public:
  struct cache {
    fmap<T> x, h1, p1, h2, p2;
    row_matrix<T> flat, z, a;
  };

  explicit classifier(classifier_config cfg = {}, std::uint64_t seed = 2) : cfg_(cfg) {
    if (cfg_.size % 4 != 0) throw std::invalid_argument("toy_diffusion: classifier image size must be a multiple of 4");
    const auto c1 = static_cast<std::uint64_t>(cfg_.c1), c2 = static_cast<std::uint64_t>(cfg_.c2);
    const auto hid = static_cast<std::uint64_t>(cfg_.hidden);
    conv1_w_ = layout_.add("conv1.weight", {c1, 9});
    conv1_b_ = layout_.add("conv1.bias", {c1});
    conv2_w_ = layout_.add("conv2.weight", {c2, c1 * 9});
    conv2_b_ = layout_.add("conv2.bias", {c2});
    fc1_w_ = layout_.add("fc1.weight", {flat_size(), hid});
    fc1_b_ = layout_.add("fc1.bias", {hid});
    fc2_w_ = layout_.add("fc2.weight", {hid, n_shapes + n_styles});
    fc2_b_ = layout_.add("fc2.bias", {n_shapes + n_styles});
    params_.assign(layout_.total(), T(0));
    rng r(seed);
    for (const auto& s : layout_.slots()) {
      if (s.shape.size() < 2) continue;  // biases start at 0
      const double fan_in = static_cast<double>(s.name.rfind("fc", 0) == 0 ? s.shape[0] : s.shape[1]);
      init_normal(params_, s, std::sqrt(2.0 / fan_in), r);
    }
  }

  const classifier_config& config() const { return cfg_; }
  const param_layout& layout() const { return layout_; }
  std::vector<T>& params() { return params_; }
  const std::vector<T>& params() const { return params_; }

  /// Logits [n x (n_shapes + n_styles)] of images x [n x 1 x S x S].
  row_matrix<T> forward(const fmap<T>& x, cache* c = nullptr) const {
    if (x.c != 1 || x.h != cfg_.size || x.w != cfg_.size)
      throw std::invalid_argument("toy_diffusion: classifier input shape");
    fmap<T> h1 = conv_forward(x, conv1(), P(conv1_w_), P(conv1_b_));
    fmap<T> p1 = avgpool2(silu(h1));
    fmap<T> h2 = conv_forward(p1, conv2(), P(conv2_w_), P(conv2_b_));
    fmap<T> p2 = avgpool2(silu(h2));
    row_matrix<T> flat = const_map_matrix<T>(p2.v.data(), x.n, static_cast<Eigen::Index>(flat_size()));
    row_matrix<T> z = linear_forward(flat, P(fc1_w_), P(fc1_b_), cfg_.hidden);
    row_matrix<T> a = silu(z);
    row_matrix<T> logits = linear_forward(a, P(fc2_w_), P(fc2_b_), n_shapes + n_styles);
    if (c)
      *c = cache{x,           std::move(h1), std::move(p1), std::move(h2), std::move(p2), std::move(flat), std::move(z),
                 std::move(a)};
    return logits;
  }

  /// Mean cross-entropy of both heads; with `grads`, adds its gradient (one forward inside).
  double loss(const fmap<T>& x, const std::vector<int>& shapes, const std::vector<int>& styles,
              std::vector<T>* grads) const {
    cache c;
    const row_matrix<T> logits = forward(x, grads ? &c : nullptr);
    row_matrix<T> dlogits = row_matrix<T>::Zero(logits.rows(), logits.cols());
    double total = 0;
    for (Eigen::Index i = 0; i < logits.rows(); ++i) {
      const auto si = static_cast<std::size_t>(i);
      total += head(logits, dlogits, i, 0, n_shapes, shapes[si]);
      total += head(logits, dlogits, i, n_shapes, n_styles, styles[si]);
    }
    const double n = static_cast<double>(logits.rows());
    if (grads) {
      dlogits /= static_cast<T>(n);
      backward(c, dlogits, *grads);
    }
    return total / n;
  }

  std::vector<judgement> classify(const fmap<T>& x) const {
    const row_matrix<T> logits = forward(x);
    std::vector<judgement> out(static_cast<std::size_t>(x.n));
    for (Eigen::Index i = 0; i < logits.rows(); ++i) {
      Eigen::Index s = 0, st = 0;
      logits.row(i).segment(0, n_shapes).maxCoeff(&s);
      logits.row(i).segment(n_shapes, n_styles).maxCoeff(&st);
      out[static_cast<std::size_t>(i)] = {static_cast<int>(s), static_cast<int>(st)};
    }
    return out;
  }

 private:
  std::uint64_t flat_size() const {
    return static_cast<std::uint64_t>(cfg_.c2) * static_cast<std::uint64_t>(cfg_.size / 4) *
           static_cast<std::uint64_t>(cfg_.size / 4);
  }
  conv_shape conv1() const { return {1, cfg_.c1, 3, 1, 1}; }
  conv_shape conv2() const { return {cfg_.c1, cfg_.c2, 3, 1, 1}; }
  const T* P(int slot) const { return params_.data() + layout_[slot].offset; }
  T* G(std::vector<T>& grads, int slot) const { return grads.data() + layout_[slot].offset; }

  /// Softmax cross-entropy of logits[row, first .. first + count) against `label`; writes the gradient.
  static double head(const row_matrix<T>& logits, row_matrix<T>& d, Eigen::Index row, int first, int count, int label) {
    double mx = -1e300;
    for (int k = 0; k < count; ++k) mx = std::max(mx, static_cast<double>(logits(row, first + k)));
    double z = 0;
    for (int k = 0; k < count; ++k) z += std::exp(static_cast<double>(logits(row, first + k)) - mx);
    for (int k = 0; k < count; ++k) {
      const double p = std::exp(static_cast<double>(logits(row, first + k)) - mx) / z;
      d(row, first + k) = static_cast<T>(p - (k == label ? 1.0 : 0.0));
    }
    return -(static_cast<double>(logits(row, first + label)) - mx - std::log(z));
  }

  void backward(const cache& c, const row_matrix<T>& dlogits, std::vector<T>& grads) const {
    const row_matrix<T> da = linear_backward(c.a, dlogits, P(fc2_w_), G(grads, fc2_w_), G(grads, fc2_b_));
    const row_matrix<T> dflat =
        linear_backward(c.flat, silu_backward(c.z, da), P(fc1_w_), G(grads, fc1_w_), G(grads, fc1_b_));
    fmap<T> dp2(c.p2.n, c.p2.c, c.p2.h, c.p2.w);
    map_matrix<T>(dp2.v.data(), dflat.rows(), dflat.cols()) = dflat;
    const fmap<T> dh2 = silu_backward(c.h2, avgpool2_backward(dp2));
    const fmap<T> dp1 = conv_backward(c.p1, dh2, conv2(), P(conv2_w_), G(grads, conv2_w_), G(grads, conv2_b_));
    const fmap<T> dh1 = silu_backward(c.h1, avgpool2_backward(dp1));
    conv_backward(c.x, dh1, conv1(), P(conv1_w_), G(grads, conv1_w_), G(grads, conv1_b_));
  }

  classifier_config cfg_;
  param_layout layout_;
  std::vector<T> params_;
  int conv1_w_ = 0, conv1_b_ = 0, conv2_w_ = 0, conv2_b_ = 0, fc1_w_ = 0, fc1_b_ = 0, fc2_w_ = 0, fc2_b_ = 0;
};

}  // namespace toy_diffusion
