#pragma once
/// \file ranks.hpp
/// Rank statistics of one neuron's value at telling two sorted samples apart: AUROC (Mann-Whitney,
/// ties one half) and average precision, each in O(n) on samples already sorted ascending.

#include <cstddef>
#include <vector>

namespace act::detail {

/// P(p > q) + P(p = q) / 2 for p drawn from `positives` and q from `negatives` (both ascending):
/// the Mann-Whitney U statistic over n_p n_q. Walks both arrays once, one tie group at a time.
template <class T>
double auroc_of_sorted(const std::vector<T>& positives, const std::vector<T>& negatives) {
  const std::size_t np = positives.size(), nq = negatives.size();
  double u = 0;  // pairs won by the positive, ties counting one half
  std::size_t i = 0, j = 0;
  while (i < np) {
    const T v = positives[i];
    std::size_t below = j;
    while (below < nq && negatives[below] < v) ++below;
    std::size_t equal_end = below;
    while (equal_end < nq && negatives[equal_end] == v) ++equal_end;
    std::size_t group_end = i;
    while (group_end < np && positives[group_end] == v) ++group_end;
    const double group = static_cast<double>(group_end - i);
    u += group * (static_cast<double>(below) + 0.5 * static_cast<double>(equal_end - below));
    i = group_end;
    j = below;
  }
  return u / (static_cast<double>(np) * static_cast<double>(nq));
}

/// Average precision of detecting `positives` among positives and negatives (both ascending) by
/// thresholding the value: a sample is called positive when its value is >= the threshold
/// (`higher_is_positive`) or <= it (otherwise). The sum over distinct thresholds, tied values
/// entering together, of (recall step) x (precision), as scikit-learn's average_precision_score.
template <class T>
double average_precision_of_sorted(const std::vector<T>& positives, const std::vector<T>& negatives,
                                   bool higher_is_positive = true) {
  const std::size_t np = positives.size(), nq = negatives.size();
  std::size_t tp = 0, fp = 0;
  double ap = 0;
  // Consume tie groups from the most positive end; `left` counts what is still unconsumed.
  std::size_t left_p = np, left_q = nq;
  const auto value_p = [&](std::size_t k) { return higher_is_positive ? positives[k - 1] : positives[np - k]; };
  const auto value_q = [&](std::size_t k) { return higher_is_positive ? negatives[k - 1] : negatives[nq - k]; };
  const auto before = [&](T x, T y) { return higher_is_positive ? x > y : x < y; };  // x scores higher than y
  while (left_p > 0) {
    T v = value_p(left_p);
    if (left_q > 0 && before(value_q(left_q), v)) v = value_q(left_q);
    std::size_t new_tp = 0;
    while (left_p > 0 && value_p(left_p) == v) --left_p, ++new_tp;
    while (left_q > 0 && value_q(left_q) == v) --left_q, ++fp;
    tp += new_tp;
    if (new_tp > 0)
      ap += static_cast<double>(new_tp) / static_cast<double>(np) * static_cast<double>(tp) /
            static_cast<double>(tp + fp);
  }
  return ap;
}

}  // namespace act::detail
