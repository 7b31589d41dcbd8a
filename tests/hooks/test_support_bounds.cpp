// Support boundaries and infinities under every kernel: open bounds leave values equal to a
// bound alone, closed ones move them; +-Inf and NaN keep their bits under every map, storage type and
// kernel (affine vector/portable/strided, per-row, quantile, fold).
#include <act/hooks/affine_hook.hpp>
#include <act/hooks/fold.hpp>
#include <act/hooks/quantile_hook.hpp>

#include <cstring>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

namespace {

constexpr float inf = std::numeric_limits<float>::infinity();
// Per element: +-Inf, NaN, the two bounds (-1, 1), inside (0.5), outside (5); exact in every storage type.
const float probe[] = {inf, -inf, std::numeric_limits<float>::quiet_NaN(), -1.0f, 1.0f, 0.5f, 5.0f};
constexpr int probes = 7;

template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

/// omega = 0, beta = 2 on d neurons (Inf * 0 is NaN: the case that broke), unbounded or [-1, 1].
template <class S>
act::affine_map<S> zero_slope_map(Eigen::Index d, bool bounded, act::support_bounds rule) {
  auto m = act::affine_map<S>::identity(d);
  m.omega.setZero();
  m.beta.setConstant(S(2));
  if (bounded) {
    m.lower = Eigen::Array<S, Eigen::Dynamic, 1>::Constant(d, S(-1));
    m.upper = Eigen::Array<S, Eigen::Dynamic, 1>::Constant(d, S(1));
  }
  m.bounds = rule;
  return m;
}

/// The value expected at lambda = 1: 2 inside the support, the input's bits otherwise.
template <class T>
T expected(float v, bool bounded, act::support_bounds rule) {
  bool inside = std::isfinite(v);
  if (inside && bounded) inside = rule == act::support_bounds::open ? (-1 < v && v < 1) : (-1 <= v && v <= 1);
  return inside ? static_cast<T>(2.0f) : static_cast<T>(v);
}

/// Runs `apply(buffer)` on a [rows x d] buffer of probes in layout `Layout` and checks every element.
template <class T, int Layout, class HookScalar>
void check_kernel(bool bounded, act::support_bounds rule, bool per_row) {
  constexpr Eigen::Index rows = 9, d = 40;  // a block of 8 rows and one; two full groups of 16 and a partial one
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Layout> x(rows, d);
  for (Eigen::Index r = 0; r < rows; ++r)
    for (Eigen::Index c = 0; c < d; ++c) x(r, c) = static_cast<T>(probe[(r + c) % probes]);
  const auto before = x;
  const act::affine_hook<HookScalar> hook(zero_slope_map<HookScalar>(d, bounded, rule), 1.0);
  if (per_row) {
    const std::vector<float> lambdas(rows, 1.0f);
    hook.per_row(act::view(x), lambdas);
  } else {
    hook(act::view(x));
  }
  for (Eigen::Index r = 0; r < rows; ++r)
    for (Eigen::Index c = 0; c < d; ++c) {
      const float v = static_cast<float>(before(r, c));
      CAPTURE(v);
      CAPTURE(c);
      CHECK(same_bits(x(r, c), expected<T>(v, bounded, rule)));
    }
}

template <class T, class HookScalar>
void check_all_kernels() {
  for (const bool bounded : {false, true})
    for (const auto rule : {act::support_bounds::open, act::support_bounds::closed})
      for (const bool per_row : {false, true}) {
        CAPTURE(bounded);
        CAPTURE(per_row);
        CAPTURE(act::bounds_name(rule));
        check_kernel<T, Eigen::RowMajor, HookScalar>(bounded, rule, per_row);
        check_kernel<T, Eigen::ColMajor, HookScalar>(bounded, rule, per_row);
      }
}

}  // namespace

TEST_CASE_TEMPLATE("affine hook: bounds open or closed, +-Inf and NaN kept, every storage type and layout", T, float,
                   double, Eigen::half, Eigen::bfloat16) {
  check_all_kernels<T, float>();
  check_all_kernels<T, double>();
}

