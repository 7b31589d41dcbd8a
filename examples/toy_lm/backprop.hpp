#pragma once
/// Next-token cross-entropy and its gradient with respect to every parameter, by hand.
/// Training never installs hooks; were one to edit activations, the gradient would treat the edit
/// as a constant shift.
#include <Eigen/Core>

#include <cmath>
#include <vector>

#include "model.hpp"

namespace toy_lm {

namespace internal {
template <class T>
Eigen::Map<matrix<T>> grad_map(std::vector<T>& g, const parameter_layout& l, std::size_t slot) {
  const auto& s = l.slots()[slot];
  return {g.data() + s.offset, s.rows, s.cols};
}

/// Backward of y = gain * xhat + bias, xhat = (x - mean) * rstd: accumulates the gain and bias
/// gradients and returns dL/dx.
template <class T>
matrix<T> layer_norm_backward(const matrix<T>& dy, const matrix<T>& xhat, const col_vector<T>& rstd,
                              const Eigen::Map<const matrix<T>>& gain, Eigen::Map<matrix<T>> dgain,
                              Eigen::Map<matrix<T>> dbias) {
  dgain.row(0) += (dy.array() * xhat.array()).colwise().sum().matrix();
  dbias.row(0) += dy.colwise().sum();
  const matrix<T> dxhat = (dy.array().rowwise() * gain.row(0).array()).matrix();
  const col_vector<T> mean_d = dxhat.rowwise().mean();
  const col_vector<T> mean_dx = (dxhat.array() * xhat.array()).rowwise().mean().matrix();
  matrix<T> dx = dxhat.colwise() - mean_d;
  dx.array() -= xhat.array().colwise() * mean_dx.array();
  dx.array().colwise() *= rstd.array();
  return dx;
}
}  // namespace internal

/// Row r of a batch predicts token r+1 of its sequence when that token is valid.
inline int count_targets(const batch& in) {
  int n = 0;
  for (int b = 0; b < in.size; ++b) n += in.lengths[static_cast<std::size_t>(b)] - 1;
  return n;
}

/// Mean next-token cross-entropy over the batch's targets; when grad is given it is resized to the
/// parameter count and set to the gradient of that mean.
template <class T>
T loss_and_gradient(const transformer<T>& model, const batch& in, std::vector<T>* grad) {
  const auto& cfg = model.config();
  const auto& lay = model.layout();
  forward_cache<T> cache;
  const matrix<T> logits = model.forward(in, {}, grad ? &cache : nullptr);
  const int n = in.rows(), d = cfg.d_model, V = cfg.vocab, L = in.length;
  const int targets = count_targets(in);
  if (targets == 0) {
    if (grad) grad->assign(model.parameter_count(), T(0));
    return T(0);
  }
  matrix<T> dlogits = matrix<T>::Zero(n, V);
  double loss = 0;
  for (int r = 0; r < n; ++r) {
    const int t = in.position_of(r);
    if (t + 1 >= in.lengths[static_cast<std::size_t>(in.sequence_of(r))]) continue;
    const int target = in.tokens[static_cast<std::size_t>(r + 1)];
    const T mx = logits.row(r).maxCoeff();
    const row_vector<T> e = (logits.row(r).array() - mx).exp().matrix();
    const T sum = e.sum();
    loss += double(std::log(sum) - (logits(r, target) - mx));
    dlogits.row(r) = e / sum;
    dlogits(r, target) -= T(1);
  }
  if (!grad) return T(loss / targets);
  dlogits /= T(targets);

  grad->assign(model.parameter_count(), T(0));
  auto g = [&](std::size_t slot) { return internal::grad_map(*grad, lay, slot); };
  auto w = [&](std::size_t slot) { return model.tensor(slot); };

  g(lay.unembed_w).noalias() += cache.z.transpose() * dlogits;
  g(lay.unembed_b).row(0) += dlogits.colwise().sum();
  matrix<T> dz = dlogits * w(lay.unembed_w).transpose();
  matrix<T> dh = internal::layer_norm_backward<T>(dz, cache.xhat_final, cache.rstd_final, w(lay.final_gain),
                                                  g(lay.final_gain), g(lay.final_bias));

  const int H = cfg.n_heads, dh_size = d / H;
  const T scale = T(1) / std::sqrt(T(dh_size));
  for (int b = cfg.n_layers - 1; b >= 0; --b) {
    const auto& s = lay.blocks[static_cast<std::size_t>(b)];
    const auto& c = cache.blocks[static_cast<std::size_t>(b)];
    auto norm_back = [&](int i, const matrix<T>& dy) {
      return internal::layer_norm_backward<T>(dy, c.xhat[i], c.rstd[i], w(s.norm_gain[i]), g(s.norm_gain[i]),
                                              g(s.norm_bias[i]));
    };
    // MLP sublayer: h_out = h_mid + LN(f).
    const matrix<T> df = norm_back(3, dh);
    g(s.down_w).noalias() += c.g.transpose() * df;
    g(s.down_b).row(0) += df.colwise().sum();
    matrix<T> du = df * w(s.down_w).transpose();
    du.array() *= c.u.unaryExpr([](T v) { return internal::gelu_grad(v); }).array();
    g(s.up_w).noalias() += c.n3.transpose() * du;
    g(s.up_b).row(0) += du.colwise().sum();
    const matrix<T> dn3 = du * w(s.up_w).transpose();
    dh += norm_back(2, dn3);
    // Attention sublayer: h_mid = h_in + LN(o).
    const matrix<T> d_o = norm_back(1, dh);
    g(s.out_w).noalias() += c.att.transpose() * d_o;
    g(s.out_b).row(0) += d_o.colwise().sum();
    const matrix<T> datt = d_o * w(s.out_w).transpose();
    matrix<T> dqkv = matrix<T>::Zero(n, 3 * d);
    for (int seq = 0; seq < in.size; ++seq) {
      for (int hd = 0; hd < H; ++hd) {
        const matrix<T>& p = c.probs[static_cast<std::size_t>(seq * H + hd)];
        const auto q = c.qkv.block(seq * L, hd * dh_size, L, dh_size);
        const auto k = c.qkv.block(seq * L, d + hd * dh_size, L, dh_size);
        const auto v = c.qkv.block(seq * L, 2 * d + hd * dh_size, L, dh_size);
        const auto dout = datt.block(seq * L, hd * dh_size, L, dh_size);
        dqkv.block(seq * L, 2 * d + hd * dh_size, L, dh_size).noalias() = p.transpose() * dout;
        const matrix<T> dp = dout * v.transpose();
        const col_vector<T> row_dot = (p.array() * dp.array()).rowwise().sum().matrix();
        const matrix<T> ds = (p.array() * (dp.colwise() - row_dot).array()).matrix() * scale;
        dqkv.block(seq * L, hd * dh_size, L, dh_size).noalias() = ds * k;
        dqkv.block(seq * L, d + hd * dh_size, L, dh_size).noalias() = ds.transpose() * q;
      }
    }
    g(s.qkv_w).noalias() += c.n1.transpose() * dqkv;
    g(s.qkv_b).row(0) += dqkv.colwise().sum();
    const matrix<T> dn1 = dqkv * w(s.qkv_w).transpose();
    dh += norm_back(0, dn1);
  }
  auto dtok = g(lay.tok_emb);
  auto dpos = g(lay.pos_emb);
  for (int r = 0; r < n; ++r) {
    dtok.row(in.tokens[static_cast<std::size_t>(r)]) += dh.row(r);
    dpos.row(in.position_of(r)) += dh.row(r);
  }
  return T(loss / targets);
}

}  // namespace toy_lm
