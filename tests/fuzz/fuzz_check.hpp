#pragma once
/// \file fuzz_check.hpp
/// Shared by the libFuzzer targets: an invariant check that stops the fuzzer with a crash report.

#include <cstdio>
#include <cstdlib>

/// A broken round-trip is a bug even when nothing crashed; abort() makes libFuzzer save the input.
#define ACT_FUZZ_CHECK(condition)                                                            \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)
