// libFuzzer target: map loading as act::load_maps does it (parse_safetensors, then
// maps_from_safetensors) on arbitrary bytes, then the loaded maps applied. act::error is the documented
// answer to a malformed file; any other exception, a crash or a sanitizer report is a finding.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <act/io/map_file.hpp>

#include "fuzz_check.hpp"

namespace {

/// The site applied to `values` stored as T, row-major and column-major (the vector kernels and their search
/// index, with lanes along rows or along neurons) and with both strides above 1 (the element-wise binary
/// search): all three agree bit for bit.
template <class T>
void check_layouts_agree(act::map_set& maps, const std::string& site,
                         const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& values) {
  const Eigen::Index rows = values.rows(), d = values.cols();
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> x = values.cast<T>();
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> y = x;
  std::vector<T> spaced(static_cast<std::size_t>(2 * rows * d));  // element (r, c) at 2 (r d + c)
  for (Eigen::Index r = 0; r < rows; ++r)
    for (Eigen::Index c = 0; c < d; ++c) spaced[static_cast<std::size_t>(2 * (r * d + c))] = x(r, c);
  maps(site, act::view(x));
  maps(site, act::view(y));
  maps(site, act::activations<T>{spaced.data(), rows, d, 2 * d, 2});
  for (Eigen::Index r = 0; r < rows; ++r)
    for (Eigen::Index c = 0; c < d; ++c) {
      const T a = x(r, c), b = y(r, c), e = spaced[static_cast<std::size_t>(2 * (r * d + c))];
      ACT_FUZZ_CHECK(std::memcmp(&a, &e, sizeof a) == 0);
      ACT_FUZZ_CHECK(std::memcmp(&b, &e, sizeof b) == 0);
    }
}

/// A loaded quantile map applied to values on, next to and between its knots, NaN and +-Inf, in float, half
/// and bfloat16 buffers of both layouts, whatever knots the file holds.
void check_quantile_site(act::map_set& maps, const std::string& site, const act::quantile_map<float>& m) {
  const Eigen::Index d = m.dim(), k = m.knots();
  if (d > 256 || k > 512) return;    // keep each run fast
  constexpr Eigen::Index rows = 37;  // two groups of 16 rows and a remainder
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> x(rows, d);
  for (Eigen::Index c = 0; c < d; ++c)
    for (Eigen::Index r = 0; r < rows; ++r) {
      const float knot = m.knots_source((r * k) / rows, c), mirror = m.knots_source(k - 1 - (r * k) / rows, c);
      const float special = r == 4 ? std::nanf("") : r == 9 ? INFINITY : r == 14 ? -INFINITY : -knot;
      const float values[5] = {knot, std::nextafter(knot, -INFINITY), std::nextafter(knot, INFINITY),
                               knot / 2 + mirror / 2, special};
      x(r, c) = values[r % 5];
    }
  check_layouts_agree<float>(maps, site, x);
  check_layouts_agree<Eigen::half>(maps, site, x);
  check_layouts_agree<Eigen::bfloat16>(maps, site, x);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  act::map_set maps;
  try {
    maps = act::maps_from_safetensors(act::parse_safetensors(data, size, "fuzz.safetensors"), "fuzz.safetensors");
  } catch (const act::error&) {
    return 0;
  }
  ACT_FUZZ_CHECK(!maps.empty());
  // A loaded set is usable: applying it to a row with a NaN and finite values neither throws nor
  // invents NaN where the input had none.
  for (const std::string& site : maps.sites()) {
    if (const auto* quantile = std::get_if<act::quantile_map<float>>(&maps.at(site).map)) {
      check_quantile_site(maps, site, *quantile);
      continue;
    }
    const auto* affine = std::get_if<act::affine_map<float>>(&maps.at(site).map);
    if (affine == nullptr) continue;
    const auto& m = *affine;
    if (m.dim() > 4096) continue;  // keep each run fast; large maps are covered by the parser alone
    Eigen::Matrix<float, 2, Eigen::Dynamic, Eigen::RowMajor> x(2, m.dim());
    x.row(0).setZero();
    x.row(1).setConstant(std::nanf(""));
    maps(site, act::view(x));
    ACT_FUZZ_CHECK(x.row(1).array().isNaN().all());
    ACT_FUZZ_CHECK(!x.row(0).array().isNaN().any());
  }
  // And it saves to a file that loads again.
  const act::safetensors_file f = act::maps_to_safetensors(maps);
  const std::vector<unsigned char> bytes = act::serialize_safetensors(f);
  const act::map_set back = act::maps_from_safetensors(act::parse_safetensors(bytes.data(), bytes.size(), "rt"), "rt");
  ACT_FUZZ_CHECK(back.sites() == maps.sites());
  return 0;
}