TEST_CASE("open bounds are exact in the type the values are computed in, also for double maps on float data") {
  // A double map whose bound lies between two floats: the float next above it is inside, open or closed.
  const double lo = 1.0 + 1e-12;
  act::affine_map<double> m = act::affine_map<double>::identity(1);
  m.beta[0] = 1.0;
  m.lower = Eigen::ArrayXd::Constant(1, lo);
  m.upper = Eigen::ArrayXd::Constant(1, 4.0);
  for (const auto rule : {act::support_bounds::open, act::support_bounds::closed}) {
    m.bounds = rule;
    const act::affine_hook<double> hook(m, 1.0);
    std::vector<float> x = {1.0f, std::nextafter(1.0f, 2.0f), 4.0f};
    hook(act::view(x.data(), 1, 1));
    hook(act::view(x.data() + 1, 1, 1));
    hook(act::view(x.data() + 2, 1, 1));
    CHECK(x[0] == 1.0f);  // below lo either way
    CHECK(x[1] == std::nextafter(1.0f, 2.0f) + 1.0f);
    CHECK(x[2] == (rule == act::support_bounds::open ? 4.0f : 5.0f));
  }
}

TEST_CASE("channel-spatial mode honours open bounds") {
  act::affine_map<float> m = act::affine_map<float>::identity(1);
  m.beta[0] = 1.0f;
  m.lower = Eigen::ArrayXf::Constant(1, 0.0f);
  m.upper = Eigen::ArrayXf::Constant(1, 4.0f);
  std::vector<float> x = {0, 0, 0, 0};  // mean 0: on the lower bound
  act::affine_hook<float>(m, 1.0).channel_spatial(x.data(), 1, 1, 4);
  CHECK(x[0] == 0.0f);
  m.bounds = act::support_bounds::closed;
  act::affine_hook<float>(m, 1.0).channel_spatial(x.data(), 1, 1, 4);
  CHECK(x[0] == 1.0f);
}

TEST_CASE_TEMPLATE("quantile hook: +-Inf and NaN keep their bits in every storage type", T, float, double, Eigen::half,
                   Eigen::bfloat16) {
  act::quantile_map<float> q;
  q.knots_source.resize(3, 2);
  q.knots_target.resize(3, 2);
  q.knots_source << -1, -1, 0, 0, 1, 1;
  q.knots_target << 0, 0, 0, 0, 0, 0;  // a flat map: slope 0 inside the knots
  const act::quantile_hook<float> hook(q, 1.0);
  for (const int layout : {0, 1}) {
    std::vector<T> x;
    for (const float v : probe) x.push_back(static_cast<T>(v));
    x.push_back(static_cast<T>(0.0f));
    const auto before = x;
    if (layout == 0)
      hook(act::view(x.data(), static_cast<Eigen::Index>(x.size()) / 2, 2));
    else
      hook.per_row(act::view(x.data(), static_cast<Eigen::Index>(x.size()) / 2, 2),
                   std::vector<float>(x.size() / 2, 1.0f));
    for (std::size_t i = 0; i < 3; ++i) CHECK(same_bits(x[i], before[i]));
  }
}

TEST_CASE_TEMPLATE("fold: infinite weights and biases keep their bits, also at scale 0", T, float, double) {
  act::affine_map<T> m = act::affine_map<T>::identity(2);
  m.omega.setZero();  // scale 0 at lambda 1: inf * 0 would be NaN
  m.beta.setConstant(T(3));
  constexpr T tinf = std::numeric_limits<T>::infinity();
  Eigen::Matrix<T, 2, 2> w;
  w << tinf, 1, -tinf, 2;
  Eigen::Matrix<T, 2, 1> c(tinf, 1);
  act::fold_into_linear(w, c, m, 1.0);
  CHECK(w(0, 0) == tinf);
  CHECK(w(1, 0) == -tinf);
  CHECK(w(0, 1) == 0);
  CHECK(c(0) == tinf);
  CHECK(c(1) == T(3));
}
