#pragma once
/// The toy conditional denoiser: a small U-Net-like conv net predicting the flow-matching velocity.
///
///   cond = SiLU(W_t tfeat(t) + b_t + shape_emb[shape] + style_emb[style])        [n x E]
///   x0 = conv_in(x)                                   c1 x 16 x 16
///   d0 = block down.0 (x0)                            c1 x 16 x 16
///   d1 = block down.1 (conv stride 2 (d0))            c2 x  8 x  8
///   m  = block mid (d1)                               c2 x  8 x  8
///   u1 = block up.1 (m + d1)                          c2 x  8 x  8
///   u0 = block up.0 (conv1x1(upsample2(u1)) + d0)     c1 x 16 x 16
///   v  = conv_out(SiLU(GroupNorm(u0)))                 1 x 16 x 16
/// A block (residual): h = conv1(SiLU(GN1(x))) + proj(cond) per channel; a = GN2(h) -> hook site
/// "<block>.norm_out"; out = x + conv2(SiLU(a)). The prompt reaches the features only as per-channel
/// shifts (proj(cond)), and GroupNorm keeps per-channel means, so channel-spatial transport has the
/// handle it needs.
///
/// Hooks: forward() calls hook(site, acts) with the [n x C x H x W] GN2 output of each block in the
/// order down.0, down.1, mid, up.1, up.0; the hook may change acts in place.
#include <Eigen/Core>

#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dataset.hpp"
#include "layers.hpp"
#include "params.hpp"
#include "rng.hpp"

namespace toy_diffusion {

template <class T>
using hook_fn = std::function<void(std::string_view site, fmap<T>& acts)>;

struct denoiser_config {
  int size = image_size;  ///< image side (even)
  int c1 = 24;            ///< channels at full resolution
  int c2 = 48;            ///< channels at half resolution
  int groups = 8;         ///< GroupNorm groups (divides c1 and c2)
  int embed = 64;         ///< conditioning width E
  int freqs = 6;          ///< time features: sin and cos of pi 2^k t, k < freqs

  void check() const {
    if (size < 4 || size % 2 != 0 || c1 < 1 || c2 < 1 || groups < 1 || c1 % groups != 0 || c2 % groups != 0 ||
        embed < 1 || freqs < 1)
      throw std::invalid_argument("toy_diffusion: invalid denoiser_config");
  }
};

inline constexpr int n_blocks = 5;
inline const std::array<const char*, n_blocks>& block_names() {
  static const std::array<const char*, n_blocks> n = {"down.0", "down.1", "mid", "up.1", "up.0"};
  return n;
}
/// The hook sites in forward order.
inline std::vector<std::string> denoiser_sites() {
  std::vector<std::string> s;
  for (const char* b : block_names()) s.push_back(std::string(b) + ".norm_out");
  return s;
}

template <class T>
class denoiser {
 public:
  struct block_cache {
    fmap<T> a1, s1, a2, s2;
    group_norm_cache<T> g1, g2;
  };
  /// Everything backward() needs from one forward().
  struct cache {
    fmap<T> x;
    row_matrix<T> tfeat, pre, cond;
    std::vector<int> shapes, styles;
    fmap<T> x0, d0, d1, m, upx, u0, ao, so;
    std::array<block_cache, n_blocks> blocks;
    group_norm_cache<T> gout;
  };

  explicit denoiser(denoiser_config cfg = {}, std::uint64_t seed = 1) : cfg_(cfg) {
    cfg_.check();
    const auto E = static_cast<std::uint64_t>(cfg_.embed);
    const auto c1 = static_cast<std::uint64_t>(cfg_.c1), c2 = static_cast<std::uint64_t>(cfg_.c2);
    time_w_ = layout_.add("time.weight", {static_cast<std::uint64_t>(2 * cfg_.freqs), E});
    time_b_ = layout_.add("time.bias", {E});
    shape_emb_ = layout_.add("shape_emb", {n_shapes, E});
    style_emb_ = layout_.add("style_emb", {n_styles + 1, E});
    conv_in_w_ = layout_.add("conv_in.weight", {c1, 9});
    conv_in_b_ = layout_.add("conv_in.bias", {c1});
    for (int b = 0; b < n_blocks; ++b) {
      const std::uint64_t C = block_channels(b);
      const std::string n = block_names()[static_cast<std::size_t>(b)];
      block_ids& B = blocks_[static_cast<std::size_t>(b)];
      B.gn1_g = layout_.add(n + ".norm1.weight", {C});
      B.gn1_b = layout_.add(n + ".norm1.bias", {C});
      B.conv1_w = layout_.add(n + ".conv1.weight", {C, C * 9});
      B.conv1_b = layout_.add(n + ".conv1.bias", {C});
      B.proj_w = layout_.add(n + ".cond.weight", {E, C});
      B.proj_b = layout_.add(n + ".cond.bias", {C});
      B.gn2_g = layout_.add(n + ".norm2.weight", {C});
      B.gn2_b = layout_.add(n + ".norm2.bias", {C});
      B.conv2_w = layout_.add(n + ".conv2.weight", {C, C * 9});
      B.conv2_b = layout_.add(n + ".conv2.bias", {C});
      if (b == 0) {
        down_w_ = layout_.add("down.weight", {c2, c1 * 9});
        down_b_ = layout_.add("down.bias", {c2});
      }
      if (b == 3) {
        up_w_ = layout_.add("up.weight", {c1, c2});
        up_b_ = layout_.add("up.bias", {c1});
      }
    }
    out_g_ = layout_.add("out.norm.weight", {c1});
    out_b_ = layout_.add("out.norm.bias", {c1});
    conv_out_w_ = layout_.add("conv_out.weight", {1, c1 * 9});
    conv_out_b_ = layout_.add("conv_out.bias", {1});
    init(seed);
  }

