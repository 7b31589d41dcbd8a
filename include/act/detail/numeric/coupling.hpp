#pragma once
/// \file coupling.hpp
/// Moments of two sorted 1-D samples under their monotone optimal coupling.
///
/// Each of the n_a source samples carries mass 1/n_a, each of the n_b target samples 1/n_b. The
/// monotone coupling pairs equal quantile levels: on the level grid in units of 1/(n_a n_b), source
/// sample i covers [i n_b, (i+1) n_b) and target sample j covers [j n_a, (j+1) n_a); a pair's weight is
/// the overlap. With n_a = n_b this is plain sorted matching. Sums run in double.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace act::detail {

/// Means, variances and covariance (population, i.e. divided by the total mass) of a coupled pair.
struct coupled_moments {
  double mean_a = 0, mean_b = 0;
  double var_a = 0, var_b = 0;
  double cov = 0;
};

/// Sum of term(i) for i in [0, n) in eight interleaved partial sums, added up in a fixed order.
/// One running sum is a chain of dependent additions; eight chains overlap (and vectorise), which
/// makes these passes several times faster. The result is deterministic.
template <class Term>
double interleaved_sum(std::size_t n, Term term) {
  constexpr std::size_t ways = 8;
  double part[ways] = {};
  std::size_t i = 0;
  for (; i + ways <= n; i += ways)
    for (std::size_t k = 0; k < ways; ++k) part[k] += term(i + k);
  for (; i < n; ++i) part[i % ways] += term(i);
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

template <class T>
double mean_of(const std::vector<T>& x) {
  return interleaved_sum(x.size(), [&](std::size_t i) { return static_cast<double>(x[i]); }) /
         static_cast<double>(x.size());
}

template <class T>
double centred_square_mean(const std::vector<T>& x, double mean) {
  return interleaved_sum(x.size(),
                         [&](std::size_t i) {
                           const double c = static_cast<double>(x[i]) - mean;
                           return c * c;
                         }) /
         static_cast<double>(x.size());
}

/// interleaved_sum of several terms over the same n at once: each sum adds its terms in exactly the
/// order interleaved_sum does (the same bits), while the chains of the different sums overlap.
template <class... Terms>
std::array<double, sizeof...(Terms)> interleaved_sums(std::size_t n, Terms... terms) {
  constexpr std::size_t ways = 8, count = sizeof...(Terms);
  double part[count][ways] = {};
  const auto add = [&](std::size_t k, std::size_t i) {
    std::size_t t = 0;
    ((part[t++][k] += terms(i)), ...);
  };
  std::size_t i = 0;
  for (; i + ways <= n; i += ways)
    for (std::size_t k = 0; k < ways; ++k) add(k, i + k);
  for (; i < n; ++i) add(i % ways, i);
  std::array<double, count> out;
  for (std::size_t t = 0; t < count; ++t) {
    const double* p = part[t];
    out[t] = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
  }
  return out;
}

/// Moments of ascending samples `a` and `b` under the monotone coupling (two passes: means, then
/// centred sums, for accuracy). With equal counts the means are summed in one pass over both samples,
/// and for float samples the three centred sums too. Each sum keeps the order of its own pass, so the
/// bits are those of separate passes; for double samples the centred sums stay separate passes because
/// GCC, where FMA is available, contracts their products into the additions in some iterations of
/// those loops and not in others, which a fused loop would not reproduce.
template <class T>
coupled_moments coupled_moments_of_sorted(const std::vector<T>& a, const std::vector<T>& b) {
  coupled_moments m;
  const std::size_t na = a.size(), nb = b.size();
  if (na == nb) {
    const double n = static_cast<double>(na);
    const auto means = interleaved_sums(
        na, [&](std::size_t i) { return static_cast<double>(a[i]); },
        [&](std::size_t i) { return static_cast<double>(b[i]); });
    m.mean_a = means[0] / n;
    m.mean_b = means[1] / n;
    if constexpr (std::is_same_v<T, float>) {
      const double mean_a = m.mean_a, mean_b = m.mean_b;
      const auto sums = interleaved_sums(
          na,
          [&](std::size_t i) {
            const double c = static_cast<double>(a[i]) - mean_a;
            return c * c;
          },
          [&](std::size_t i) {
            const double c = static_cast<double>(b[i]) - mean_b;
            return c * c;
          },
          [&](std::size_t i) { return (static_cast<double>(a[i]) - mean_a) * (static_cast<double>(b[i]) - mean_b); });
      m.var_a = sums[0] / n;
      m.var_b = sums[1] / n;
      m.cov = sums[2] / n;
    } else {
      m.var_a = centred_square_mean(a, m.mean_a);
      m.var_b = centred_square_mean(b, m.mean_b);
      m.cov = interleaved_sum(na,
                              [&](std::size_t i) {
                                return (static_cast<double>(a[i]) - m.mean_a) * (static_cast<double>(b[i]) - m.mean_b);
                              }) /
              static_cast<double>(na);
    }
    return m;
  }
  m.mean_a = mean_of(a);
  m.mean_b = mean_of(b);
  m.var_a = centred_square_mean(a, m.mean_a);
  m.var_b = centred_square_mean(b, m.mean_b);
  double cov = 0;
  // Walk both level grids; integer arithmetic keeps the weights exact.
  const std::uint64_t ua = na, ub = nb;
  std::uint64_t pos = 0;
  std::size_t i = 0, j = 0;
  while (i < na && j < nb) {
    const std::uint64_t end_a = (i + 1) * ub, end_b = (j + 1) * ua;
    const std::uint64_t end = std::min(end_a, end_b);
    cov += static_cast<double>(end - pos) * (static_cast<double>(a[i]) - m.mean_a) *
           (static_cast<double>(b[j]) - m.mean_b);
    pos = end;
    if (end == end_a) ++i;
    if (end == end_b) ++j;
  }
  m.cov = cov / (static_cast<double>(ua) * static_cast<double>(ub));
  return m;
}

/// Squared 1-D Wasserstein-2 distance between the coupled samples after mapping the source by
/// omega * a + beta (omega >= 0 keeps the coupling optimal), from the moments alone.
inline double transported_w2_squared(const coupled_moments& m, double omega, double beta) {
  const double offset = omega * m.mean_a + beta - m.mean_b;
  return std::max(0.0, omega * omega * m.var_a - 2.0 * omega * m.cov + m.var_b + offset * offset);
}

}  // namespace act::detail
