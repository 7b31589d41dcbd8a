#pragma once
/// The seeds of the toy diffusion experiments' image sets. Maps are fitted on the fitting seeds; strengths
/// are chosen on images from the selection seed and reported on images from the test seed, so the three
/// sets start from different noise (flow.hpp initial_noise derives image i's noise from (seed, i)).
#include <cstdint>

namespace toy_diffusion {

struct experiment_seeds {
  std::uint64_t fit_source = 1001, fit_target = 1002;
  std::uint64_t selection = 1003;  ///< strengths and every other choice are made on these images
  std::uint64_t test = 1004;       ///< the reported numbers come from these only
};

}  // namespace toy_diffusion
