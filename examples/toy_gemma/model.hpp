#pragma once
/// The toy Gemma: a small model of llama.cpp's gemma3 architecture, run in act's own engine (Eigen).
///
/// Block N (N from 0), as llama.cpp's gemma3 graph computes it; hook sites carry the names llama.cpp
/// gives the same graph tensors, so one map file steers both engines:
///   a = RMSNorm(h) * attn_norm                          -> site attn_norm-N
///   q, k, v = a Wq, a Wk, a Wv; q, k RMS-normed per head (attn_q_norm, attn_k_norm), rotated (RoPE,
///   NeoX pairing), q scaled by 1/sqrt(head_dim); causal softmax attention per head
///   o = heads Wo                                        -> site attn_out-N
///   p = RMSNorm(o) * post_attention_norm                -> site attn_post_norm-N
///   s = h + p                                           -> site sa_out-N
///   m = RMSNorm(s) * ffn_norm                           -> site ffn_norm-N
///   f = (gelu(m Wgate) * (m Wup)) Wdown                 -> site ffn_out-N
///   r = RMSNorm(f) * post_ffw_norm                      -> site ffn_post_norm-N
///   h = s + r                                           -> site l_out-N
/// with h = token_embd[id] * sqrt(d_model) before block 0, and logits = (RMSNorm(h) * output_norm)
/// token_embd^T (tied output), result_norm being the site of the normed final state.
///
/// Two details follow llama.cpp's CPU backend rather than textbook maths: gelu goes through half
/// precision (ggml looks the tanh-form gelu of the half-rounded input up in a table of half values;
/// beyond |x| >= 10 it is 0 or x), and RoPE angles are accumulated in float as ggml does. The engines
/// then agree to float rounding up to the first gelu; there an input a float rounding away from
/// ggml's (its matrix products sum in another order) can round to the neighbouring half value, so
/// logits agree to a few 1e-3, not to float rounding.
///
/// The weights are a GGUF file of F32 tensors with llama.cpp's gemma3 names and shapes; the same file
/// loads in llama.cpp. Batches and hooks are toy_lm's (right-padded rows, hook(site, acts)).
#include <act/io/gguf.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "../toy_lm/model.hpp"

namespace toy_gemma {

using toy_lm::batch;
using toy_lm::hook_fn;
using toy_lm::matrix;

struct model_config {
  int vocab = 0;
  int d_model = 64;
  int n_layers = 4;
  int n_heads = 4;
  int head_dim = 16;
  int d_ff = 256;
  int context = 48;  ///< longest sequence trained on
  float rms_eps = 1e-6f;
  float rope_base = 10000.0f;
};

/// The sites of block N in forward order (llama.cpp's graph tensor names without the "-N").
inline const std::vector<std::string>& site_kinds() {
  static const std::vector<std::string> k = {"attn_norm", "attn_out", "attn_post_norm", "sa_out",
                                             "ffn_norm",  "ffn_out",  "ffn_post_norm",  "l_out"};
  return k;
}

/// "kind-N", as llama.cpp names the tensor of block N.
inline std::string site_name(std::string_view kind, int block) {
  return std::string(kind) + "-" + std::to_string(block);
}

namespace detail {

/// IEEE half rounding (round to nearest even) of a float, as ggml's FP32->FP16 conversion; the result
/// back in float.
inline float round_to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint32_t sign = x & 0x80000000u;
  std::uint32_t a = x & 0x7fffffffu;
  std::uint16_t h;
  if (a >= 0x7f800000u) {
    h = static_cast<std::uint16_t>(a > 0x7f800000u ? 0x7e00u : 0x7c00u);
  } else if (a >= 0x477ff000u) {  // rounds to infinity
    h = 0x7c00u;
  } else if (a < 0x38800000u) {                  // subnormal half (or zero)
    const float v = std::fabs(f) * 16777216.0f;  // units of 2^-24
    h = static_cast<std::uint16_t>(std::nearbyint(v));
  } else {
    const std::uint32_t mant = a & 0x1fffu;
    std::uint32_t r = (a - 0x38000000u) >> 13;
    if (mant > 0x1000u || (mant == 0x1000u && (r & 1u))) ++r;
    h = static_cast<std::uint16_t>(r);
  }
  // Back to float.
  const std::uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  float out;
  if (e == 0) {
    out = std::ldexp(static_cast<float>(m), -24);
  } else if (e == 31) {
    out = m ? std::nanf("") : INFINITY;
  } else {
    const std::uint32_t bits = ((e + 112u) << 23) | (m << 13);
    std::memcpy(&out, &bits, 4);
  }
  return sign ? -out : out;
}

/// ggml's gelu on the CPU backend: the tanh form evaluated at the half-rounded input, rounded to half.
inline float gelu(float x) {
  if (x <= -10.0f) return 0.0f;
  if (x >= 10.0f) return x;
  const float xh = round_to_half(x);
  // 1 + a x^2 as one fused multiply-add, as ggml's x86-64 build (FMA on) computes its table.
  const float g =
      0.5f * xh * (1.0f + std::tanh(0.79788456080286535587989211986876f * xh * std::fma(0.044715f * xh, xh, 1.0f)));
  return round_to_half(g);
}

/// y = x / sqrt(mean(x^2) + eps) * w per row, the mean summed in double as ggml does.
inline void rms_norm(const matrix<float>& x, const Eigen::Ref<const Eigen::RowVectorXf>& w, float eps,
                     matrix<float>& y) {
  y.resize(x.rows(), x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    double sum = 0;
    for (Eigen::Index c = 0; c < x.cols(); ++c) sum += static_cast<double>(x(r, c) * x(r, c));
    const float mean = static_cast<float>(sum / static_cast<double>(x.cols()));
    const float scale = 1.0f / std::sqrt(mean + eps);
    y.row(r) = (x.row(r) * scale).cwiseProduct(w);
  }
}

}  // namespace detail

