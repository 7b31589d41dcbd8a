#pragma once
/// \file allocation_tracking.hpp
/// Shared by the sources of the test_allocation executable: the counters of its replaced operator new
/// (defined in tests/io/test_allocation.cpp), the peak measurement and the GGUF byte builders.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <act/core/error.hpp>

#include "io_test_util.hpp"

namespace act_test {

/// Live and peak heap bytes, kept by the replaced operator new.
extern std::size_t live_bytes;
extern std::size_t peak_bytes;

/// Extra heap bytes at the peak while `f` runs; `f` must throw act::error (`fails`) or return.
template <class F>
std::size_t peak_during(F&& f, bool fails = true) {
  const std::size_t base = live_bytes;
  peak_bytes = live_bytes;
  bool threw = false;
  try {
    f();
  } catch (const act::error&) {
    threw = true;
  }
  CHECK(threw == fails);
  return peak_bytes - base;
}

/// Generous for the messages and small vectors a rejected file costs; far below any claimed size.
inline constexpr std::size_t small = 64 * 1024;

inline void gguf_string(std::vector<unsigned char>& b, const std::string& s) {
  put_u64(b, s.size());
  put_str(b, s);
}

inline std::vector<unsigned char> gguf_header(std::uint64_t tensors, std::uint64_t kvs) {
  std::vector<unsigned char> b = {'G', 'G', 'U',
                                  'F'};  // (insert into an empty vector trips GCC 12's -Wstringop-overflow)
  put_u32(b, 3);
  put_u64(b, tensors);
  put_u64(b, kvs);
  return b;
}

}  // namespace act_test
