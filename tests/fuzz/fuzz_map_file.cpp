// libFuzzer target: map loading as act::load_maps does it (parse_safetensors, then
// maps_from_safetensors) on arbitrary bytes. act::error is the documented answer to a malformed file;
// any other exception, a crash or a sanitizer report is a finding.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include <act/io/map_file.hpp>

#include "fuzz_check.hpp"

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
    const auto* affine = std::get_if<act::affine_map<float>>(&maps.at(site).map);
    if (affine == nullptr) continue;  // quantile maps: the parser and the round trip below cover them
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
