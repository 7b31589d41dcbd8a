#pragma once
/// The toy LM's random numbers: examples/common/rng.hpp with the LM's own sub-seed constant.
#include <cstdint>

#include "../common/rng.hpp"

namespace toy_lm {

using examples_common::rng;

/// Seed of stream `index` of a base seed: continuation i is reproducible whatever its batch.
inline std::uint64_t derive_seed(std::uint64_t base, std::uint64_t index) {
  return examples_common::derive_seed(base, index, 0xD1B54A32D192ED03ULL);
}

}  // namespace toy_lm
