#pragma once
/// \file text.hpp
/// Small text helpers of the file layer (without fmt/format.h, which is costly to include), and the
/// cursor steps its two little parsers (JSON headers, .npy header dicts) share.

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
