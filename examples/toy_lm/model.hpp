#pragma once
/// The toy LM: a small decoder-only transformer written with Eigen, with named hook sites.
///
/// Block N (N from 0), with the norms placed as in Gemma 2 (before AND after each sublayer):
///   n = LN(h)            -> site blk.N.pre_attn_norm
///   o = Attn(n)          -> site blk.N.attn_out        (multi-head causal self-attention + output projection)
///   p = LN(o)            -> site blk.N.post_attn_norm
///   h = h + p
///   m = LN(h)            -> site blk.N.pre_mlp_norm
///   f = MLP(m)           -> site blk.N.mlp_out         (up projection, GELU, down projection)
///   q = LN(f)            -> site blk.N.post_mlp_norm
///   h = h + q
/// then logits = LN_final(h) W_unembed + b. Embeddings: token + learned position.
///
/// Row layout: a batch of B sequences padded to length T is a [B*T x d] row-major matrix whose row
/// b*T + t is token t of sequence b; it is valid when t < lengths[b] (batch::valid, batch::mask),
/// otherwise padding. Sequences are right-padded, and attention masks padding keys as well as future
/// ones, so valid rows never depend on padding rows.
///
/// Hooks: forward() calls hook(site, acts) at every site, in the order above, with the [B*T x d]
/// activations (padding rows included). The hook may read them (collection) or change them in place
/// (steering); the forward pass continues with the changed values.
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "rng.hpp"

namespace toy_lm {

template <class T>
using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using row_vector = Eigen::Matrix<T, 1, Eigen::Dynamic>;
template <class T>
using col_vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

/// hook(site, acts): acts is [rows x d_model], row-major, editable in place.
template <class T>
using hook_fn = std::function<void(std::string_view site, Eigen::Ref<matrix<T>> acts)>;

struct model_config {
  int vocab = 0;
  int d_model = 64;
  int n_layers = 4;
  int n_heads = 4;
  int d_ff = 256;
  int context = 48;  ///< longest sequence (position embeddings)

  void check() const {
    if (vocab < 5 || d_model < 1 || n_layers < 1 || n_heads < 1 || d_ff < 1 || context < 2 || d_model % n_heads != 0)
      throw std::invalid_argument("toy_lm: invalid model_config");
  }
};

/// The six site kinds of a block, in forward order.
inline const std::vector<std::string>& site_kinds() {
  static const std::vector<std::string> k = {"pre_attn_norm", "attn_out", "post_attn_norm",
                                             "pre_mlp_norm",  "mlp_out",  "post_mlp_norm"};
  return k;
}

/// "blk.N.kind"
inline std::string site_name(int block, std::string_view kind) {
  return "blk." + std::to_string(block) + "." + std::string(kind);
}

/// Every site name of a model with n_layers blocks, in the order the forward pass visits them.
inline std::vector<std::string> all_sites(int n_layers) {
  std::vector<std::string> s;
  for (int b = 0; b < n_layers; ++b)
    for (const auto& k : site_kinds()) s.push_back(site_name(b, k));
  return s;
}

/// One named tensor inside the flat parameter vector. Matrices are stored [in x out] (y = x W + b);
/// vectors as [1 x n].
struct tensor_slot {
  std::string name;
  std::size_t offset = 0;
  int rows = 0, cols = 0;
  std::size_t size() const { return static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols); }
};

/// Where every parameter lives in one flat vector, so that Adam, gradient checks and file I/O can
/// treat the model as a list of named tensors.
class parameter_layout {
 public:
  /// Indices into slots() of one block's tensors.
  struct block_slots {
    std::size_t norm_gain[4], norm_bias[4];  ///< pre_attn, post_attn, pre_mlp, post_mlp
    std::size_t qkv_w, qkv_b, out_w, out_b, up_w, up_b, down_w, down_b;
  };

