// libFuzzer target: act::parse_npy on arbitrary bytes. act::error is the documented answer to a malformed
// file; any other exception, a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <act/io/npy.hpp>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  act::npy_array a;
  try {
    a = act::parse_npy(data, size, "fuzz.npy");
  } catch (const act::error&) {
    return 0;
  }
  // Whatever was accepted is consistent and survives a float64 round trip bit for bit.
  ACT_FUZZ_CHECK(a.values.size() == a.rows() * a.cols());
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> m(static_cast<Eigen::Index>(a.rows()),
                                                                           static_cast<Eigen::Index>(a.cols()));
  if (!a.values.empty()) std::memcpy(m.data(), a.values.data(), a.values.size() * sizeof(double));
  const std::vector<unsigned char> bytes = act::serialize_npy(m, a.shape.size() == 1);
  const act::npy_array b = act::parse_npy(bytes.data(), bytes.size(), "round-trip.npy");
  ACT_FUZZ_CHECK(b.shape == a.shape);
  ACT_FUZZ_CHECK(b.values.size() == a.values.size());
  ACT_FUZZ_CHECK(a.values.empty() ||
                 std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(double)) == 0);
  return 0;
}
