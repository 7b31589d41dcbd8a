// The generic GGUF parser (act::detail::parse_gguf) on a hostile file: split from the peak-memory case of
// tests/io/test_allocation.cpp so that tests of the public readers call no detail code. Part of the
// test_allocation executable, whose replaced operator new counts the bytes.
#include <act/io/gguf.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include <doctest/doctest.h>

#include "allocation_tracking.hpp"
#include "io_test_util.hpp"

using act_test::gguf_header;
using act_test::gguf_string;
using act_test::peak_during;
using act_test::put_u32;

TEST_CASE("peak memory of the generic GGUF parser stays a fixed multiple of the file size") {
  SUBCASE("gguf: a million one-byte metadata values") {
    constexpr std::uint64_t n = 1'000'000;
    auto b = gguf_header(0, n);
    for (std::uint64_t i = 0; i < n; ++i) {
      gguf_string(b, std::to_string(i));
      put_u32(b, 0);
      b.push_back(1);
    }
    const auto start = std::chrono::steady_clock::now();
    const std::size_t peak = peak_during([&] { act::detail::parse_gguf(b.data(), b.size(), "x.gguf"); }, false);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    MESSAGE("gguf: ", b.size(), " bytes, peak ", peak, " bytes (", double(peak) / double(b.size()), "x), ", seconds,
            " s");
    CHECK(peak <= 16 * b.size());
    CHECK(seconds < 120);  // the duplicate-key check is O(n log n); a pairwise scan took hours here
  }
}