  explicit parameter_layout(const model_config& c) {
    c.check();
    tok_emb = add("tok_emb", c.vocab, c.d_model);
    pos_emb = add("pos_emb", c.context, c.d_model);
    static const char* norms[4] = {"pre_attn_norm", "post_attn_norm", "pre_mlp_norm", "post_mlp_norm"};
    for (int b = 0; b < c.n_layers; ++b) {
      const std::string p = "blk." + std::to_string(b) + ".";
      block_slots s{};
      for (int i = 0; i < 4; ++i) {
        s.norm_gain[i] = add(p + norms[i] + ".weight", 1, c.d_model);
        s.norm_bias[i] = add(p + norms[i] + ".bias", 1, c.d_model);
      }
      s.qkv_w = add(p + "attn.qkv.weight", c.d_model, 3 * c.d_model);
      s.qkv_b = add(p + "attn.qkv.bias", 1, 3 * c.d_model);
      s.out_w = add(p + "attn.out.weight", c.d_model, c.d_model);
      s.out_b = add(p + "attn.out.bias", 1, c.d_model);
      s.up_w = add(p + "mlp.up.weight", c.d_model, c.d_ff);
      s.up_b = add(p + "mlp.up.bias", 1, c.d_ff);
      s.down_w = add(p + "mlp.down.weight", c.d_ff, c.d_model);
      s.down_b = add(p + "mlp.down.bias", 1, c.d_model);
      blocks.push_back(s);
    }
    final_gain = add("final_norm.weight", 1, c.d_model);
    final_bias = add("final_norm.bias", 1, c.d_model);
    unembed_w = add("unembed.weight", c.d_model, c.vocab);
    unembed_b = add("unembed.bias", 1, c.vocab);
  }

  const std::vector<tensor_slot>& slots() const { return slots_; }
  std::size_t size() const { return size_; }

  const tensor_slot& slot(std::string_view name) const {
    for (const auto& s : slots_)
      if (s.name == name) return s;
    throw std::out_of_range("toy_lm: no parameter named " + std::string(name));
  }

  std::size_t tok_emb = 0, pos_emb = 0, final_gain = 0, final_bias = 0, unembed_w = 0, unembed_b = 0;
  std::vector<block_slots> blocks;

 private:
  std::size_t add(std::string name, int rows, int cols) {
    slots_.push_back({std::move(name), size_, rows, cols});
    size_ += slots_.back().size();
    return slots_.size() - 1;
  }
  std::vector<tensor_slot> slots_;
  std::size_t size_ = 0;
};

/// B sequences right-padded to a common length T; see the row layout at the top of this file.
struct batch {
  int size = 0;              ///< B
  int length = 0;            ///< T
  std::vector<int> tokens;   ///< [B*T], row b*T + t; padding rows hold tokenizer::pad (0)
  std::vector<int> lengths;  ///< valid tokens of each sequence (>= 1)

  int rows() const { return size * length; }
  int sequence_of(int row) const { return row / length; }
  int position_of(int row) const { return row % length; }
  bool valid(int row) const { return position_of(row) < lengths[static_cast<std::size_t>(sequence_of(row))]; }
  /// 1 for valid rows, 0 for padding, one entry per row.
  std::vector<unsigned char> mask() const {
    std::vector<unsigned char> m(static_cast<std::size_t>(rows()));
    for (int r = 0; r < rows(); ++r) m[static_cast<std::size_t>(r)] = valid(r) ? 1 : 0;
    return m;
  }

  static batch from_sequences(const std::vector<std::vector<int>>& seqs) {
    batch b;
    b.size = static_cast<int>(seqs.size());
    for (const auto& s : seqs) {
      if (s.empty()) throw std::invalid_argument("toy_lm: empty sequence in batch");
      b.length = std::max(b.length, static_cast<int>(s.size()));
    }
    b.tokens.assign(static_cast<std::size_t>(b.rows()), 0);
    for (int i = 0; i < b.size; ++i) {
      const auto& s = seqs[static_cast<std::size_t>(i)];
      b.lengths.push_back(static_cast<int>(s.size()));
      std::copy(s.begin(), s.end(), b.tokens.begin() + static_cast<std::ptrdiff_t>(i) * b.length);
    }
    return b;
  }
};

/// What backpropagation needs from one block's forward pass (values after any hook edits).
template <class T>
struct block_cache {
  matrix<T> xhat[4];      ///< normalised inputs of the four norms
  col_vector<T> rstd[4];  ///< their 1/sqrt(var + eps)
  matrix<T> n1, qkv, att, n3, u, g;
  std::vector<matrix<T>> probs;  ///< attention weights per (sequence, head), [T x T]
};

template <class T>
struct forward_cache {
  std::vector<block_cache<T>> blocks;
  matrix<T> xhat_final, z;  ///< z = final norm output
  col_vector<T> rstd_final;
};