  const denoiser_config& config() const { return cfg_; }
  const param_layout& layout() const { return layout_; }
  std::vector<T>& params() { return params_; }
  const std::vector<T>& params() const { return params_; }

  /// He-style initialisation; each block's second conv starts small so blocks begin near identity.
  void init(std::uint64_t seed) {
    params_.assign(layout_.total(), T(0));
    rng r(seed);
    for (const auto& s : layout_.slots()) {
      const std::string& n = s.name;
      const bool is_bias = n.size() >= 4 && n.compare(n.size() - 4, 4, "bias") == 0;
      if (n.find("norm") != std::string::npos) {
        init_constant(params_, s, is_bias ? 0.0 : 1.0);
      } else if (is_bias) {
        init_constant(params_, s, 0.0);
      } else if (n == "shape_emb" || n == "style_emb") {
        init_normal(params_, s, 1.0, r);
      } else {
        const double fan_in = static_cast<double>(
            n.find("cond") != std::string::npos || n.find("time") != std::string::npos ? s.shape[0] : s.shape[1]);
        const double gain = n.find("conv2") != std::string::npos || n.find("conv_out") != std::string::npos ? 0.2 : 1.0;
        init_normal(params_, s, gain * std::sqrt(2.0 / fan_in), r);
      }
    }
  }

  int block_channels(int b) const { return (b == 0 || b == n_blocks - 1) ? cfg_.c1 : cfg_.c2; }

  /// Velocity prediction for noisy images x [n x 1 x S x S] at times t (one per image) and prompts.
  /// `hook` may be empty; `c` (when given) receives what backward() needs.
  fmap<T> forward(const fmap<T>& x, const std::vector<T>& t, const std::vector<prompt>& prompts, const hook_fn<T>& hook,
                  cache* c = nullptr) const {
    const int n = x.n;
    if (x.c != 1 || x.h != cfg_.size || x.w != cfg_.size || static_cast<int>(t.size()) != n ||
        static_cast<int>(prompts.size()) != n)
      throw std::invalid_argument("toy_diffusion: denoiser input shape");
    row_matrix<T> tfeat = time_features(t);
    row_matrix<T> pre = linear_forward(tfeat, P(time_w_), P(time_b_), cfg_.embed);
    for (int i = 0; i < n; ++i) {
      const prompt& p = prompts[static_cast<std::size_t>(i)];
      if (p.shape < 0 || p.shape >= n_shapes || p.style < 0 || p.style > n_styles)
        throw std::invalid_argument("toy_diffusion: prompt out of range");
      pre.row(i) +=
          Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(P(shape_emb_) + p.shape * cfg_.embed, cfg_.embed);
      pre.row(i) +=
          Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(P(style_emb_) + p.style * cfg_.embed, cfg_.embed);
    }
    row_matrix<T> cond = silu(pre);

    fmap<T> x0 = conv_forward(x, conv_in(), P(conv_in_w_), P(conv_in_b_));
    fmap<T> d0 = block_forward(0, x0, cond, hook, c);
    fmap<T> d1 = block_forward(1, conv_forward(d0, down(), P(down_w_), P(down_b_)), cond, hook, c);
    fmap<T> m = block_forward(2, d1, cond, hook, c);
    fmap<T> u1in = m;
    add(u1in, d1);
    fmap<T> u1 = block_forward(3, u1in, cond, hook, c);
    fmap<T> upx = upsample2(u1);
    fmap<T> u0in = conv_forward(upx, up(), P(up_w_), P(up_b_));
    add(u0in, d0);
    fmap<T> u0 = block_forward(4, u0in, cond, hook, c);
    fmap<T> ao = group_norm_forward(u0, cfg_.groups, P(out_g_), P(out_b_), c ? &c->gout : nullptr);
    fmap<T> so = silu(ao);
    fmap<T> out = conv_forward(so, conv_out(), P(conv_out_w_), P(conv_out_b_));
    if (c) {
      c->x = x;
      c->tfeat = std::move(tfeat);
      c->pre = std::move(pre);
      c->cond = std::move(cond);
      c->shapes.clear();
      c->styles.clear();
      for (const auto& p : prompts) {
        c->shapes.push_back(p.shape);
        c->styles.push_back(p.style);
      }
      c->x0 = std::move(x0);
      c->d0 = std::move(d0);
      c->d1 = std::move(d1);
      c->m = std::move(m);
      c->upx = std::move(upx);
      c->u0 = std::move(u0);
      c->ao = std::move(ao);
      c->so = std::move(so);
    }
    return out;
  }

