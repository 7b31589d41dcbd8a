#pragma once
/// \file pca_direction.hpp
/// RePE / PCA direction: add a multiple of the first principal component of paired activation differences.

#include <cmath>
#include <string_view>

#include <Eigen/Core>
#include <act/detail/numeric/symmetric_eigen.hpp>

#include <act/detail/numeric/per_neuron.hpp>
#include <act/detail/numeric/samples.hpp>
#include <act/core/error.hpp>
#include <act/maps/fit_result.hpp>
#include <act/core/strength.hpp>
#include <act/core/support.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// Options of the PCA direction.
struct pca_direction_options {
  /// Where the vector is added; unbounded, as repeng / llama.cpp control vectors add it everywhere.
  act::support support = support::unbounded();
  /// Threads over neurons for the diagnostics (1 = the calling thread only, 0 = all cores).
  int threads = 1;
};

namespace detail {

/// Unit leading eigenvector of X^T X for a centred [n x d] X, or an empty vector when the leading
/// eigenvalue is at most `negligible` (no spread beyond rounding).
/// The eigenproblem is solved exactly (Eigen's SelfAdjointEigenSolver) on the smaller of the d x d
/// scatter X^T X and the n x n Gram X X^T (whose leading eigenvector u gives X^T u): deterministic,
/// with no convergence tolerance to tune, at O(min(n, d)^3 + n d min(n, d)).
template <class Matrix>
Eigen::Matrix<typename Matrix::Scalar, Eigen::Dynamic, 1> leading_direction(const Matrix& x, double negligible) {
  using matrix = Eigen::Matrix<typename Matrix::Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using vector = Eigen::Matrix<typename Matrix::Scalar, Eigen::Dynamic, 1>;
  const bool scatter = x.cols() <= x.rows();
  const matrix gram = scatter ? matrix(x.transpose() * x) : matrix(x * x.transpose());
  Eigen::SelfAdjointEigenSolver<matrix> solver(gram);
  if (solver.info() != Eigen::Success) raise<invalid_argument>("pca: the eigensolver did not converge");
  const Eigen::Index top = gram.rows() - 1;  // eigenvalues come in ascending order
  if (!(solver.eigenvalues()[top] > negligible)) return {};
  vector v = scatter ? vector(solver.eigenvectors().col(top)) : vector(x.transpose() * solver.eigenvectors().col(top));
  const double norm = v.norm();
  if (!(norm > 0.0)) return {};
  return v / norm;
}

}  // namespace detail

/// RePE / PCA direction (paper Table 1; what repeng and llama.cpp's cvector-generator compute).
/// Row i of source and target form a pair; D = target - source ([n x d]), centred by its mean
/// difference m. The direction v is D's first principal component (see detail::leading_direction),
/// signed so that m . v >= 0 (it points from source to target); beta = v (m . v), the unit direction
/// times the mean projection of the differences; omega = 1.
///
/// When the differences do not vary (every pair differs by the same vector) there is no principal
/// component; v is then m / |m|, so beta = m. The result depends on row order only through rounding
/// (reordering the pairs permutes D's rows, which leaves D^T D unchanged).
///
/// lambda multiplies beta (a + lambda beta), unbounded. Throws act::shape_error when the counts
/// differ (pairs need equal counts), else as linear_act::fit.
class pca_direction {
 public:
  static constexpr std::string_view name = "pca";
  static constexpr std::string_view title = "PCA (RePE)";
  static constexpr bool additive = true;
  static constexpr bool per_neuron = false;  ///< the direction needs whole rows (all neurons of a sample)
  static constexpr strength_meaning strength = strength_meaning::multiplier;
  using options_type = pca_direction_options;

  pca_direction_options options;

  pca_direction() = default;
  explicit pca_direction(pca_direction_options opts) : options(opts) {}

  template <class DA, class DB>
  affine_fit<typename DA::Scalar> fit(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const;

 private:
  template <class DA, class DB>
  static detail::work_vector<typename DA::Scalar> direction(const Eigen::MatrixBase<DA>& source,
                                                            const Eigen::MatrixBase<DB>& target) {
    using W = detail::work_scalar_t<typename DA::Scalar>;
    detail::work_matrix<typename DA::Scalar> diff = target.template cast<W>() - source.template cast<W>();
    const detail::work_row_vector<typename DA::Scalar> mean = diff.colwise().mean();
    // Centring identical differences leaves rounding noise of relative size ~1e-16 per entry, whose
    // scatter is ~1e-32 of the raw one; anything below 1e-20 of it is treated as no spread.
    const double negligible = 1e-20 * diff.squaredNorm();
    diff.rowwise() -= mean;
    const auto v = detail::leading_direction(diff, negligible);
    if (v.size() == 0) return mean.transpose();
    // v (m . v) is the same for v and -v, so it points from source to target (beta . m >= 0)
    // whichever sign the eigensolver returned.
    return v * mean.dot(v);
  }
};

// Out of the class, so that it is not inline: linking act::act_compiled keeps the float and double
// instantiations out of every translation unit (detail/instantiations.hpp).
template <class DA, class DB>
affine_fit<typename DA::Scalar> pca_direction::fit(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const {
  detail::check_source_target(source, target);
  if (source.rows() != target.rows())
    raise<shape_error>("pca: paired differences need equal counts, but source has {} rows and target has {}",
                               source.rows(), target.rows());
  const auto beta = direction(source, target);
  return detail::fit_affine_per_neuron(source, target, options.support, options.threads, [&](const auto& s) {
    return detail::affine_coefficients{1.0, beta[s.index]};
  });
}

}  // namespace act

#define ACT_INSTANTIATE_PCA_DIRECTION(EXTERN) ACT_INSTANTIATE_FIT(EXTERN, act::pca_direction, affine_fit)
ACT_DECLARE_COMPILED(ACT_INSTANTIATE_PCA_DIRECTION)
