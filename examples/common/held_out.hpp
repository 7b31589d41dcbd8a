#pragma once
/// How the example experiments choose and report: data split into a selection part and a test part,
/// strengths chosen on the selection part by one rule over equal-size grids that reach a quality budget,
/// and percentile-bootstrap 95% intervals over the test items (prompts, questions, images).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace examples_common {

/// The two disjoint parts of an experiment's evaluation items.
template <class T>
struct parts {
  std::vector<T> selection;  ///< strengths and every other choice are made on these
  std::vector<T> test;       ///< the reported numbers come from these only
};

/// Items at even positions go to the selection part, odd ones to the test part (disjoint when the items are).
template <class T>
parts<T> alternate_split(const std::vector<T>& items) {
  parts<T> p;
  for (std::size_t i = 0; i < items.size(); ++i) (i % 2 == 0 ? p.selection : p.test).push_back(items[i]);
  return p;
}

/// A two-sided 95% interval.
struct interval {
  double lo = 0, hi = 0;
};

/// The fixed seed and size of every bootstrap.
struct bootstrap_options {
  std::size_t resamples = 2000;
  std::uint64_t seed = 20250101;
};

/// Resampled item indices: each resample draws, within every stratum, as many items as the stratum holds,
/// with replacement (`strata[i]` is item i's stratum, e.g. its prompt; one stratum = the plain bootstrap).
inline std::vector<std::vector<std::size_t>> bootstrap_resamples(const std::vector<std::size_t>& strata,
                                                                 const bootstrap_options& o) {
  std::vector<std::vector<std::size_t>> members;
  for (std::size_t i = 0; i < strata.size(); ++i) {
    if (strata[i] >= members.size()) members.resize(strata[i] + 1);
    members[strata[i]].push_back(i);
  }
  std::mt19937_64 rng(o.seed);
  std::vector<std::vector<std::size_t>> out(o.resamples);
  for (auto& r : out) {
    r.reserve(strata.size());
    for (const auto& m : members)
      for (std::size_t k = 0; k < m.size(); ++k) r.push_back(m[static_cast<std::size_t>(rng() % m.size())]);
  }
  return out;
}

/// The 2.5% and 97.5% percentiles of `values` (linear interpolation between order statistics; +-inf allowed).
inline interval percentile_interval(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  const auto at = [&](double q) {
    const double pos = q * static_cast<double>(values.size() - 1);
    const auto i = static_cast<std::size_t>(std::floor(pos));
    const std::size_t j = std::min(i + 1, values.size() - 1);
    const double f = pos - static_cast<double>(i);
    if (f == 0.0 || values[i] == values[j]) return values[i];
    return values[i] + f * (values[j] - values[i]);
  };
  return {at(0.025), at(0.975)};
}

/// The percentile interval of `statistic(indices)` over the resamples.
template <class Statistic>
interval bootstrap_interval(const std::vector<std::vector<std::size_t>>& resamples, Statistic&& statistic) {
  std::vector<double> values;
  values.reserve(resamples.size());
  for (const auto& r : resamples) values.push_back(statistic(r));
  return percentile_interval(std::move(values));
}

/// Mean of `values` over the items `indices` (all items when `indices` is null).
template <class V>
double mean_over(const std::vector<V>& values, const std::vector<std::size_t>* indices = nullptr) {
  double s = 0;
  if (indices == nullptr) {
    for (const auto& v : values) s += static_cast<double>(v);
    return values.empty() ? 0.0 : s / static_cast<double>(values.size());
  }
  for (const std::size_t i : *indices) s += static_cast<double>(values[i]);
  return indices->empty() ? 0.0 : s / static_cast<double>(indices->size());
}

/// The strength where a method reaches its quality budget: the largest lambda found with
/// `within_budget(lambda)`, searching lambda = start, 2 start, 4 start, ... up to `cap`, then `bisections`
/// halvings of the last bracket. Returns `cap` when the budget is never reached (the caller says so).
inline double budget_edge(const std::function<bool(double)>& within_budget, double start, double cap, int bisections) {
  double lo = 0, hi = start;
  while (within_budget(hi)) {
    lo = hi;
    if (hi >= cap) return cap;
    hi = std::min(cap, 2 * hi);
  }
  for (int k = 0; k < bisections; ++k) {
    const double mid = 0.5 * (lo + hi);
    (within_budget(mid) ? lo : hi) = mid;
  }
  return lo;
}

/// `steps + 2` equally spaced strengths 0, edge / steps, ..., edge, and one step beyond the edge (to show
/// the budget is crossed there). Every method gets a grid of the same size, scaled to its own edge.
inline std::vector<double> budget_grid(double edge, int steps) {
  std::vector<double> g;
  for (int k = 0; k <= steps + 1; ++k) g.push_back(edge * k / steps);
  return g;
}

/// Whether a target holds, judged by its interval: met when the whole interval satisfies it, missed when
/// none of it does, undecided when it straddles the threshold.
enum class verdict { met, missed, undecided };

/// The verdict on "value >= threshold" (at_least) or "value <= threshold" for a value with interval `ci`.
inline verdict judge(const interval& ci, double threshold, bool at_least) {
  const double good = at_least ? ci.lo : -ci.hi, bad = at_least ? ci.hi : -ci.lo, t = at_least ? threshold : -threshold;
  if (good >= t) return verdict::met;
  if (bad < t) return verdict::missed;
  return verdict::undecided;
}

inline const char* verdict_name(verdict v) {
  return v == verdict::met      ? "met"
         : v == verdict::missed ? "**missed**"
                                : "**undecided** (interval straddles the target)";
}

}  // namespace examples_common
