#pragma once
/// \file fit.hpp
/// Fits on column sources (columns/source.hpp) within a memory budget: a block of neurons at a time,
/// with the estimator's own fit on each block, so the result is the in-memory fit's bit for bit.
///
///     act::npy_columns source("a.npy"), target("b.npy");                      // memory-mapped
///     auto fit = act::fit_columns<float>("linear", source, target, {}, 64 << 20);  // 64 MB for samples
///
/// Methods whose neurons are independent (method_info::per_neuron) read as many neurons as fit in the
/// budget. pca and itic need whole rows (every neuron of a sample): they read both sides whole, so their
/// memory is n x d samples whatever the budget.

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include <act/columns/source.hpp>
#include <act/core/error.hpp>
#include <act/estimators/registry.hpp>
#include <act/maps/fit_result.hpp>

namespace act {

/// The default memory budget of a fit on column sources, in bytes (act-cli's --memory default).
inline constexpr std::size_t default_fit_memory = std::size_t(1024) << 20;

namespace detail {

/// Copies a fit of neurons [first, first + part size) into `whole` (sized for d neurons on first use).
template <class Scalar>
void place(affine_map<Scalar>& whole, const affine_map<Scalar>& part, Eigen::Index first, Eigen::Index d) {
  const Eigen::Index count = part.omega.size();
  if (whole.omega.size() != d) {
    whole.omega.resize(d);
    whole.beta.resize(d);
    whole.lower.resize(part.bounded() ? d : 0);
    whole.upper.resize(part.bounded() ? d : 0);
  }
  whole.bounds = part.bounds;
  whole.omega.segment(first, count) = part.omega;
  whole.beta.segment(first, count) = part.beta;
  if (part.bounded()) {
    whole.lower.segment(first, count) = part.lower;
    whole.upper.segment(first, count) = part.upper;
  }
}

template <class Scalar>
void place(quantile_map<Scalar>& whole, const quantile_map<Scalar>& part, Eigen::Index first, Eigen::Index d) {
  if (whole.knots_source.cols() != d) {
    whole.knots_source.resize(part.knots_source.rows(), d);
    whole.knots_target.resize(part.knots_target.rows(), d);
  }
  whole.knots_source.middleCols(first, part.knots_source.cols()) = part.knots_source;
  whole.knots_target.middleCols(first, part.knots_target.cols()) = part.knots_target;
}

inline void place(fit_diagnostics& whole, const fit_diagnostics& part, Eigen::Index first, Eigen::Index d) {
  const auto put = [&](Eigen::ArrayXd& to, const Eigen::ArrayXd& from) {
    if (to.size() != d) to.resize(d);
    to.segment(first, from.size()) = from;
  };
  put(whole.r2, part.r2);
  put(whole.w2_before, part.w2_before);
  put(whole.w2_after, part.w2_after);
  if (whole.low_spread.size() != d) whole.low_spread = Eigen::Array<bool, Eigen::Dynamic, 1>::Zero(d);
  if (part.low_spread.size() != 0) whole.low_spread.segment(first, part.low_spread.size()) = part.low_spread;
}

/// Bytes a fit needs per neuron of a block (both sides' samples, the quantile knots) and in all (each
/// thread's sorted copies and buffers), for n samples in all of a method fitting `knots` knots.
struct block_cost {
  std::size_t per_neuron = 0;
  std::size_t fixed = 0;
};

template <class Scalar, class Estimator>
block_cost block_cost_of(const Estimator& estimator, Eigen::Index na, Eigen::Index nb) {
  const auto n = static_cast<std::size_t>(na + nb);
  block_cost c;
  c.per_neuron = n * sizeof(Scalar);
  if constexpr (fits_quantile_map<Estimator>) {
    const int k = estimator.options.knots;
    const std::size_t knots = k == 0 || k >= std::max(na, nb) ? n : static_cast<std::size_t>(k);
    c.per_neuron += 2 * knots * sizeof(Scalar);
  }
  int threads = estimator.options.threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Per thread: a sorted copy of each side's neuron, the radix sort's scratch, and the doubles the
  // quantile map's W2 uses.
  c.fixed = static_cast<std::size_t>(threads) * n * (2 * sizeof(Scalar) + 2 * sizeof(double));
  return c;
}

}  // namespace detail

/// Fits `estimator` on column sources `source` [n_a x d] and `target` [n_b x d], read as `Scalar`, with at
/// most about `memory_bytes` of samples in memory at once (see the file comment for pca and itic). Equals
/// `estimator.fit(source matrix, target matrix)` bit for bit. Throws act::shape_error when the widths
/// differ, act::invalid_argument when the budget cannot hold one neuron's samples, else as the estimator.
template <class Scalar, class Estimator, class SourceA, class SourceB,
          class = std::enable_if_t<!std::is_convertible_v<const Estimator&, std::string_view>>>
auto fit_columns(const Estimator& estimator, const SourceA& source, const SourceB& target,
                 std::size_t memory_bytes = default_fit_memory) {
  using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using result = decltype(estimator.fit(std::declval<const matrix&>(), std::declval<const matrix&>()));
  const Eigen::Index na = source.rows(), nb = target.rows(), d = source.cols();
  if (target.cols() != d)
    raise<shape_error>("source and target: neuron counts differ, source is [{} x {}], target is [{} x {}]", na, d, nb,
                       target.cols());
  if constexpr (!Estimator::per_neuron) {
    matrix a(na, d), b(nb, d);
    source.template read<Scalar>(0, d, a);
    target.template read<Scalar>(0, d, b);
    return estimator.fit(a, b);
  } else {
    if (d == 0 || na < 2 || nb < 2) {  // the estimator's own message
      matrix a(na, d), b(nb, d);
      return estimator.fit(a, b);
    }
    const detail::block_cost cost = detail::block_cost_of<Scalar>(estimator, na, nb);
    const std::size_t scratch =
        std::max(read_scratch_bytes(source, 1, sizeof(Scalar)), read_scratch_bytes(target, 1, sizeof(Scalar)));
    const std::size_t per_neuron = cost.per_neuron + scratch;
    if (memory_bytes < cost.fixed + per_neuron)
      raise<invalid_argument>(
          "a memory budget of {} bytes ({:.1f} MB) cannot hold the samples of one neuron: {} + {} samples need {} "
          "bytes (raise the "
          "budget)",
          memory_bytes, static_cast<double>(memory_bytes) / 1048576.0, na, nb, cost.fixed + per_neuron);
    const auto width = static_cast<Eigen::Index>(
        std::min<std::size_t>(static_cast<std::size_t>(d), (memory_bytes - cost.fixed) / per_neuron));
    result out;
    matrix a, b;
    for (Eigen::Index first = 0; first < d; first += width) {
      const Eigen::Index count = std::min(width, d - first);
      a.resize(na, count);
      b.resize(nb, count);
      source.template read<Scalar>(first, count, a);
      target.template read<Scalar>(first, count, b);
      auto part = estimator.fit(a, b);
      detail::place(out.map, part.map, first, d);
      detail::place(out.diagnostics, part.diagnostics, first, d);
    }
    out.source_samples = na;
    out.target_samples = nb;
    return out;
  }
}

/// Fits method `name` (any registered method, configured by `settings` as act::fit does) on column sources.
template <class Scalar, class SourceA, class SourceB>
fit_result<any_map<Scalar>> fit_columns(std::string_view name, const SourceA& source, const SourceB& target,
                                        const fit_settings& settings = {},
                                        std::size_t memory_bytes = default_fit_memory) {
  return with_estimator(name, settings, [&](const auto& estimator) {
    auto f = fit_columns<Scalar>(estimator, source, target, memory_bytes);
    return fit_result<any_map<Scalar>>{std::move(f.map), std::move(f.diagnostics), f.source_samples, f.target_samples};
  });
}

}  // namespace act