  /// Adds d loss / d params into `grads` (same layout as params()), given d loss / d output.
  void backward(const cache& c, const fmap<T>& dout, std::vector<T>& grads) const {
    if (grads.size() != params_.size()) throw std::invalid_argument("toy_diffusion: gradient size");
    row_matrix<T> dcond = row_matrix<T>::Zero(c.cond.rows(), c.cond.cols());
    fmap<T> dso = conv_backward(c.so, dout, conv_out(), P(conv_out_w_), G(grads, conv_out_w_), G(grads, conv_out_b_));
    fmap<T> du0 = group_norm_backward(silu_backward(c.ao, dso), cfg_.groups, P(out_g_), c.gout, G(grads, out_g_),
                                      G(grads, out_b_));
    fmap<T> du0in = block_backward(4, c, du0, dcond, grads);
    fmap<T> dd0 = du0in;  // skip into up.0
    fmap<T> dupx = conv_backward(c.upx, du0in, up(), P(up_w_), G(grads, up_w_), G(grads, up_b_));
    fmap<T> du1in = block_backward(3, c, upsample2_backward(dupx), dcond, grads);
    fmap<T> dd1 = block_backward(2, c, du1in, dcond, grads);
    add(dd1, du1in);  // skip into up.1
    fmap<T> dx1 = block_backward(1, c, dd1, dcond, grads);
    add(dd0, conv_backward(c.d0, dx1, down(), P(down_w_), G(grads, down_w_), G(grads, down_b_)));
    fmap<T> dx0 = block_backward(0, c, dd0, dcond, grads);
    conv_backward(c.x, dx0, conv_in(), P(conv_in_w_), G(grads, conv_in_w_), G(grads, conv_in_b_));
    const row_matrix<T> dpre = silu_backward(c.pre, dcond);
    linear_backward(c.tfeat, dpre, P(time_w_), G(grads, time_w_), G(grads, time_b_));
    for (Eigen::Index i = 0; i < dpre.rows(); ++i) {
      const auto si = static_cast<std::size_t>(i);
      Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>>(G(grads, shape_emb_) + c.shapes[si] * cfg_.embed, cfg_.embed) +=
          dpre.row(i);
      Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>>(G(grads, style_emb_) + c.styles[si] * cfg_.embed, cfg_.embed) +=
          dpre.row(i);
    }
  }

 private:
  struct block_ids {
    int gn1_g, gn1_b, conv1_w, conv1_b, proj_w, proj_b, gn2_g, gn2_b, conv2_w, conv2_b;
  };

  const T* P(int slot) const { return params_.data() + layout_[slot].offset; }
  T* G(std::vector<T>& grads, int slot) const { return grads.data() + layout_[slot].offset; }

  conv_shape conv_in() const { return {1, cfg_.c1, 3, 1, 1}; }
  conv_shape down() const { return {cfg_.c1, cfg_.c2, 3, 2, 1}; }
  conv_shape up() const { return {cfg_.c2, cfg_.c1, 1, 1, 0}; }
  conv_shape conv_out() const { return {cfg_.c1, 1, 3, 1, 1}; }

  static void add(fmap<T>& a, const fmap<T>& b) {
    for (std::size_t k = 0; k < a.v.size(); ++k) a.v[k] += b.v[k];
  }

