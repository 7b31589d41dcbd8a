#pragma once
/// The toy diffusion model's random numbers: examples/common/rng.hpp with the model's own sub-seed constant.
#include <cstdint>

#include "../common/rng.hpp"

namespace toy_diffusion {

using examples_common::rng;

/// Seed of stream `index` under `base`: image i of a set gets the same noise whatever the batch.
inline std::uint64_t derive_seed(std::uint64_t base, std::uint64_t index) {
  return examples_common::derive_seed(base, index, 0xA0761D6478BD642FULL);
}

}  // namespace toy_diffusion
