// libFuzzer target: act::parse_control_vector (the whole GGUF structure, then the control-vector rules)
// on arbitrary bytes. act::error is the documented answer to a malformed file; any other exception, a
// crash or a sanitizer report is a finding.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <act/io/gguf.hpp>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  act::control_vector cv;
  try {
    cv = act::parse_control_vector(data, size, "fuzz.gguf");
  } catch (const act::error&) {
    return 0;
  }
  // An accepted control vector is writable, and what is written reads back bit for bit; except that act
  // reads Inf and NaN directions (as llama.cpp does) but refuses to write them.
  bool finite = true;
  for (const auto& entry : cv.directions)
    for (const float v : entry.second) finite = finite && std::isfinite(v);
  if (!finite) {
    bool refused = false;
    try {
      (void)act::serialize_control_vector(cv);
    } catch (const act::non_finite_error&) {
      refused = true;
    }
    ACT_FUZZ_CHECK(refused);
    return 0;
  }
  const std::vector<unsigned char> bytes = act::serialize_control_vector(cv);
  const act::control_vector back = act::parse_control_vector(bytes.data(), bytes.size(), "round-trip.gguf");
  ACT_FUZZ_CHECK(back.model_hint == cv.model_hint);
  ACT_FUZZ_CHECK(back.directions.size() == cv.directions.size());
  for (const auto& [layer, direction] : cv.directions) {
    const auto it = back.directions.find(layer);
    ACT_FUZZ_CHECK(it != back.directions.end());
    ACT_FUZZ_CHECK(it->second.size() == direction.size());
    ACT_FUZZ_CHECK(std::memcmp(it->second.data(), direction.data(), direction.size() * sizeof(float)) == 0);
  }
  return 0;
}