namespace internal {
constexpr double layer_norm_eps = 1e-5;

template <class T>
using const_map = Eigen::Map<const matrix<T>>;

/// y = gain * (x - mean) / sqrt(var + eps) + bias, per row; optionally keeps xhat and rstd.
template <class T>
void layer_norm(const matrix<T>& x, const const_map<T>& gain, const const_map<T>& bias, matrix<T>& y,
                matrix<T>* xhat_out, col_vector<T>* rstd_out) {
  const col_vector<T> mean = x.rowwise().mean();
  matrix<T> xhat = x.colwise() - mean;
  const col_vector<T> rstd =
      ((xhat.array().square().rowwise().sum() / T(x.cols())) + T(layer_norm_eps)).rsqrt().matrix();
  xhat.array().colwise() *= rstd.array();
  y = (xhat.array().rowwise() * gain.row(0).array()).rowwise() + bias.row(0).array();
  if (xhat_out) *xhat_out = std::move(xhat);
  if (rstd_out) *rstd_out = rstd;
}

template <class T>
T gelu(T u) {
  constexpr T c = T(0.7978845608028654);  // sqrt(2/pi)
  return T(0.5) * u * (T(1) + std::tanh(c * (u + T(0.044715) * u * u * u)));
}

template <class T>
T gelu_grad(T u) {
  constexpr T c = T(0.7978845608028654);
  const T t = std::tanh(c * (u + T(0.044715) * u * u * u));
  return T(0.5) * (T(1) + t) + T(0.5) * u * (T(1) - t * t) * c * (T(1) + T(3) * T(0.044715) * u * u);
}
}  // namespace internal

template <class T>
class transformer {
 public:
  using scalar = T;

  explicit transformer(const model_config& c) : config_(c), layout_(c), params_(layout_.size(), T(0)) {
    for (int b = 0; b < c.n_layers; ++b)
      for (const auto& k : site_kinds()) site_names_.push_back(site_name(b, k));
  }

  const model_config& config() const { return config_; }
  const parameter_layout& layout() const { return layout_; }
  std::vector<T>& params() { return params_; }
  const std::vector<T>& params() const { return params_; }
  std::size_t parameter_count() const { return params_.size(); }

  Eigen::Map<matrix<T>> tensor(std::size_t slot) {
    const auto& s = layout_.slots()[slot];
    return {params_.data() + s.offset, s.rows, s.cols};
  }
  Eigen::Map<const matrix<T>> tensor(std::size_t slot) const {
    const auto& s = layout_.slots()[slot];
    return {params_.data() + s.offset, s.rows, s.cols};
  }
  Eigen::Map<matrix<T>> tensor(std::string_view name) { return tensor(index_of(name)); }
  Eigen::Map<const matrix<T>> tensor(std::string_view name) const { return tensor(index_of(name)); }

  /// Seeded initialisation: unit norms, zero biases, weights N(0, 1/fan_in), embeddings N(0, 1).
  void init(std::uint64_t seed) {
    rng r(seed);
    for (std::size_t i = 0; i < layout_.slots().size(); ++i) {
      const auto& s = layout_.slots()[i];
      auto m = tensor(i);
      const bool is_vector = s.rows == 1;
      const bool is_gain = s.name.size() > 12 && s.name.find("norm.weight") != std::string::npos;
      if (is_gain) {
        m.setOnes();
      } else if (is_vector) {
        m.setZero();
      } else {
        const bool embedding = i == layout_.tok_emb || i == layout_.pos_emb;
        const double sd = embedding ? (i == layout_.tok_emb ? 1.0 : 0.5) : 1.0 / std::sqrt(double(s.rows));
        for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = T(sd * r.normal());
      }
    }
  }

