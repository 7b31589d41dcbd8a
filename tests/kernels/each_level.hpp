#pragma once
// Runs a test body once per act::simd level (force_level), and names the levels this build or processor lacks.

#include <act/core/simd.hpp>

#include <string>

#include <doctest/doctest.h>

namespace act::test {

/// body(level) for each available level, the level forced meanwhile (reset afterwards, also on failure);
/// MESSAGE for each level skipped.
template <class Body>
void each_level(Body&& body) {
  struct reset {
    ~reset() { act::simd::reset_level(); }
  } const guard;
  for (const act::simd::level level : act::simd::all_levels) {
    if (!act::simd::available(level)) {
      MESSAGE("skipped simd level ", std::string(act::simd::name(level)),
              act::simd::compiled(level) ? ": this processor lacks it" : ": not compiled in this build");
      continue;
    }
    act::simd::force_level(level);
    CAPTURE(std::string(act::simd::name(level)));
    body(level);
  }
}

}  // namespace act::test
