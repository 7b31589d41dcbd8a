// libFuzzer target: act::parse_safetensors on arbitrary bytes. act::error is the documented answer to a
// malformed file; any other exception, a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>

#include <act/io/safetensors.hpp>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  act::safetensors_file f;
  try {
    f = act::parse_safetensors(data, size, "fuzz.safetensors");
  } catch (const act::error&) {
    return 0;
  }
  // An accepted file re-serialises into one that parses to the same content.
  const std::vector<unsigned char> bytes = act::serialize_safetensors(f);
  const act::safetensors_file g = act::parse_safetensors(bytes.data(), bytes.size(), "round-trip.safetensors");
  ACT_FUZZ_CHECK(g.metadata == f.metadata);
  ACT_FUZZ_CHECK(g.tensors.size() == f.tensors.size());
  for (std::size_t i = 0; i < f.tensors.size(); ++i) {
    ACT_FUZZ_CHECK(g.tensors[i].name == f.tensors[i].name);
    ACT_FUZZ_CHECK(g.tensors[i].type == f.tensors[i].type);
    ACT_FUZZ_CHECK(g.tensors[i].shape == f.tensors[i].shape);
    ACT_FUZZ_CHECK(g.tensors[i].bytes == f.tensors[i].bytes);
  }
  return 0;
}
