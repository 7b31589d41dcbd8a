#pragma once
/// \file quantile_search.hpp
/// A quantile hook's tables as the kernels read them: the segments of each neuron's map and the float
/// hooks' uniform search index (quantile_rows.hpp holds the kernels).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <Eigen/Core>

namespace act::detail {

/// One segment of a neuron's quantile map: T(x) - x = g (x - x_ref) + h.
template <class Scalar>
struct quantile_segment {
  Scalar g;  ///< slope - 1
  Scalar h;  ///< y_ref - x_ref
};

/// A float quantile map's search index as the vector kernels read it (non-owning; see quantile_search).
struct quantile_index {
  /// Neurons per entry of `steps`.
  static constexpr Eigen::Index step_group = 16;
  Eigen::Index neurons = 0;
  Eigen::Index k = 0;
  Eigen::Index buckets = 0;              ///< B: bucket indices run 0 .. B
  const float* knots = nullptr;          ///< [d x K], neuron-major; knots[-1] is readable
  const float* segments = nullptr;       ///< {g, h} pairs, K + 1 per neuron
  const float* origin = nullptr;         ///< x_0 per neuron (padded to whole step groups)
  const float* scale = nullptr;          ///< B / (x_{K-1} - x_0) per neuron, or 0 (padded likewise)
  const std::uint16_t* table = nullptr;  ///< B + 2 per neuron: entry b = number of knots in buckets < b
  const std::uint8_t* steps = nullptr;   ///< per step group: halving steps that cover its widest bucket
};

/// Bucket of v in a neuron's uniform index: trunc(clamp((v - x_0) scale, 0, B)), NaN -> 0. A non-decreasing
/// function of v, computed exactly so by the vector kernels; hence every knot in a bucket below v's is <= v
/// and every knot in a bucket above is > v, and only v's own bucket needs a search.
inline std::int32_t quantile_bucket(float v, float origin, float scale, float buckets) {
  float t = (v - origin) * scale;
  t = t > 0.0f ? t : 0.0f;
  t = t < buckets ? t : buckets;
  return static_cast<std::int32_t>(t);
}

/// Owns a float quantile map's search index (see quantile_index): per neuron B + 1 buckets of equal width
/// over [x_0, x_{K-1}], B = 2K (16 .. 8192), and the knot count below each bucket. Maps of Gaussian-like
/// quantiles put at most three knots in a bucket (two halving steps; 4K buckets measured no faster, their
/// table costing cache); a neuron with all knots equal puts all K in one, and
/// its group of 16 neurons then searches log2 K steps, as a binary search would.
class quantile_search {
 public:
  /// Builds the index of d neurons with k knots each (neuron-major at `knots`); leaves it unusable (empty)
  /// when the sizes exceed its 16- and 32-bit counts.
  void build(Eigen::Index d, Eigen::Index k, const float* knots) {
    *this = {};
    const Eigen::Index b = std::clamp<Eigen::Index>(2 * k, 16, 8192);
    constexpr auto most = static_cast<Eigen::Index>(std::numeric_limits<std::int32_t>::max());
    if (k > 65535 || d > most / (b + 2) || d > most / (k + 1)) return;
    const Eigen::Index groups = (d + quantile_index::step_group - 1) / quantile_index::step_group;
    buckets_ = b;
    origin_.assign(static_cast<std::size_t>(groups * quantile_index::step_group), 0.0f);
    scale_.assign(origin_.size(), 0.0f);
    table_.assign(static_cast<std::size_t>(d * (b + 2)), 0);
    steps_.assign(static_cast<std::size_t>(groups), 0);
    std::vector<std::int32_t> count(static_cast<std::size_t>(b + 1));
    for (Eigen::Index c = 0; c < d; ++c) {
      const float* x = knots + c * k;
      const float range = x[k - 1] - x[0];
      float scale = static_cast<float>(b) / range;
      if (!(range > 0.0f) || !std::isfinite(scale)) scale = 0.0f;
      origin_[static_cast<std::size_t>(c)] = x[0];
      scale_[static_cast<std::size_t>(c)] = scale;
      std::fill(count.begin(), count.end(), 0);
      for (Eigen::Index i = 0; i < k; ++i)
        ++count[static_cast<std::size_t>(quantile_bucket(x[i], x[0], scale, static_cast<float>(b)))];
      std::uint16_t* entry = table_.data() + c * (b + 2);
      std::int32_t below = 0, widest = 0;
      for (Eigen::Index j = 0; j <= b; ++j) {
        entry[j] = static_cast<std::uint16_t>(below);
        below += count[static_cast<std::size_t>(j)];
        widest = std::max(widest, count[static_cast<std::size_t>(j)]);
      }
      entry[b + 1] = static_cast<std::uint16_t>(below);
      std::uint8_t steps = 0;
      while ((std::int32_t{1} << steps) <= widest) ++steps;  // 2^steps - 1 >= widest
      std::uint8_t& group = steps_[static_cast<std::size_t>(c / quantile_index::step_group)];
      group = std::max(group, steps);
    }
  }

  bool usable() const { return buckets_ > 0; }

  /// The index over `knots` (with knots[-1] readable) and `segments` of the map it was built for.
  quantile_index view(Eigen::Index d, Eigen::Index k, const float* knots, const float* segments) const {
    return {d, k, buckets_, knots, segments, origin_.data(), scale_.data(), table_.data(), steps_.data()};
  }

 private:
  Eigen::Index buckets_ = 0;
  std::vector<float> origin_, scale_;
  std::vector<std::uint16_t> table_;
  std::vector<std::uint8_t> steps_;
};

}  // namespace act::detail