  /// Logits [B*T x vocab]. Runs hook at every site; fills cache (for backprop) when given.
  matrix<T> forward(const batch& in, const hook_fn<T>& hook = {}, forward_cache<T>* cache = nullptr) const {
    if (in.length > config_.context) throw std::invalid_argument("toy_lm: sequence longer than the context");
    const int n = in.rows(), d = config_.d_model;
    matrix<T> h(n, d);
    const auto tok = tensor(layout_.tok_emb);
    const auto pos = tensor(layout_.pos_emb);
    for (int r = 0; r < n; ++r) {
      const int id = in.tokens[static_cast<std::size_t>(r)];
      if (id < 0 || id >= config_.vocab) throw std::out_of_range("toy_lm: token id out of range");
      h.row(r) = tok.row(id) + pos.row(in.position_of(r));
    }
    if (cache) cache->blocks.assign(static_cast<std::size_t>(config_.n_layers), block_cache<T>{});
    auto call = [&](int block, int kind, matrix<T>& acts) {
      if (hook) hook(site_names_[static_cast<std::size_t>(block * 6 + kind)], acts);
    };
    matrix<T> a, o, p;
    for (int b = 0; b < config_.n_layers; ++b) {
      const auto& s = layout_.blocks[static_cast<std::size_t>(b)];
      block_cache<T>* c = cache ? &cache->blocks[static_cast<std::size_t>(b)] : nullptr;
      auto norm = [&](int i, const matrix<T>& x, matrix<T>& y) {
        internal::layer_norm<T>(x, tensor(s.norm_gain[i]), tensor(s.norm_bias[i]), y, c ? &c->xhat[i] : nullptr,
                                c ? &c->rstd[i] : nullptr);
      };
      // Attention sublayer.
      norm(0, h, a);
      call(b, 0, a);
      matrix<T> qkv = a * tensor(s.qkv_w);
      qkv.rowwise() += tensor(s.qkv_b).row(0);
      matrix<T> att(n, d);
      attention(in, qkv, att, c ? &c->probs : nullptr);
      o = att * tensor(s.out_w);
      o.rowwise() += tensor(s.out_b).row(0);
      call(b, 1, o);
      norm(1, o, p);
      call(b, 2, p);
      h += p;
      if (c) {
        c->n1 = std::move(a);
        c->qkv = std::move(qkv);
        c->att = std::move(att);
      }
      // MLP sublayer.
      matrix<T> m;
      norm(2, h, m);
      call(b, 3, m);
      matrix<T> u = m * tensor(s.up_w);
      u.rowwise() += tensor(s.up_b).row(0);
      matrix<T> g = u.unaryExpr([](T v) { return internal::gelu(v); });
      matrix<T> f = g * tensor(s.down_w);
      f.rowwise() += tensor(s.down_b).row(0);
      call(b, 4, f);
      norm(3, f, p);
      call(b, 5, p);
      h += p;
      if (c) {
        c->n3 = std::move(m);
        c->u = std::move(u);
        c->g = std::move(g);
      }
    }
    matrix<T> z;
    internal::layer_norm<T>(h, tensor(layout_.final_gain), tensor(layout_.final_bias), z,
                            cache ? &cache->xhat_final : nullptr, cache ? &cache->rstd_final : nullptr);
    matrix<T> logits = z * tensor(layout_.unembed_w);
    logits.rowwise() += tensor(layout_.unembed_b).row(0);
    if (cache) cache->z = std::move(z);
    return logits;
  }

 private:
  std::size_t index_of(std::string_view name) const {
    for (std::size_t i = 0; i < layout_.slots().size(); ++i)
      if (layout_.slots()[i].name == name) return i;
    throw std::out_of_range("toy_lm: no parameter named " + std::string(name));
  }

  /// Causal multi-head attention per sequence; key j is visible to query i when j <= i and j is valid.
  void attention(const batch& in, const matrix<T>& qkv, matrix<T>& att, std::vector<matrix<T>>* probs_out) const {
    const int T_len = in.length, d = config_.d_model, H = config_.n_heads, dh = d / H;
    const T scale = T(1) / std::sqrt(T(dh));
    if (probs_out) probs_out->assign(static_cast<std::size_t>(in.size * H), matrix<T>());
    for (int b = 0; b < in.size; ++b) {
      const int len = in.lengths[static_cast<std::size_t>(b)];
      for (int hd = 0; hd < H; ++hd) {
        const auto q = qkv.block(b * T_len, hd * dh, T_len, dh);
        const auto k = qkv.block(b * T_len, d + hd * dh, T_len, dh);
        const auto v = qkv.block(b * T_len, 2 * d + hd * dh, T_len, dh);
        matrix<T> scores = (q * k.transpose()) * scale;
        for (int i = 0; i < T_len; ++i) {
          const int last = std::min(i, len - 1);  // len >= 1, so every row sees key 0
          T mx = scores(i, 0);
          for (int j = 1; j <= last; ++j) mx = std::max(mx, scores(i, j));
          T sum = 0;
          for (int j = 0; j <= last; ++j) sum += (scores(i, j) = std::exp(scores(i, j) - mx));
          for (int j = 0; j <= last; ++j) scores(i, j) /= sum;
          for (int j = last + 1; j < T_len; ++j) scores(i, j) = 0;
        }
        att.block(b * T_len, hd * dh, T_len, dh).noalias() = scores * v;
        if (probs_out) (*probs_out)[static_cast<std::size_t>(b * H + hd)] = std::move(scores);
      }
    }
  }

  model_config config_;
  parameter_layout layout_;
  std::vector<T> params_;
  std::vector<std::string> site_names_;
};

}  // namespace toy_lm
