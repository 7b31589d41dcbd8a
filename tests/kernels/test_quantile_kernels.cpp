// The quantile hook's row kernel against the element-wise definition it has always had (a search for
// s = number of knots <= v, then T(v) - v = g (v - x_ref) + h on segment s, then v + lambda (T(v) - v)),
// bit for bit, on each act::simd level, for maps that stress the search: dense and sparse knots, repeated
// knots, a single knot, very wide and very narrow ranges.
#include <act/estimators/quantile_act.hpp>
#include <act/hooks/quantile_hook.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "each_level.hpp"

namespace {

/// Today's hook, one element: what the kernels must reproduce exactly.
template <class Scalar, class T>
T reference(const act::quantile_map<Scalar>& map, Eigen::Index c, T slot, double lambda) {
  using C = typename act::detail::storage_traits<T>::compute;
  const C v = static_cast<C>(slot);
  if (!std::isfinite(v)) return slot;
  const Eigen::Index k = map.knots();
  const auto knot = [&](Eigen::Index i) { return static_cast<C>(static_cast<Scalar>(map.knots_source(i, c))); };
  Eigen::Index s = 0;
  while (s < k && knot(s) <= v) ++s;
  const auto x = [&](Eigen::Index i) { return static_cast<double>(map.knots_source(i, c)); };
  const auto y = [&](Eigen::Index i) { return static_cast<double>(map.knots_target(i, c)); };
  constexpr double most = static_cast<double>(std::numeric_limits<Scalar>::max());
  Scalar g = 0, h = 0;
  if (s == 0) {
    h = static_cast<Scalar>(y(0) - x(0));
  } else if (s == k) {
    h = static_cast<Scalar>(y(k - 1) - x(k - 1));
  } else {
    const double x0 = x(s - 1), x1 = x(s), y0 = y(s - 1), y1 = y(s);
    g = static_cast<Scalar>(x1 > x0 ? std::clamp((y1 - y0) / (x1 - x0) - 1.0, -most, most) : 0.0);
    h = static_cast<Scalar>(y0 - x0);
  }
  const C ref = knot(s > 0 ? s - 1 : 0);
  const C d = static_cast<C>(g) * (v - ref) + static_cast<C>(h);
  return static_cast<T>(v + static_cast<C>(lambda) * d);
}

/// Maps of d neurons with K knots whose neuron c is of kind c % 8.
act::quantile_map<float> stress_map(Eigen::Index d, Eigen::Index k, std::mt19937& rng) {
  act::quantile_map<float> map{Eigen::MatrixXf(k, d), Eigen::MatrixXf(k, d)};
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (Eigen::Index c = 0; c < d; ++c) {
    std::vector<float> x(static_cast<std::size_t>(k)), y(x.size());
    for (auto& v : x) v = n(rng);
    for (auto& v : y) v = 1.3f * n(rng) + 0.2f;
    switch (c % 8) {
      case 1:  // repeated knots
        for (std::size_t i = 1; i < x.size(); i += 3) x[i] = x[i - 1];
        break;
      case 2:  // all knots equal
        std::fill(x.begin(), x.end(), 0.5f);
        break;
      case 3:  // very wide
        for (auto& v : x) v *= 1e30f;
        break;
      case 4:  // very narrow, around 1
        for (auto& v : x) v = 1.0f + v * 1e-6f;
        break;
      case 5:  // heavy tails: a few far knots, the rest packed
        for (auto& v : x) v = v * v * v * v * v;
        break;
      case 6:  // signed zeros
        for (std::size_t i = 0; i < x.size(); ++i)
          if (i % 4 == 0) x[i] = i % 8 == 0 ? -0.0f : 0.0f;
        break;
      default:
        break;
    }
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    for (Eigen::Index i = 0; i < k; ++i) {
      map.knots_source(i, c) = x[static_cast<std::size_t>(i)];
      map.knots_target(i, c) = y[static_cast<std::size_t>(i)];
    }
  }
  return map;
}

/// Values around the knots of each neuron: the knots, their float neighbours, random normals, far values,
/// zeros, subnormals, infinities and NaN.
template <class T>
std::vector<T> stress_buffer(const act::quantile_map<float>& map, Eigen::Index rows, std::mt19937& rng) {
  const Eigen::Index d = map.dim(), k = map.knots();
  std::vector<T> buf(static_cast<std::size_t>(rows * d));
  std::normal_distribution<float> n(0.0f, 1.5f);
  std::uniform_int_distribution<Eigen::Index> pick(0, k - 1);
  constexpr float inf = std::numeric_limits<float>::infinity();
  for (Eigen::Index r = 0; r < rows; ++r)
    for (Eigen::Index c = 0; c < d; ++c) {
      const float knot = map.knots_source(pick(rng), c);
      float v = 0;
      switch ((r * 7 + c) % 10) {
        case 0:
          v = knot;
          break;
        case 1:
          v = std::nextafter(knot, inf);
          break;
        case 2:
          v = std::nextafter(knot, -inf);
          break;
        case 3:
          v = n(rng) * 1e31f;
          break;
        case 4:
          v = (r + c) % 3 == 0 ? -0.0f : std::numeric_limits<float>::denorm_min();
          break;
        case 5:
          v = (r + c) % 2 ? inf : std::numeric_limits<float>::quiet_NaN();
          break;
        case 6:
          v = knot * (1.0f + 1e-7f * n(rng));
          break;
        default:
          v = n(rng);
          break;
      }
      buf[static_cast<std::size_t>(r * d + c)] = static_cast<T>(v);
    }
  return buf;
}

template <class T>
bool same_bits(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

/// The row-major buffer `rows` x d as a column-major one.
template <class T>
std::vector<T> column_major(const std::vector<T>& row_major, Eigen::Index rows, Eigen::Index d) {
  std::vector<T> out(row_major.size());
  for (Eigen::Index r = 0; r < rows; ++r)
    for (Eigen::Index c = 0; c < d; ++c)
      out[static_cast<std::size_t>(c * rows + r)] = row_major[static_cast<std::size_t>(r * d + c)];
  return out;
}

/// A column-major view: neuron c's rows contiguous at data + c * rows.
template <class T>
act::activations<T> column_view(std::vector<T>& buf, Eigen::Index rows, Eigen::Index d) {
  return {buf.data(), rows, d, 1, rows};
}

template <class T>
void check_against_reference(Eigen::Index d, Eigen::Index k, Eigen::Index rows, double lambda, unsigned seed) {
  std::mt19937 rng(seed);
  const auto map = stress_map(d, k, rng);
  const auto original = stress_buffer<T>(map, rows, rng);
  const act::quantile_hook<float> hook(map, lambda);
  act::test::each_level([&](act::simd::level) {
    auto buf = original;
    auto by_column = column_major(original, rows, d);
    hook(act::view(buf.data(), rows, d));
    hook(column_view(by_column, rows, d));
    for (Eigen::Index r = 0; r < rows; ++r)
      for (Eigen::Index c = 0; c < d; ++c) {
        const auto i = static_cast<std::size_t>(r * d + c);
        const T expected = reference(map, c, original[i], lambda);
        CAPTURE(r);
        CAPTURE(c);
        CAPTURE(static_cast<double>(original[i]));
        REQUIRE(same_bits(buf[i], expected));
        REQUIRE(same_bits(by_column[static_cast<std::size_t>(c * rows + r)], expected));
      }
  });
}

}  // namespace

TEST_CASE_TEMPLATE("the quantile row kernel equals today's element-wise hook bit for bit", T, float, Eigen::half,
                   Eigen::bfloat16) {
  for (const Eigen::Index k : {1, 2, 3, 16, 128, 300})
    for (const Eigen::Index d : {1, 7, 16, 33, 70}) {
      CAPTURE(k);
      CAPTURE(d);
      check_against_reference<T>(d, k, 19, 0.7, static_cast<unsigned>(k * 100 + d));
    }
  check_against_reference<T>(64, 128, 40, -1.3, 5);
  check_against_reference<T>(64, 128, 40, 1.0, 6);
  check_against_reference<T>(20, 128, 300, 0.8, 7);  // column-major: blocks of 16 vectors, then single ones
}

TEST_CASE("the quantile row kernel in double equals today's element-wise hook") {
  std::mt19937 rng(77);
  const Eigen::Index d = 24, k = 128, rows = 30;
  const auto mapf = stress_map(d, k, rng);
  const act::quantile_map<double> map{mapf.knots_source.cast<double>(), mapf.knots_target.cast<double>()};
  const auto original = stress_buffer<double>(mapf, rows, rng);
  const act::quantile_hook<double> hook(map, 0.6);
  auto buf = original;
  hook(act::view(buf.data(), rows, d));
  for (Eigen::Index r = 0; r < rows; ++r)
    for (Eigen::Index c = 0; c < d; ++c) {
      const auto i = static_cast<std::size_t>(r * d + c);
      REQUIRE(same_bits(buf[i], reference(map, c, original[i], 0.6)));
    }
}

TEST_CASE(
    "the quantile hook's threads, masks and per-row strengths equal the element-wise hook on each level, "
    "row- and column-major") {
  std::mt19937 rng(91);
  const Eigen::Index d = 130, k = 128, rows = 600;
  const auto map = stress_map(d, k, rng);
  const auto original = stress_buffer<float>(map, rows, rng);
  const act::quantile_hook<float> hook(map, 0.4);
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(rows));
  std::vector<float> lambdas(static_cast<std::size_t>(rows));
  for (Eigen::Index r = 0; r < rows; ++r) {
    mask[static_cast<std::size_t>(r)] = r % 3 != 1;
    lambdas[static_cast<std::size_t>(r)] = r % 5 == 0 ? 0.0f : 0.01f * static_cast<float>(r % 97) - 0.3f;
  }
  act::test::each_level([&](act::simd::level) {
    auto threaded = original, masked = original, per_row = original;
    auto threaded_by_column = column_major(original, rows, d), per_row_by_column = threaded_by_column;
    hook(act::view(threaded.data(), rows, d), 2);
    hook.masked(act::view(masked.data(), rows, d), mask);
    hook.per_row(act::view(per_row.data(), rows, d), lambdas);
    hook(column_view(threaded_by_column, rows, d), 2);
    hook.per_row(column_view(per_row_by_column, rows, d), lambdas);
    for (Eigen::Index r = 0; r < rows; ++r)
      for (Eigen::Index c = 0; c < d; ++c) {
        const auto i = static_cast<std::size_t>(r * d + c);
        const float full = reference(map, c, original[i], 0.4);
        REQUIRE(same_bits(threaded[i], full));
        REQUIRE(same_bits(masked[i], mask[static_cast<std::size_t>(r)] ? full : original[i]));
        const float l = lambdas[static_cast<std::size_t>(r)];
        const float at_l = l == 0.0f ? original[i] : reference(map, c, original[i], static_cast<double>(l));
        REQUIRE(same_bits(per_row[i], at_l));
        const auto j = static_cast<std::size_t>(c * rows + r);
        REQUIRE(same_bits(threaded_by_column[j], full));
        REQUIRE(same_bits(per_row_by_column[j], at_l));
      }
  });
}