/// The model: config and named weights (each stored as ggml lays it out: a [rows x row_length]
/// row-major matrix, rows being ggml's ne[1]).
class model {
 public:
  using scalar = float;

  model(model_config c, std::map<std::string, matrix<float>> weights) : config_(c), w_(std::move(weights)) {
    for (int b = 0; b < c.n_layers; ++b)
      for (const auto& k : site_kinds()) sites_.push_back(site_name(k, b));
    check_shapes();
  }

  const model_config& config() const { return config_; }
  const matrix<float>& weight(const std::string& name) const {
    const auto it = w_.find(name);
    if (it == w_.end()) throw std::out_of_range("toy_gemma: no tensor named " + name);
    return it->second;
  }

  /// Logits [B*T x vocab]; hook called at every site (see the file comment) with [B*T x d_model] rows.
  matrix<float> forward(const batch& in, const hook_fn<float>& hook = {}) const {
    if (in.length > config_.context) throw std::invalid_argument("toy_gemma: sequence longer than the context");
    const int n = in.rows(), d = config_.d_model;
    const matrix<float>& emb = weight("token_embd.weight");
    const float emb_scale = std::sqrt(static_cast<float>(d));
    matrix<float> h(n, d);
    for (int r = 0; r < n; ++r) {
      const int id = in.tokens[static_cast<std::size_t>(r)];
      if (id < 0 || id >= config_.vocab) throw std::out_of_range("toy_gemma: token id out of range");
      h.row(r) = emb.row(id) * emb_scale;
    }
    std::size_t site = 0;
    auto call = [&](matrix<float>& acts) {
      if (hook) hook(sites_[site], acts);
      ++site;
    };
    matrix<float> a, o, p, m, f;
    for (int b = 0; b < config_.n_layers; ++b) {
      const std::string pre = "blk." + std::to_string(b) + ".";
      const auto vec = [&](const char* name) {
        return Eigen::Ref<const Eigen::RowVectorXf>(weight(pre + name).row(0));
      };
      detail::rms_norm(h, vec("attn_norm.weight"), config_.rms_eps, a);
      call(a);
      o = attention(in, a, pre) * weight(pre + "attn_output.weight").transpose();
      call(o);
      detail::rms_norm(o, vec("post_attention_norm.weight"), config_.rms_eps, p);
      call(p);
      h += p;
      call(h);
      detail::rms_norm(h, vec("ffn_norm.weight"), config_.rms_eps, m);
      call(m);
      matrix<float> gate = m * weight(pre + "ffn_gate.weight").transpose();
      const matrix<float> up = m * weight(pre + "ffn_up.weight").transpose();
      gate = gate.unaryExpr([](float x) { return detail::gelu(x); }).cwiseProduct(up);
      f = gate * weight(pre + "ffn_down.weight").transpose();
      call(f);
      detail::rms_norm(f, vec("post_ffw_norm.weight"), config_.rms_eps, p);
      call(p);
      h += p;
      call(h);
    }
    matrix<float> z;
    detail::rms_norm(h, weight("output_norm.weight").row(0), config_.rms_eps, z);
    if (hook) hook("result_norm", z);
    return z * emb.transpose();
  }

