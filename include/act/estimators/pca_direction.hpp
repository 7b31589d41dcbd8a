#pragma once
/// \file pca_direction.hpp
/// RePE / PCA directions: add a multiple of the first principal direction of paired activation differences,
/// centred as repeng computes it (`pca`); the uncentred variant of llama.cpp (`pca_uncentred`) is pca_uncentred.hpp.

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

/// Options of the PCA directions (both variants).
struct pca_direction_options {
  /// Where the vector is added; unbounded, as repeng / llama.cpp control vectors add it everywhere.
  act::support support = support::unbounded();
  /// Threads over neurons for the diagnostics (1 = the calling thread only, 0 = all cores).
  int threads = 1;
};

namespace detail {

/// Unit leading eigenvector of X^T X for an [n x d] X (centred or not), or an empty vector when the leading
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

/// The unit direction of paired differences D = target - source ([n x d], rows are pairs): the first
/// principal direction of D centred by its mean difference m (`centred`, repeng) or of D itself
/// (llama.cpp's cvector-generator), or m / |m| when there is none (no spread), or zero when m = 0 too.
template <class DA, class DB>
work_vector<typename DA::Scalar> pca_unit_direction(const Eigen::MatrixBase<DA>& source,
                                                    const Eigen::MatrixBase<DB>& target, bool centred) {
  using W = work_scalar_t<typename DA::Scalar>;
  work_matrix<typename DA::Scalar> diff = target.template cast<W>() - source.template cast<W>();
  const work_row_vector<typename DA::Scalar> mean = diff.colwise().mean();
  // Centring identical differences leaves rounding noise of relative size ~1e-16 per entry, whose
  // scatter is ~1e-32 of the raw one; anything below 1e-20 of it is treated as no spread.
  const double negligible = 1e-20 * diff.squaredNorm();
  const work_matrix<typename DA::Scalar> raw = diff;
  if (centred) diff.rowwise() -= mean;
  auto v = leading_direction(diff, negligible);
  if (v.size() == 0) {
    const double norm = mean.norm();
    return norm > 0.0 ? work_vector<typename DA::Scalar>(mean.transpose() / norm)
                      : work_vector<typename DA::Scalar>::Zero(source.cols());
  }
  // The eigensolver's sign is arbitrary. Centred (repeng): the sign most pairs agree with, each pair's
  // difference projected on v; a tie goes to the mean difference. Uncentred: toward the mean difference.
  double vote = 0.0;
  if (centred) {
    const auto projections = (raw * v).eval();
    vote =
        static_cast<double>((projections.array() > 0).count()) - static_cast<double>((projections.array() < 0).count());
  }
  if (vote < 0.0 || (vote == 0.0 && mean.dot(v) < 0.0)) v = -v;
  return v;
}

}  // namespace detail

/// Display names of the two variants of basic_pca_direction.
template <bool Centred>
struct pca_names {
  static constexpr std::string_view name = "pca";
  static constexpr std::string_view title = "PCA (RePE, centred)";
};
template <>
struct pca_names<false> {
  static constexpr std::string_view name = "pca_uncentred";
  static constexpr std::string_view title = "PCA (uncentred, llama.cpp)";
};

/// The PCA direction of paired differences; use act::pca_direction (centred) or act::pca_uncentred
/// (<act/estimators/pca_uncentred.hpp>).
template <bool Centred>
class basic_pca_direction {
 public:
  static constexpr std::string_view name = pca_names<Centred>::name;
  static constexpr std::string_view title = pca_names<Centred>::title;
  static constexpr bool additive = true;
  static constexpr bool per_neuron = false;  ///< the direction needs whole rows (all neurons of a sample)
  static constexpr bool paired = true;       ///< differences of paired rows: equal counts
  static constexpr strength_meaning strength = strength_meaning::multiplier;
  using options_type = pca_direction_options;

  pca_direction_options options;

  basic_pca_direction() = default;
  explicit basic_pca_direction(pca_direction_options opts) : options(opts) {}

  /// Throws act::shape_error when the counts differ (pairs need equal counts), else as linear_act::fit.
  template <class DA, class DB>
  affine_fit<typename DA::Scalar> fit(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) const;
};

/// RePE / PCA direction as repeng computes it (paper Table 1). Row i of source and target form a pair;
/// D = target - source ([n x d]) is centred by its mean difference and beta is the unit vector along its
/// first principal component (see detail::leading_direction); omega = 1. Its sign is repeng's majority
/// vote: most pairs' differences project positively on it (it points from source to target for most
/// pairs; a tie goes to the mean difference).
///
/// Scale: beta has unit Euclidean norm over all d neurons, as repeng's vectors, so lambda is the length of
/// the added vector in activation units (not a fraction of the mean difference, unlike CAA). Centring
/// discards the shift every pair shares: when the pairs differ mostly by a common vector, the direction is
/// that of their spread around it, which can be nearly orthogonal to the mean difference (pca_uncentred
/// keeps it). When the differences do not vary there is no principal component; beta is then m / |m|.
/// The result depends on row order only through rounding (reordering the pairs permutes D's rows, which
/// leaves D^T D unchanged). lambda multiplies beta (a + lambda beta), unbounded.
using pca_direction = basic_pca_direction<true>;

// Out of the class, so that it is not inline: linking act::act_compiled keeps the float and double
// instantiations out of every translation unit (detail/instantiations.hpp).
template <bool Centred>
template <class DA, class DB>
affine_fit<typename DA::Scalar> basic_pca_direction<Centred>::fit(const Eigen::MatrixBase<DA>& source,
                                                                  const Eigen::MatrixBase<DB>& target) const {
  detail::check_source_target(source, target);
  if (source.rows() != target.rows())
    raise<shape_error>("{}: paired differences need equal counts, but source has {} rows and target has {}", name,
                       source.rows(), target.rows());
  const auto beta = detail::pca_unit_direction(source, target, Centred);
  return detail::fit_affine_per_neuron(source, target, options.support, options.threads, [&](const auto& s) {
    return detail::affine_coefficients{1.0, static_cast<double>(beta[s.index])};
  });
}

}  // namespace act

#define ACT_INSTANTIATE_PCA_DIRECTION(EXTERN) ACT_INSTANTIATE_FIT(EXTERN, act::pca_direction, affine_fit)
ACT_DECLARE_COMPILED(ACT_INSTANTIATE_PCA_DIRECTION)
