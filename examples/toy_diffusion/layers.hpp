#pragma once
/// The layers of the toy denoiser and classifier, forward and backward by hand, on batches of
/// channel-major feature maps: image i, channel c, pixel p lives at ((i * C) + c) * H * W + p.
/// Convolutions are im2col + one matrix product per image (Eigen). Every backward *adds* into the
/// parameter gradients, so a caller zeroes them once per step.
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace toy_diffusion {

template <class T>
using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using map_matrix = Eigen::Map<row_matrix<T>>;
template <class T>
using const_map_matrix = Eigen::Map<const row_matrix<T>>;

/// A batch of feature maps [n x c x h x w].
template <class T>
struct fmap {
  int n = 0, c = 0, h = 0, w = 0;
  std::vector<T> v;

  fmap() = default;
  fmap(int n_, int c_, int h_, int w_)
      : n(n_), c(c_), h(h_), w(w_), v(static_cast<std::size_t>(n_) * c_ * h_ * w_, T(0)) {}
  int positions() const { return h * w; }
  std::size_t size() const { return v.size(); }
  T* image(int i) { return v.data() + static_cast<std::size_t>(i) * c * h * w; }
  const T* image(int i) const { return v.data() + static_cast<std::size_t>(i) * c * h * w; }
};

/// Geometry of a square-kernel convolution.
struct conv_shape {
  int in = 0, out = 0, k = 3, stride = 1, pad = 1;
  int out_size(int size) const { return (size + 2 * pad - k) / stride + 1; }
  int patch() const { return in * k * k; }
};

/// col [in*k*k x ho*wo] from one image x [in x h x w]; out-of-image taps read 0.
template <class T>
void im2col(const T* x, int h, int w, const conv_shape& s, T* col) {
  const int ho = s.out_size(h), wo = s.out_size(w), p = ho * wo;
  for (int ci = 0; ci < s.in; ++ci)
    for (int ky = 0; ky < s.k; ++ky)
      for (int kx = 0; kx < s.k; ++kx) {
        T* row = col + static_cast<std::size_t>((ci * s.k + ky) * s.k + kx) * p;
        for (int oy = 0; oy < ho; ++oy) {
          const int iy = oy * s.stride - s.pad + ky;
          for (int ox = 0; ox < wo; ++ox) {
            const int ix = ox * s.stride - s.pad + kx;
            row[oy * wo + ox] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[(ci * h + iy) * w + ix] : T(0);
          }
        }
      }
}

/// The adjoint of im2col: adds col's entries back onto dx [in x h x w].
template <class T>
void col2im(const T* col, int h, int w, const conv_shape& s, T* dx) {
  const int ho = s.out_size(h), wo = s.out_size(w), p = ho * wo;
  for (int ci = 0; ci < s.in; ++ci)
    for (int ky = 0; ky < s.k; ++ky)
      for (int kx = 0; kx < s.k; ++kx) {
        const T* row = col + static_cast<std::size_t>((ci * s.k + ky) * s.k + kx) * p;
        for (int oy = 0; oy < ho; ++oy) {
          const int iy = oy * s.stride - s.pad + ky;
          if (iy < 0 || iy >= h) continue;
          for (int ox = 0; ox < wo; ++ox) {
            const int ix = ox * s.stride - s.pad + kx;
            if (ix >= 0 && ix < w) dx[(ci * h + iy) * w + ix] += row[oy * wo + ox];
          }
        }
      }
}

/// y = conv(x) with weights W [out x in*k*k] (row-major) and bias b [out].
template <class T>
fmap<T> conv_forward(const fmap<T>& x, const conv_shape& s, const T* weight, const T* bias) {
  fmap<T> y(x.n, s.out, s.out_size(x.h), s.out_size(x.w));
  const int p = y.positions();
  std::vector<T> col(static_cast<std::size_t>(s.patch()) * p);
  const_map_matrix<T> W(weight, s.out, s.patch());
  const Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>> b(bias, s.out);
  for (int i = 0; i < x.n; ++i) {
    im2col(x.image(i), x.h, x.w, s, col.data());
    map_matrix<T> out(y.image(i), s.out, p);
    out.noalias() = W * const_map_matrix<T>(col.data(), s.patch(), p);
    out.colwise() += b;
  }
  return y;
}

/// Backward of conv_forward: adds into dweight, dbias; returns dx (same shape as x).
template <class T>
fmap<T> conv_backward(const fmap<T>& x, const fmap<T>& dy, const conv_shape& s, const T* weight, T* dweight, T* dbias) {
  fmap<T> dx(x.n, x.c, x.h, x.w);
  const int p = dy.positions();
  std::vector<T> col(static_cast<std::size_t>(s.patch()) * p), dcol(col.size());
  const_map_matrix<T> W(weight, s.out, s.patch());
  map_matrix<T> dW(dweight, s.out, s.patch());
  Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>> db(dbias, s.out);
  for (int i = 0; i < x.n; ++i) {
    im2col(x.image(i), x.h, x.w, s, col.data());
    const_map_matrix<T> g(dy.image(i), s.out, p);
    dW.noalias() += g * const_map_matrix<T>(col.data(), s.patch(), p).transpose();
    db += g.rowwise().sum();
    map_matrix<T>(dcol.data(), s.patch(), p).noalias() = W.transpose() * g;
    col2im(dcol.data(), x.h, x.w, s, dx.image(i));
  }
  return dx;
}

/// What GroupNorm's backward needs: the normalised values and 1/std per image and group.
template <class T>
struct group_norm_cache {
  std::vector<T> xhat;
  std::vector<T> rstd;
};

/// y = gamma * (x - mean_g) / sqrt(var_g + eps) + beta, statistics per image over each group of
/// channels and all positions. Group statistics (not per-channel ones) keep each channel's spatial
/// mean, so conditioning that shifts channels survives the norm: that is what the hooks see.
template <class T>
fmap<T> group_norm_forward(const fmap<T>& x, int groups, const T* gamma, const T* beta, group_norm_cache<T>* cache) {
  constexpr double eps = 1e-5;
  fmap<T> y(x.n, x.c, x.h, x.w);
  const int cg = x.c / groups, p = x.positions();
  const std::size_t m = static_cast<std::size_t>(cg) * p;
  if (cache) {
    cache->xhat.resize(x.size());
    cache->rstd.resize(static_cast<std::size_t>(x.n) * groups);
  }
  for (int i = 0; i < x.n; ++i)
    for (int g = 0; g < groups; ++g) {
      const std::size_t off = (static_cast<std::size_t>(i) * x.c + static_cast<std::size_t>(g) * cg) * p;
      const T* a = x.v.data() + off;
      double mean = 0;
      for (std::size_t k = 0; k < m; ++k) mean += static_cast<double>(a[k]);
      mean /= static_cast<double>(m);
      double var = 0;
      for (std::size_t k = 0; k < m; ++k)
        var += (static_cast<double>(a[k]) - mean) * (static_cast<double>(a[k]) - mean);
      var /= static_cast<double>(m);
      const double rstd = 1.0 / std::sqrt(var + eps);
      if (cache) cache->rstd[static_cast<std::size_t>(i) * groups + g] = static_cast<T>(rstd);
      for (int c = 0; c < cg; ++c) {
        const int ch = g * cg + c;
        for (int k = 0; k < p; ++k) {
          const std::size_t idx = off + static_cast<std::size_t>(c) * p + k;
          const T xh = static_cast<T>((static_cast<double>(x.v[idx]) - mean) * rstd);
          if (cache) cache->xhat[idx] = xh;
          y.v[idx] = gamma[ch] * xh + beta[ch];
        }
      }
    }
  return y;
}

template <class T>
fmap<T> group_norm_backward(const fmap<T>& dy, int groups, const T* gamma, const group_norm_cache<T>& cache, T* dgamma,
                            T* dbeta) {
  fmap<T> dx(dy.n, dy.c, dy.h, dy.w);
  const int cg = dy.c / groups, p = dy.positions();
  const double m = static_cast<double>(cg) * p;
  for (int i = 0; i < dy.n; ++i)
    for (int g = 0; g < groups; ++g) {
      const std::size_t off = (static_cast<std::size_t>(i) * dy.c + static_cast<std::size_t>(g) * cg) * p;
      double sum1 = 0, sum2 = 0;
      for (int c = 0; c < cg; ++c) {
        const int ch = g * cg + c;
        for (int k = 0; k < p; ++k) {
          const std::size_t idx = off + static_cast<std::size_t>(c) * p + k;
          const double d = static_cast<double>(dy.v[idx]);
          const double xh = static_cast<double>(cache.xhat[idx]);
          const double dxh = d * static_cast<double>(gamma[ch]);
          sum1 += dxh;
          sum2 += dxh * xh;
          dgamma[ch] += static_cast<T>(d * xh);
          dbeta[ch] += static_cast<T>(d);
        }
      }
      const double rstd = static_cast<double>(cache.rstd[static_cast<std::size_t>(i) * groups + g]);
      for (int c = 0; c < cg; ++c) {
        const int ch = g * cg + c;
        for (int k = 0; k < p; ++k) {
          const std::size_t idx = off + static_cast<std::size_t>(c) * p + k;
          const double dxh = static_cast<double>(dy.v[idx]) * static_cast<double>(gamma[ch]);
          dx.v[idx] = static_cast<T>(rstd / m * (m * dxh - sum1 - static_cast<double>(cache.xhat[idx]) * sum2));
        }
      }
    }
  return dx;
}

template <class T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

/// SiLU x * sigmoid(x), elementwise.
template <class T>
std::vector<T> silu(const std::vector<T>& x) {
  std::vector<T> y(x.size());
  for (std::size_t k = 0; k < x.size(); ++k) y[k] = x[k] * sigmoid(x[k]);
  return y;
}
template <class T>
fmap<T> silu(const fmap<T>& x) {
  fmap<T> y = x;
  y.v = silu(x.v);
  return y;
}

/// dy * silu'(x), elementwise.
template <class T>
std::vector<T> silu_backward(const std::vector<T>& x, const std::vector<T>& dy) {
  std::vector<T> dx(x.size());
  for (std::size_t k = 0; k < x.size(); ++k) {
    const T s = sigmoid(x[k]);
    dx[k] = dy[k] * (s + x[k] * s * (T(1) - s));
  }
  return dx;
}
template <class T>
fmap<T> silu_backward(const fmap<T>& x, const fmap<T>& dy) {
  fmap<T> dx = dy;
  dx.v = silu_backward(x.v, dy.v);
  return dx;
}

/// Nearest-neighbour 2x upsampling.
template <class T>
fmap<T> upsample2(const fmap<T>& x) {
  fmap<T> y(x.n, x.c, 2 * x.h, 2 * x.w);
  for (int ic = 0; ic < x.n * x.c; ++ic)
    for (int yy = 0; yy < y.h; ++yy)
      for (int xx = 0; xx < y.w; ++xx)
        y.v[(static_cast<std::size_t>(ic) * y.h + yy) * y.w + xx] =
            x.v[(static_cast<std::size_t>(ic) * x.h + yy / 2) * x.w + xx / 2];
  return y;
}
template <class T>
fmap<T> upsample2_backward(const fmap<T>& dy) {
  fmap<T> dx(dy.n, dy.c, dy.h / 2, dy.w / 2);
  for (int ic = 0; ic < dy.n * dy.c; ++ic)
    for (int yy = 0; yy < dy.h; ++yy)
      for (int xx = 0; xx < dy.w; ++xx)
        dx.v[(static_cast<std::size_t>(ic) * dx.h + yy / 2) * dx.w + xx / 2] +=
            dy.v[(static_cast<std::size_t>(ic) * dy.h + yy) * dy.w + xx];
  return dx;
}

/// 2x2 average pooling.
template <class T>
fmap<T> avgpool2(const fmap<T>& x) {
  fmap<T> y(x.n, x.c, x.h / 2, x.w / 2);
  for (int ic = 0; ic < x.n * x.c; ++ic)
    for (int yy = 0; yy < y.h; ++yy)
      for (int xx = 0; xx < y.w; ++xx) {
        const T* a = x.v.data() + (static_cast<std::size_t>(ic) * x.h + 2 * yy) * x.w + 2 * xx;
        y.v[(static_cast<std::size_t>(ic) * y.h + yy) * y.w + xx] = T(0.25) * (a[0] + a[1] + a[x.w] + a[x.w + 1]);
      }
  return y;
}
template <class T>
fmap<T> avgpool2_backward(const fmap<T>& dy) {
  fmap<T> dx(dy.n, dy.c, dy.h * 2, dy.w * 2);
  for (int ic = 0; ic < dy.n * dy.c; ++ic)
    for (int yy = 0; yy < dx.h; ++yy)
      for (int xx = 0; xx < dx.w; ++xx)
        dx.v[(static_cast<std::size_t>(ic) * dx.h + yy) * dx.w + xx] =
            T(0.25) * dy.v[(static_cast<std::size_t>(ic) * dy.h + yy / 2) * dy.w + xx / 2];
  return dx;
}

/// Dense layer on rows: y [n x out] = x [n x in] W [in x out] + b.
template <class T>
row_matrix<T> linear_forward(const row_matrix<T>& x, const T* weight, const T* bias, int out) {
  const_map_matrix<T> W(weight, x.cols(), out);
  row_matrix<T> y = x * W;
  y.rowwise() += Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(bias, out);
  return y;
}
/// Adds into dweight, dbias; returns dx.
template <class T>
row_matrix<T> linear_backward(const row_matrix<T>& x, const row_matrix<T>& dy, const T* weight, T* dweight, T* dbias) {
  const auto in = x.cols(), out = dy.cols();
  map_matrix<T>(dweight, in, out).noalias() += x.transpose() * dy;
  Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>>(dbias, out) += dy.colwise().sum();
  return dy * const_map_matrix<T>(weight, in, out).transpose();
}

template <class T>
row_matrix<T> silu(const row_matrix<T>& x) {
  return x.unaryExpr([](T v) { return v * sigmoid(v); });
}
template <class T>
row_matrix<T> silu_backward(const row_matrix<T>& x, const row_matrix<T>& dy) {
  return dy.binaryExpr(x, [](T d, T v) {
    const T s = sigmoid(v);
    return d * (s + v * s * (T(1) - s));
  });
}

}  // namespace toy_diffusion
