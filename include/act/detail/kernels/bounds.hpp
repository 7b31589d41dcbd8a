#pragma once
/// \file bounds.hpp
/// Support bounds as the kernels test them: one closed test `lo <= v && v <= hi` in the type the values are
/// computed in, for open and closed supports alike, that never contains NaN or +-Inf.

#include <cmath>
#include <limits>

#include <act/core/support.hpp>

namespace act::detail {

/// The smallest C value inside a support whose lower bound is `lo` (`v > lo` when open, `v >= lo` when
/// closed), decided exactly (in double, which holds every float and double), and never -Inf. So an open
/// support costs the kernels nothing: they compare against the next representable value.
template <class C, class S>
C inclusive_lower(S lo, support_bounds bounds) {
  constexpr C most = std::numeric_limits<C>::max();
  const double l = static_cast<double>(lo);
  if (l > static_cast<double>(most)) return std::numeric_limits<C>::infinity();  // nothing finite above: empty
  if (l < -static_cast<double>(most)) return -most;                              // every finite value is above
  C x = static_cast<C>(l);  // in range: the nearest C, one step at most from the answer
  const double xd = static_cast<double>(x);
  if (xd < l || (bounds == support_bounds::open && xd == l)) x = std::nextafter(x, std::numeric_limits<C>::infinity());
  return x;  // +Inf only when nothing finite is inside; the upper bound (<= most) then makes it empty
}

/// The largest C value inside a support whose upper bound is `hi`; mirror of inclusive_lower, never +Inf.
template <class C, class S>
C inclusive_upper(S hi, support_bounds bounds) {
  return -inclusive_lower<C>(-hi, bounds);
}

}  // namespace act::detail
