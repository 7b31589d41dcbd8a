#pragma once
/// \file pooling.hpp
/// Pools token activations into one vector per input (mean, last, max or min over its valid tokens),
/// the samples estimators are fitted on. Padding never counts.

#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <act/core/error.hpp>

namespace act {

/// How an input's tokens become one sample. The paper finds mean best (Table 6).
enum class pooling { mean, last, max, min };

/// The name used in map files and on the command line: "mean", "last", "max", "min".
inline std::string_view to_string(pooling p) {
  switch (p) {
    case pooling::mean:
      return "mean";
    case pooling::last:
      return "last";
    case pooling::max:
      return "max";
    case pooling::min:
      return "min";
  }
  return "?";
}

/// Parses "mean", "last", "max" or "min".
inline pooling parse_pooling(std::string_view name) {
  for (auto p : {pooling::mean, pooling::last, pooling::max, pooling::min})
    if (to_string(p) == name) return p;
  raise<invalid_argument>("pooling: unknown mode '{}' (mean, last, max, min)", name);
}

/// The scalar pooled samples come in: double for double activations, float for everything else (float,
/// half, bfloat16), so that a 16-bit input's mean is not rounded back to 16 bits.
template <class Scalar>
using pooled_scalar_t = std::conditional_t<std::is_same_v<Scalar, double>, double, float>;

/// Pooled samples of activations of type Scalar: [sequences x d].
template <class Scalar>
using pooled_matrix = Eigen::Matrix<pooled_scalar_t<Scalar>, Eigen::Dynamic, Eigen::Dynamic>;

namespace detail {

/// Pools rows [begin, begin + count) of `x` whose validity flag is set; `valid` may be null (all valid).
template <class Derived, class Out>
void pool_rows(const Eigen::MatrixBase<Derived>& x, Eigen::Index begin, Eigen::Index count, const std::uint8_t* valid,
               pooling how, Out&& out, Eigen::Index sequence) {
  Eigen::Index used = 0, last = -1;
  Eigen::Array<double, 1, Eigen::Dynamic> acc(x.cols());
  if (how == pooling::max)
    acc.setConstant(-std::numeric_limits<double>::infinity());
  else if (how == pooling::min)
    acc.setConstant(std::numeric_limits<double>::infinity());
  else
    acc.setZero();
  for (Eigen::Index r = begin; r < begin + count; ++r) {
    if (valid && !valid[r]) continue;
    ++used;
    last = r;
    const auto row = x.row(r).template cast<double>().array();
    switch (how) {
      case pooling::mean:
        acc += row;
        break;
      case pooling::max:
        acc = acc.max(row);
        break;
      case pooling::min:
        acc = acc.min(row);
        break;
      case pooling::last:
        break;
    }
  }
  if (used == 0) raise<invalid_argument>("pool: sequence {} has no valid token", sequence);
  if (how == pooling::mean) acc /= static_cast<double>(used);
  if (how == pooling::last) acc = x.row(last).template cast<double>().array();
  out = acc.template cast<typename std::decay_t<Out>::Scalar>().matrix();
}

}  // namespace detail

/// Pools a padded batch: `x` is [sequences * seq_len x d], sequence k owning rows
/// [k seq_len, (k+1) seq_len); `valid` has one flag per row (empty = every row valid).
/// Returns [sequences x d], accumulated in double and rounded once to act::pooled_scalar_t (float, or
/// double for double activations).
template <class Derived>
pooled_matrix<typename Derived::Scalar> pool_padded(const Eigen::MatrixBase<Derived>& x, Eigen::Index seq_len,
                                                    const std::vector<std::uint8_t>& valid, pooling how) {
  if (seq_len <= 0) raise<invalid_argument>("pool_padded: seq_len must be >= 1, got {}", seq_len);
  if (x.rows() % seq_len != 0)
    raise<shape_error>("pool_padded: {} rows are not a whole number of sequences of length {}", x.rows(), seq_len);
  if (!valid.empty() && static_cast<Eigen::Index>(valid.size()) != x.rows())
    raise<shape_error>("pool_padded: mask has {} entries but the activations have {} rows", valid.size(), x.rows());
  const Eigen::Index sequences = x.rows() / seq_len;
  pooled_matrix<typename Derived::Scalar> out(sequences, x.cols());
  for (Eigen::Index k = 0; k < sequences; ++k)
    detail::pool_rows(x, k * seq_len, seq_len, valid.empty() ? nullptr : valid.data(), how, out.row(k), k);
  return out;
}

/// Pools packed sequences: `x` is [total x d], sequence k owning the next `lengths[k]` rows. Returns
/// [sequences x d] as pool_padded does.
template <class Derived>
pooled_matrix<typename Derived::Scalar> pool_packed(const Eigen::MatrixBase<Derived>& x,
                                                    const std::vector<Eigen::Index>& lengths, pooling how) {
  Eigen::Index total = 0;
  for (std::size_t k = 0; k < lengths.size(); ++k) {
    if (lengths[k] <= 0) raise<invalid_argument>("pool_packed: lengths[{}] = {}; need >= 1", k, lengths[k]);
    total += lengths[k];
  }
  if (total != x.rows())
    raise<shape_error>("pool_packed: lengths add up to {} rows but the activations have {} rows", total, x.rows());
  pooled_matrix<typename Derived::Scalar> out(static_cast<Eigen::Index>(lengths.size()), x.cols());
  Eigen::Index begin = 0;
  for (std::size_t k = 0; k < lengths.size(); ++k) {
    detail::pool_rows(x, begin, lengths[k], nullptr, how, out.row(static_cast<Eigen::Index>(k)),
                      static_cast<Eigen::Index>(k));
    begin += lengths[k];
  }
  return out;
}

}  // namespace act
