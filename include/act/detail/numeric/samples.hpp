#pragma once
/// \file samples.hpp
/// Checks of the samples every estimator is given: shapes, sample counts, finiteness.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include <Eigen/Core>

#include <act/core/error.hpp>

namespace act::detail {

/// The scalar estimators compute in: double for float and double samples. Eigen types spelt with it
/// depend on the samples' type, so a header that uses them costs nothing to compile until an estimator
/// is instantiated (a non-dependent Eigen::MatrixXd in a template is compiled where it is written).
template <class Scalar>
using work_scalar_t = std::conditional_t<(sizeof(Scalar) > sizeof(double)), Scalar, double>;
template <class Scalar>
using work_matrix = Eigen::Matrix<work_scalar_t<Scalar>, Eigen::Dynamic, Eigen::Dynamic>;
template <class Scalar>
using work_vector = Eigen::Matrix<work_scalar_t<Scalar>, Eigen::Dynamic, 1>;
template <class Scalar>
using work_row_vector = Eigen::Matrix<work_scalar_t<Scalar>, 1, Eigen::Dynamic>;

/// Throws unless `x` has at least `min_rows` rows and at least one column.
template <class Derived>
void check_sample_shape(std::string_view name, const Eigen::MatrixBase<Derived>& x, Eigen::Index min_rows = 2) {
  if (x.cols() == 0)
    raise<shape_error>("{}: has 0 columns (neurons); need d >= 1, got shape [{} x {}]", name, x.rows(), x.cols());
  if (x.rows() < min_rows)
    raise<invalid_argument>("{}: needs at least {} samples (rows), got shape [{} x {}]", name, min_rows, x.rows(),
                            x.cols());
}

/// True if no entry of `x` is NaN or Inf. Walks `x` in its storage order (Eigen's allFinite() goes
/// column by column, a strided walk over row-major samples) and tests exponent bits with integer
/// ORs, which the compiler vectorises.
template <class Derived>
bool all_finite(const Eigen::MatrixBase<Derived>& x) {
  using T = typename Derived::Scalar;
  static_assert(std::is_floating_point_v<T> && (sizeof(T) == 4 || sizeof(T) == 8));
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  constexpr U exponent = sizeof(T) == 4 ? U(0x7f800000u) : U(0x7ff0000000000000ull);
  const Derived& m = x.derived();
  const Eigen::Index outer = Derived::IsRowMajor ? m.rows() : m.cols();
  const Eigen::Index inner = Derived::IsRowMajor ? m.cols() : m.rows();
  for (Eigen::Index o = 0; o < outer; ++o) {
    U bad = 0;
    for (Eigen::Index i = 0; i < inner; ++i) {
      const T v = Derived::IsRowMajor ? m.coeff(o, i) : m.coeff(i, o);
      U bits;
      std::memcpy(&bits, &v, sizeof bits);
      bad |= U((bits & exponent) == exponent);
    }
    if (bad) return false;
  }
  return true;
}

/// Throws non_finite_error naming the first (row-major order) NaN or Inf entry of `x`.
template <class Derived>
void check_finite(std::string_view name, const Eigen::MatrixBase<Derived>& x) {
  // Fast test first; the slow scan only runs to build the message.
  if (all_finite(x)) return;
  for (Eigen::Index r = 0; r < x.rows(); ++r)
    for (Eigen::Index c = 0; c < x.cols(); ++c) {
      const double v = static_cast<double>(x(r, c));
      if (!std::isfinite(v)) raise<non_finite_error>("{}: non-finite value {} at row {}, neuron {}", name, v, r, c);
    }
}

/// The shapes check_source_target asks for: each [n x d] with n >= 2, the same d.
template <class DA, class DB>
void check_source_target_shapes(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) {
  check_sample_shape("source", source);
  check_sample_shape("target", target);
  if (source.cols() != target.cols())
    raise<shape_error>("source and target: neuron counts differ, source is [{} x {}], target is [{} x {}]",
                       source.rows(), source.cols(), target.rows(), target.cols());
}

/// Source and target samples: each [n x d] with n >= 2 and finite, the same d.
template <class DA, class DB>
void check_source_target(const Eigen::MatrixBase<DA>& source, const Eigen::MatrixBase<DB>& target) {
  check_source_target_shapes(source, target);
  check_finite("source", source);
  check_finite("target", target);
}

}  // namespace act::detail
