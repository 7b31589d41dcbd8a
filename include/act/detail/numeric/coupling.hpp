#pragma once
/// \file coupling.hpp
/// Moments of two sorted 1-D samples under their monotone optimal coupling.
///
/// Each of the n_a source samples carries mass 1/n_a, each of the n_b target samples 1/n_b. The
/// monotone coupling pairs equal quantile levels: on the level grid in units of 1/(n_a n_b), source
/// sample i covers [i n_b, (i+1) n_b) and target sample j covers [j n_a, (j+1) n_a); a pair's weight is
/// the overlap. With n_a = n_b this is plain sorted matching. Sums run in double.

#include <algorithm>
#include <cmath>
#include <cstdint>
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

/// Moments of ascending samples `a` and `b` under the monotone coupling (two passes: means, then
/// centred sums, for accuracy).
template <class T>
coupled_moments coupled_moments_of_sorted(const std::vector<T>& a, const std::vector<T>& b) {
  coupled_moments m;
  m.mean_a = mean_of(a);
  m.mean_b = mean_of(b);
  m.var_a = centred_square_mean(a, m.mean_a);
  m.var_b = centred_square_mean(b, m.mean_b);
  const std::size_t na = a.size(), nb = b.size();
  double cov = 0;
  if (na == nb) {
    m.cov = interleaved_sum(na,
                            [&](std::size_t i) {
                              return (static_cast<double>(a[i]) - m.mean_a) * (static_cast<double>(b[i]) - m.mean_b);
                            }) /
            static_cast<double>(na);
    return m;
  }
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
