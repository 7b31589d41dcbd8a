#pragma once
/// \file text.hpp
/// Small text helpers of the file layer (without fmt/format.h, which is costly to include), and the
/// cursor steps its two little parsers (JSON headers, .npy header dicts) share.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

/// Appends `value` in decimal to `out`.
inline void append_decimal(std::string& out, std::uint64_t value) {
  char digits[20];
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) out += digits[--n];
}

/// Finds the smallest string that occurs more than once among `keys` (strings or string_views) into
/// `smallest`; false when they are all distinct. Keys in ascending order cost one pass. Otherwise they are
/// sorted by (hash, key): equal keys end side by side while mostly integers are compared, and keys are
/// compared only where hashes tie, so even keys made to collide cost O(n log n) comparisons, never more.
template <class Keys>
bool smallest_duplicate(const Keys& keys, std::string_view& smallest) {
  bool ascending = true;
  for (std::size_t i = 1; i < keys.size() && ascending; ++i) ascending = keys[i - 1] < keys[i];
  if (ascending) return false;
  std::vector<std::pair<std::size_t, std::string_view>> order;
  order.reserve(keys.size());
  for (const auto& key : keys) order.emplace_back(std::hash<std::string_view>{}(key), key);
  std::sort(order.begin(), order.end());
  bool found = false;
  for (std::size_t i = 1; i < order.size(); ++i)
    if (order[i].second == order[i - 1].second && (!found || order[i].second < smallest)) {
      smallest = order[i].second;
      found = true;
    }
  return found;
}

/// A position in a text being parsed, with the steps act's little parsers share. A parser derives from it
/// and reports errors through `fail`, which names the position in the parser's own words.
class text_cursor {
 public:
  virtual ~text_cursor() = default;

 protected:
  explicit text_cursor(std::string_view text) : text_(text) {}
  text_cursor(const text_cursor&) = default;
  text_cursor& operator=(const text_cursor&) = default;

  [[noreturn]] virtual void fail(std::string_view what) const = 0;

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  /// Skips spaces, tabs and line ends.
  void skip_space() {
    while (!at_end()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  /// After an item of a list or dict: true when ',' follows (more items), false when `close` does (the
  /// end); either is consumed. Anything else fails with `what`.
  bool next_item(char close, std::string_view what) {
    skip_space();
    if (peek() == ',') {
      ++pos_;
      return true;
    }
    if (peek() != close) fail(what);
    ++pos_;
    return false;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace act::detail
