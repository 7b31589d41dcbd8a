#pragma once
/// \file text.hpp
/// Small text helpers of the file layer (without fmt/format.h, which is costly to include).

#include <string>
#include <string_view>

namespace act::detail {

/// The elements of `values` (integers) in decimal, separated by `separator`: "3, 4".
template <class Range>
std::string join_numbers(const Range& values, std::string_view separator) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) out += separator;
    out += std::to_string(v);
  }
  return out;
}

}  // namespace act::detail
