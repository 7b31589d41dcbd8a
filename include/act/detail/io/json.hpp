#pragma once
/// \file json.hpp
/// A small strict JSON parser and string escaper, enough for safetensors headers.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <act/core/error.hpp>
#include <act/detail/io/text.hpp>

namespace act::detail {

/// One parsed JSON value. Objects keep their members in file order (keys[i] -> values[i]).
struct json_value {
  enum class kind { null, boolean, number, string, array, object };
  kind type = kind::null;
  bool boolean = false;
  double number = 0.0;   ///< every number, also integers (possibly rounded)
  bool is_uint = false;  ///< an integer literal >= 0; exact value in `uint_value`
  bool is_int = false;   ///< an integer literal that fits int64; exact value in `int_value`
  std::uint64_t uint_value = 0;
  std::int64_t int_value = 0;
  std::string string;
  std::vector<json_value> items;  ///< array elements, or object member values
  std::vector<std::string> keys;  ///< object member names, parallel to `items`

  /// Object member by name, nullptr when absent (or when this is not an object).
  const json_value* find(std::string_view key) const {
    if (type != kind::object) return nullptr;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return &items[i];
    }
    return nullptr;
  }
};

/// Name of a JSON kind for messages ("a string", "an object").
inline const char* json_kind_name(json_value::kind k) {
  switch (k) {
    case json_value::kind::null:
      return "null";
    case json_value::kind::boolean:
      return "a boolean";
    case json_value::kind::number:
      return "a number";
    case json_value::kind::string:
      return "a string";
    case json_value::kind::array:
      return "an array";
    case json_value::kind::object:
      return "an object";
  }
  return "unknown";
}

/// Recursive-descent parser over a byte range. Errors throw format_error with the byte offset.
/// (A template on the character type only so that a translation unit compiles it where it parses JSON.)
template <class Char = char>
class json_parser : protected text_cursor {
  static_assert(sizeof(Char) == 1, "JSON text is UTF-8: char-sized units");

 public:
  /// Deep enough for any real header; bounds recursion so hostile input cannot exhaust the stack.
  static constexpr int max_depth = 64;

  explicit json_parser(std::basic_string_view<Char> text)
      : text_cursor(std::string_view(reinterpret_cast<const char*>(text.data()), text.size())) {}

  /// Parses exactly one value surrounded by optional whitespace.
  json_value parse_document() {
    skip_space();
    json_value v = parse_value(0);
    skip_space();
    if (pos_ != text_.size()) fail("unexpected characters after the JSON value");
    return v;
  }

 protected:
  // Readers of one document shape (the safetensors header) derive from the parser and use these steps.
  [[noreturn]] void fail(std::string_view what) const override {
    raise<format_error>("JSON error at byte {}: {}", pos_, what);
  }

