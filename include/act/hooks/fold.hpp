#pragma once
/// \file fold.hpp
/// Zero-cost steering: fold a fixed-strength affine map into the linear layer that produces the site.

#include <cmath>

#include <Eigen/Core>

#include <act/core/error.hpp>
#include <act/maps/affine_map.hpp>

namespace act {

/// Folds T_lambda(y) = scale * y + shift (scale = 1 + lambda (omega - 1), shift = lambda beta) into
/// the layer y = W x + c that produces the steered site, in place:
///   W' = diag(scale) W,   c' = scale * c + shift,
/// so that W' x + c' = T_lambda(W x + c) and inference pays nothing (paper App. A).
///
/// `weight` is [d_out x d_in] (PyTorch's nn.Linear layout: one row per output neuron) and `bias` has
/// d_out entries, d_out = map.dim(). Any writable Eigen object works (matrices, maps, blocks).
///
/// Only maps with an unbounded support fold. With a bounded support the map is piecewise: outputs
/// outside [lower, upper] must pass through unchanged, and whether an output is inside depends on the
/// input x; no fixed W', c' can express "transport only where the result lands in an interval", so
/// such maps must run as a hook (act::affine_hook). They raise act::invalid_argument here.
///
/// Infinite weights and biases keep their bits (the map leaves infinite outputs alone; a scale of 0 would
/// turn them into NaN). A strength that would make a finite weight or bias (or a fused coefficient) Inf or NaN raises
/// act::non_finite_error naming the strength and the entry; `weight` and `bias` are then unchanged.
///
///     act::fold_into_linear(w, c, fit.map_unbounded, 1.0);  // then run the model without the hook
template <class DW, class DC, class MapScalar>
void fold_into_linear(const Eigen::MatrixBase<DW>& weight, const Eigen::MatrixBase<DC>& bias,
                      const affine_map<MapScalar>& map, double lambda) {
  map.validate();
  if (map.bounded())
    raise<invalid_argument>(
        "fold_into_linear: the map has a bounded support; a support gate depends on the input and cannot be folded "
        "into weights (fit with support::unbounded() or apply it with affine_hook)");
  const Eigen::Index d = map.dim();
  if (weight.rows() != d)
    raise<shape_error>(
        "fold_into_linear: weight is [{} x {}] but the map has {} neurons (need one row per output neuron)",
        weight.rows(), weight.cols(), d);
  if (bias.size() != d)
    raise<shape_error>("fold_into_linear: bias has {} entries but the map has {} neurons", bias.size(), d);
  const auto coeffs = map.at_strength(lambda);  // also rejects a non-finite lambda and overflowing coefficients
  // Eigen's idiom for writable temporaries (blocks, maps) passed by const reference.
  auto& w = const_cast<Eigen::MatrixBase<DW>&>(weight).derived();
  auto& c = const_cast<Eigen::MatrixBase<DC>&>(bias).derived();
  using WS = typename DW::Scalar;
  using CS = typename DC::Scalar;
  // A folded entry that overflows where the layer's was finite: refused before anything changes.
  for (Eigen::Index j = 0; j < d; ++j) {
    const CS folded_bias = static_cast<CS>(coeffs.scale[j]) * c(j) + static_cast<CS>(coeffs.shift[j]);
    if (std::isfinite(static_cast<double>(c(j))) && !std::isfinite(static_cast<double>(folded_bias)))
      raise<non_finite_error>("fold_into_linear: strength {} makes the bias of neuron {} non-finite ({} -> {})", lambda,
                              j, static_cast<double>(c(j)), static_cast<double>(folded_bias));
    for (Eigen::Index k = 0; k < w.cols(); ++k) {
      const WS before = w(j, k);
      const WS after = static_cast<WS>(coeffs.scale[j]) * before;
      if (std::isfinite(static_cast<double>(before)) && !std::isfinite(static_cast<double>(after)))
        raise<non_finite_error>("fold_into_linear: strength {} makes weight [{}, {}] non-finite ({} -> {})", lambda, j,
                                k, static_cast<double>(before), static_cast<double>(after));
    }
  }
  // Infinite entries keep their bits, as the map leaves an infinite output alone (scale 0 would make NaN).
  for (Eigen::Index j = 0; j < d; ++j) {
    for (Eigen::Index k = 0; k < w.cols(); ++k)
      if (std::isfinite(static_cast<double>(w(j, k)))) w(j, k) *= static_cast<WS>(coeffs.scale[j]);
    if (std::isfinite(static_cast<double>(c(j))))
      c(j) = static_cast<CS>(coeffs.scale[j]) * c(j) + static_cast<CS>(coeffs.shift[j]);
  }
}

}  // namespace act