  row_matrix<T> time_features(const std::vector<T>& t) const {
    row_matrix<T> f(static_cast<Eigen::Index>(t.size()), 2 * cfg_.freqs);
    for (std::size_t i = 0; i < t.size(); ++i)
      for (int k = 0; k < cfg_.freqs; ++k) {
        const double a = 3.141592653589793 * std::ldexp(1.0, k) * static_cast<double>(t[i]);
        f(static_cast<Eigen::Index>(i), k) = static_cast<T>(std::sin(a));
        f(static_cast<Eigen::Index>(i), cfg_.freqs + k) = static_cast<T>(std::cos(a));
      }
    return f;
  }

  fmap<T> block_forward(int b, const fmap<T>& x, const row_matrix<T>& cond, const hook_fn<T>& hook, cache* c) const {
    const block_ids& B = blocks_[static_cast<std::size_t>(b)];
    const int C = block_channels(b);
    const conv_shape cs{C, C, 3, 1, 1};
    block_cache* bc = c ? &c->blocks[static_cast<std::size_t>(b)] : nullptr;
    fmap<T> a1 = group_norm_forward(x, cfg_.groups, P(B.gn1_g), P(B.gn1_b), bc ? &bc->g1 : nullptr);
    fmap<T> s1 = silu(a1);
    fmap<T> h = conv_forward(s1, cs, P(B.conv1_w), P(B.conv1_b));
    const row_matrix<T> proj = linear_forward(cond, P(B.proj_w), P(B.proj_b), C);
    const int p = h.positions();
    for (int i = 0; i < h.n; ++i)
      for (int ch = 0; ch < C; ++ch) {
        T* q = h.image(i) + static_cast<std::size_t>(ch) * p;
        for (int k = 0; k < p; ++k) q[k] += proj(i, ch);
      }
    fmap<T> a2 = group_norm_forward(h, cfg_.groups, P(B.gn2_g), P(B.gn2_b), bc ? &bc->g2 : nullptr);
    if (hook) hook(std::string(block_names()[static_cast<std::size_t>(b)]) + ".norm_out", a2);
    fmap<T> s2 = silu(a2);
    fmap<T> out = conv_forward(s2, cs, P(B.conv2_w), P(B.conv2_b));
    add(out, x);
    if (bc) {
      bc->a1 = std::move(a1);
      bc->s1 = std::move(s1);
      bc->a2 = std::move(a2);
      bc->s2 = std::move(s2);
    }
    return out;
  }

  /// Returns d loss / d block input; adds into dcond and grads.
  fmap<T> block_backward(int b, const cache& c, const fmap<T>& dout, row_matrix<T>& dcond,
                         std::vector<T>& grads) const {
    const block_ids& B = blocks_[static_cast<std::size_t>(b)];
    const block_cache& bc = c.blocks[static_cast<std::size_t>(b)];
    const int C = block_channels(b);
    const conv_shape cs{C, C, 3, 1, 1};
    fmap<T> ds2 = conv_backward(bc.s2, dout, cs, P(B.conv2_w), G(grads, B.conv2_w), G(grads, B.conv2_b));
    fmap<T> dh = group_norm_backward(silu_backward(bc.a2, ds2), cfg_.groups, P(B.gn2_g), bc.g2, G(grads, B.gn2_g),
                                     G(grads, B.gn2_b));
    row_matrix<T> dproj(dh.n, C);
    const int p = dh.positions();
    for (int i = 0; i < dh.n; ++i)
      for (int ch = 0; ch < C; ++ch) {
        const T* q = dh.image(i) + static_cast<std::size_t>(ch) * p;
        T s = 0;
        for (int k = 0; k < p; ++k) s += q[k];
        dproj(i, ch) = s;
      }
    dcond += linear_backward(c.cond, dproj, P(B.proj_w), G(grads, B.proj_w), G(grads, B.proj_b));
    fmap<T> ds1 = conv_backward(bc.s1, dh, cs, P(B.conv1_w), G(grads, B.conv1_w), G(grads, B.conv1_b));
    fmap<T> dx = group_norm_backward(silu_backward(bc.a1, ds1), cfg_.groups, P(B.gn1_g), bc.g1, G(grads, B.gn1_g),
                                     G(grads, B.gn1_b));
    add(dx, dout);
    return dx;
  }

  denoiser_config cfg_;
  param_layout layout_;
  std::vector<T> params_;
  std::array<block_ids, n_blocks> blocks_{};
  int time_w_ = 0, time_b_ = 0, shape_emb_ = 0, style_emb_ = 0, conv_in_w_ = 0, conv_in_b_ = 0;
  int down_w_ = 0, down_b_ = 0, up_w_ = 0, up_b_ = 0, out_g_ = 0, out_b_ = 0, conv_out_w_ = 0, conv_out_b_ = 0;
};

}  // namespace toy_diffusion