 private:
  /// Multi-head causal attention of the normed rows `a`; key j is visible to query i when j <= i and j
  /// is a valid token of the sequence. Returns the heads side by side, [rows x n_heads*head_dim].
  matrix<float> attention(const batch& in, const matrix<float>& a, const std::string& pre) const {
    const int T = in.length, H = config_.n_heads, dh = config_.head_dim;
    matrix<float> q = a * weight(pre + "attn_q.weight").transpose();
    matrix<float> k = a * weight(pre + "attn_k.weight").transpose();
    const matrix<float> v = a * weight(pre + "attn_v.weight").transpose();
    const Eigen::RowVectorXf qn = weight(pre + "attn_q_norm.weight").row(0),
                             kn = weight(pre + "attn_k_norm.weight").row(0);
    const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
    for (Eigen::Index r = 0; r < q.rows(); ++r) {
      const int pos = in.position_of(static_cast<int>(r));
      for (int hd = 0; hd < H; ++hd) {
        for (matrix<float>* x : {&q, &k}) {
          matrix<float> head = x->block(r, hd * dh, 1, dh), normed;
          detail::rms_norm(head, x == &q ? qn : kn, config_.rms_eps, normed);
          rope(normed, pos);
          if (x == &q) normed *= scale;
          x->block(r, hd * dh, 1, dh) = normed;
        }
      }
    }
    matrix<float> out(a.rows(), H * dh);
    for (int s = 0; s < in.size; ++s) {
      const int len = in.lengths[static_cast<std::size_t>(s)];
      for (int hd = 0; hd < H; ++hd) {
        const auto qs = q.block(s * T, hd * dh, T, dh);
        const auto ks = k.block(s * T, hd * dh, T, dh);
        const auto vs = v.block(s * T, hd * dh, T, dh);
        matrix<float> scores = qs * ks.transpose();
        for (int i = 0; i < T; ++i) {
          const int last = std::min(i, len - 1);
          float mx = scores(i, 0);
          for (int j = 1; j <= last; ++j) mx = std::max(mx, scores(i, j));
          double sum = 0;
          for (int j = 0; j <= last; ++j) sum += (scores(i, j) = std::exp(scores(i, j) - mx));
          const float inv = static_cast<float>(1.0 / sum);
          for (int j = 0; j <= last; ++j) scores(i, j) *= inv;
          for (int j = last + 1; j < T; ++j) scores(i, j) = 0;
        }
        out.block(s * T, hd * dh, T, dh).noalias() = scores * vs;
      }
    }
    return out;
  }

  /// RoPE with NeoX pairing (element i with i + head_dim/2) at position pos; the angle of pair i is
  /// pos * base^(-2i/head_dim), accumulated by repeated float multiplication as ggml does.
  void rope(matrix<float>& x, int pos) const {
    const int half = config_.head_dim / 2;
    const float theta_scale = std::pow(config_.rope_base, -2.0f / static_cast<float>(config_.head_dim));
    float theta = static_cast<float>(pos);
    for (int i = 0; i < half; ++i) {
      const float c = std::cos(theta), s = std::sin(theta);
      const float x0 = x(0, i), x1 = x(0, i + half);
      x(0, i) = x0 * c - x1 * s;
      x(0, i + half) = x0 * s + x1 * c;
      theta *= theta_scale;
    }
  }