  void expect_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) fail("invalid literal");
    pos_ += word.size();
  }

  json_value parse_value(int depth) {
    if (depth >= max_depth) fail("nesting deeper than 64 levels");
    json_value v;
    switch (peek()) {
      case '{':
        parse_object(v, depth);
        break;
      case '[':
        parse_array(v, depth);
        break;
      case '"':
        v.type = json_value::kind::string;
        v.string = parse_string();
        break;
      case 't':
        expect_word("true");
        v.type = json_value::kind::boolean;
        v.boolean = true;
        break;
      case 'f':
        expect_word("false");
        v.type = json_value::kind::boolean;
        break;
      case 'n':
        expect_word("null");
        break;
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) {
          parse_number(v);
        } else if (at_end()) {
          fail("unexpected end of input");
        } else {
          fail("unexpected character");
        }
    }
    return v;
  }

  /// Steps over the '{' or '[' at the cursor: false when `close` follows at once (an empty object or
  /// array, then consumed too).
  bool open_container(char close) {
    ++pos_;
    skip_space();
    if (peek() != close) return true;
    ++pos_;
    return false;
  }

  void parse_object(json_value& v, int depth) {
    v.type = json_value::kind::object;
    if (!open_container('}')) return;
    do {
      skip_space();
      if (peek() != '"') fail("expected a string key in object");
      std::string key = parse_string();
      skip_space();
      if (peek() != ':') fail("expected ':' after object key");
      ++pos_;
      skip_space();
      v.items.push_back(parse_value(depth + 1));
      v.keys.push_back(std::move(key));
    } while (next_item('}', "expected ',' or '}' in object"));
    refuse_duplicate_keys(v.keys);
  }

  /// Duplicate keys are ambiguous (which one wins differs between parsers), so they are refused, naming the
  /// smallest (in O(n log n): a pairwise scan let a 1 MB header of distinct keys cost minutes).
  template <class Keys>
  void refuse_duplicate_keys(const Keys& keys) const {
    std::string_view twice;
    if (smallest_duplicate(keys, twice)) fail("duplicate key '" + std::string(twice) + "'");
  }

  void parse_array(json_value& v, int depth) {
    v.type = json_value::kind::array;
    if (!open_container(']')) return;
    do {
      skip_space();
      v.items.push_back(parse_value(depth + 1));
    } while (next_item(']', "expected ',' or ']' in array"));
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  /// A byte a string holds as is: ASCII, not a control character, quote or backslash.
  static bool plain_string_byte(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x80 && c != '"' && c != '\\';
  }

  std::uint32_t parse_hex4() {
    if (text_.size() - pos_ < 4) fail("truncated \\u escape");
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9')
        value |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        value |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        value |= static_cast<std::uint32_t>(c - 'A' + 10);
      else
        fail("invalid hex digit in \\u escape");
    }
    return value;
  }

  /// Copies one raw UTF-8 sequence starting at pos_, refusing malformed, overlong and surrogate forms.
  void copy_utf8_sequence(std::string& out) {
    const auto lead = static_cast<unsigned char>(text_[pos_]);
    int extra = 0;
    std::uint32_t cp = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
      extra = 1;
      cp = lead & 0x1Fu;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      extra = 2;
      cp = lead & 0x0Fu;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      extra = 3;
      cp = lead & 0x07u;
    } else
      fail("invalid UTF-8 in string");
    if (text_.size() - pos_ <= static_cast<std::size_t>(extra)) fail("truncated UTF-8 sequence in string");
    for (int i = 1; i <= extra; ++i) {
      const auto c = static_cast<unsigned char>(text_[pos_ + static_cast<std::size_t>(i)]);
      if ((c & 0xC0u) != 0x80u) fail("invalid UTF-8 in string");
      cp = (cp << 6) | (c & 0x3Fu);
    }
    const bool overlong = (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail("invalid UTF-8 in string");
    out.append(text_.substr(pos_, static_cast<std::size_t>(extra) + 1));
    pos_ += static_cast<std::size_t>(extra) + 1;
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      // A run of plain ASCII is copied at once: names and values are mostly that.
      std::size_t run = pos_;
      while (run < text_.size() && plain_string_byte(text_[run])) ++run;
      out.append(text_.data() + pos_, run - pos_);
      pos_ = run;
      if (at_end()) fail("unterminated string");
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (static_cast<unsigned char>(c) >= 0x80) {
        copy_utf8_sequence(out);
        continue;
      }
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      ++pos_;
      if (at_end()) fail("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          std::uint32_t cp = parse_hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("unpaired low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // A high surrogate must be followed by an escaped low one; together they name one code point.
            if (text_.substr(pos_, 2) != "\\u") fail("unpaired high surrogate in \\u escape");
            pos_ += 2;
            const std::uint32_t low = parse_hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("unpaired high surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          fail("invalid escape in string");
      }
    }
  }

  void parse_number(json_value& v) {
    v.type = json_value::kind::number;
    const std::size_t start = pos_;
    const bool negative = peek() == '-';
    if (negative) ++pos_;
    if (!(peek() >= '0' && peek() <= '9')) fail("expected a digit");
    const std::size_t digits_start = pos_;
    if (peek() == '0') {
      ++pos_;
      if (peek() >= '0' && peek() <= '9') fail("leading zeros are not allowed");
    } else {
      while (peek() >= '0' && peek() <= '9') ++pos_;
    }
    const std::size_t digits_end = pos_;
    bool integer = true;
    if (peek() == '.') {
      integer = false;
      ++pos_;
      if (!(peek() >= '0' && peek() <= '9')) fail("expected a digit after '.'");
      while (peek() >= '0' && peek() <= '9') ++pos_;
    }
    if (peek() == 'e' || peek() == 'E') {
      integer = false;
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!(peek() >= '0' && peek() <= '9')) fail("expected a digit in exponent");
      while (peek() >= '0' && peek() <= '9') ++pos_;
    }
    const std::string_view token = text_.substr(start, pos_ - start);
    if (!integer) {
      // strtod needs a terminated copy; the token is short and already validated against the grammar.
      v.number = std::strtod(std::string(token).c_str(), nullptr);
      return;
    }

    std::uint64_t magnitude = 0;
    for (std::size_t i = digits_start; i < digits_end; ++i) {
      const auto digit = static_cast<std::uint64_t>(text_[i] - '0');
      if (magnitude > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
        fail("integer " + std::string(token) + " does not fit in 64 bits");
      }
      magnitude = magnitude * 10 + digit;
    }
    // The integer rounded to the nearest double, as strtod rounds it ("-0" is -0.0).
    v.number = negative ? -static_cast<double>(magnitude) : static_cast<double>(magnitude);
    constexpr std::uint64_t int64_limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (!negative) {
      v.is_uint = true;
      v.uint_value = magnitude;
      if (magnitude <= int64_limit) {
        v.is_int = true;
        v.int_value = static_cast<std::int64_t>(magnitude);
      }
    } else if (magnitude <= int64_limit + 1) {
      v.is_int = true;
      // -(2^63) is representable although +2^63 is not; compute it without overflowing.
      v.int_value = magnitude == int64_limit + 1 ? std::numeric_limits<std::int64_t>::min()
                                                 : -static_cast<std::int64_t>(magnitude);
      v.is_uint = magnitude == 0;  // "-0" is still the unsigned integer 0
    } else {
      fail("integer " + std::string(token) + " does not fit in 64 bits");
    }
  }
};

/// Parses a complete JSON document (a string or string_view). Throws format_error naming the byte offset
/// of the problem.
template <class Text>
json_value parse_json(const Text& text) {
  return json_parser<char>(std::string_view(text)).parse_document();
}

/// Appends `s` to `out` as a quoted JSON string, escaping quotes, backslashes and control characters.
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    // Runs that need no escape (UTF-8 bytes among them) are copied at once.
    std::size_t run = i;
    while (run < s.size() && static_cast<unsigned char>(s[run]) >= 0x20 && s[run] != '"' && s[run] != '\\') ++run;
    out.append(s.data() + i, run - i);
    if (run == s.size()) break;
    i = run;
    const char c = s[i];
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:  // the other control characters
        out += "\\u00";
        out += hex[u >> 4];
        out += hex[u & 0xF];
    }
  }
  out += '"';
}

/// Returns `s` as a quoted JSON string.
inline std::string json_quote(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

}  // namespace act::detail