  void check_shapes() const {
    const auto need = [&](const std::string& name, int rows, int cols) {
      const auto& t = weight(name);
      if (t.rows() != rows || t.cols() != cols)
        throw std::runtime_error("toy_gemma: tensor " + name + " is " + std::to_string(t.cols()) + " x " +
                                 std::to_string(t.rows()) + " (ggml order), expected " + std::to_string(cols) + " x " +
                                 std::to_string(rows));
    };
    const int d = config_.d_model, hd = config_.n_heads * config_.head_dim;
    if (config_.head_dim % 2 != 0) throw std::runtime_error("toy_gemma: head_dim must be even (RoPE)");
    need("token_embd.weight", config_.vocab, d);
    need("output_norm.weight", 1, d);
    for (int b = 0; b < config_.n_layers; ++b) {
      const std::string p = "blk." + std::to_string(b) + ".";
      for (const char* v : {"attn_norm", "post_attention_norm", "ffn_norm", "post_ffw_norm"})
        need(p + v + ".weight", 1, d);
      need(p + "attn_q_norm.weight", 1, config_.head_dim);
      need(p + "attn_k_norm.weight", 1, config_.head_dim);
      need(p + "attn_q.weight", hd, d);
      need(p + "attn_k.weight", hd, d);
      need(p + "attn_v.weight", hd, d);
      need(p + "attn_output.weight", d, hd);
      need(p + "ffn_gate.weight", config_.d_ff, d);
      need(p + "ffn_up.weight", config_.d_ff, d);
      need(p + "ffn_down.weight", d, config_.d_ff);
    }
  }

  model_config config_;
  std::map<std::string, matrix<float>> w_;
  std::vector<std::string> sites_;
};

/// Loads a gemma3 GGUF file of F32 tensors (as train.py writes it): the config from its gemma3.* keys,
/// every tensor by name. Errors name the file and the key or tensor.
inline model load_gguf(const std::string& path) {
  const act::gguf_file file = act::read_gguf(path);
  const act::gguf_contents& g = file.contents;
  const auto integer = [&](const char* key) {
    const auto* v = g.find(key);
    if (!v) throw std::runtime_error(path + ": missing key " + key);
    return static_cast<int>(act::gguf_integer(*v, key, path));
  };
  const auto real = [&](const char* key) {
    const auto* v = g.find(key);
    if (!v || v->type != act::gguf_type::f32) throw std::runtime_error(path + ": missing f32 key " + key);
    return static_cast<float>(v->float_value);
  };
  const auto* arch = g.find("general.architecture");
  if (!arch || arch->string_value != "gemma3") throw std::runtime_error(path + ": not a gemma3 model");
  model_config c;
  c.d_model = integer("gemma3.embedding_length");
  c.n_layers = integer("gemma3.block_count");
  c.n_heads = integer("gemma3.attention.head_count");
  c.head_dim = integer("gemma3.attention.key_length");
  c.d_ff = integer("gemma3.feed_forward_length");
  c.context = integer("gemma3.context_length");
  c.rms_eps = real("gemma3.attention.layer_norm_rms_epsilon");
  c.rope_base = real("gemma3.rope.freq_base");
  if (integer("gemma3.attention.head_count_kv") != c.n_heads)
    throw std::runtime_error(path + ": grouped-query attention is not supported");
  std::map<std::string, matrix<float>> w;
  for (const auto& t : g.tensors) {
    if (t.type != act::ggml_type_f32) throw std::runtime_error(path + ": tensor " + t.name + " is not F32");
    if (t.dims.empty() || t.dims.size() > 2)
      throw std::runtime_error(path + ": tensor " + t.name + " is not a vector or matrix");
    const auto cols = static_cast<Eigen::Index>(t.dims[0]);
    const auto rows = static_cast<Eigen::Index>(t.dims.size() == 2 ? t.dims[1] : 1);
    matrix<float> m(rows, cols);
    std::memcpy(m.data(), file.data(t), static_cast<std::size_t>(rows * cols) * 4);
    w.emplace(t.name, std::move(m));
  }
  c.vocab = static_cast<int>(w.count("token_embd.weight") ? w.at("token_embd.weight").rows() : 0);
  return model(c, std::move(w));
}

#ifdef TOY_GEMMA_SOURCE_DIR
/// The committed weights, found through the source folder baked in at build time.
inline std::string default_weights_path() { return std::string(TOY_GEMMA_SOURCE_DIR) + "/toy_gemma.gguf"; }
#else
/// The committed weights, relative to the repository root.
inline std::string default_weights_path() { return "examples/toy_gemma/toy_gemma.gguf"; }
#endif

}  // namespace toy_gemma
