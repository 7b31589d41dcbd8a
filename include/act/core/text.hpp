#pragma once
/// \file text.hpp
/// The text rules act applies to names it writes into files (site names, metadata values) and to text it
/// shows from files: names are valid UTF-8 without control characters; shown text escapes control
/// characters and invalid UTF-8, so it stays on one line and cannot drive a terminal.
///
///     act::check_name("site name", "blk.3.post_attn_norm");   // fine
///     act::check_name("site name", "\xff");                   // throws act::invalid_argument
///     fmt::print("{}\n", act::printable(name_from_a_file));    // "\x1b]0;owned\x07" stays inert
///
/// (Templates over the text type only so that translation units that use none of this compile none of it.)

#include <cstddef>
#include <string>
#include <string_view>

#include <act/core/error.hpp>

namespace act {

namespace detail {

/// Length (1-4) of the well-formed UTF-8 sequence starting at `text[pos]`, storing its code point in
/// `code`; 0 when the bytes there are not UTF-8 (stray continuation bytes, overlong forms, surrogates,
/// code points past U+10FFFF, truncated sequences).
inline std::size_t utf8_sequence(std::string_view text, std::size_t pos, char32_t& code) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  char32_t cp = 0;
  if (lead < 0x80) {
    code = lead;
    return 1;
  }
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    cp = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    cp = lead & 0x0Fu;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    cp = lead & 0x07u;
  } else
    return 0;
  if (text.size() - pos < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0u) != 0x80u) return 0;
    cp = (cp << 6) | (byte(i) & 0x3Fu);
  }
  const bool overlong = (length == 3 && cp < 0x800) || (length == 4 && cp < 0x10000);
  if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  code = cp;
  return length;
}

/// Offset of the first byte of `text` that is not part of well-formed UTF-8, or npos when it is all UTF-8.
inline std::size_t invalid_utf8_at(std::string_view text) {
  for (std::size_t pos = 0; pos < text.size();) {
    char32_t cp = 0;
    const std::size_t length = utf8_sequence(text, pos, cp);
    if (length == 0) return pos;
    pos += length;
  }
  return std::string_view::npos;
}

/// Unicode's control characters (general category Cc): U+0000-U+001F, U+007F and U+0080-U+009F.
constexpr bool is_control(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

}  // namespace detail

/// What is wrong with `text` as a name act writes to a file (a site name, a metadata value): an empty
/// string when it is valid UTF-8 without control characters, else the first fault, e.g.
/// "is not valid UTF-8 (byte 0xff at offset 0)" or "holds the control character U+001B at offset 3".
/// The empty text is valid here; where a name must not be empty the caller says so.
template <class Text>
std::string name_problem(const Text& text) {
  const std::string_view s(text);
  for (std::size_t pos = 0; pos < s.size();) {
    char32_t cp = 0;
    const std::size_t length = detail::utf8_sequence(s, pos, cp);
    if (length == 0)
      return fmt::format("is not valid UTF-8 (byte 0x{:02x} at offset {})", static_cast<unsigned char>(s[pos]), pos);
    if (detail::is_control(cp))
      return fmt::format("holds the control character U+{:04X} at offset {}", static_cast<unsigned>(cp), pos);
    pos += length;
  }
  return {};
}

/// `text` as act shows text that comes from files or users, in messages and listings: valid UTF-8 is kept;
/// every byte of a control character (U+0000-U+001F, U+007F-U+009F) or of invalid UTF-8 is written as
/// `\xNN`, except newline and tab, written `\n` and `\t`. The result is one line that cannot send escape
/// sequences to a terminal. (Backslashes are kept as they are: the escaped form is for reading, not for
/// parsing back.)
template <class Text>
std::string printable(const Text& text) {
  const std::string_view s(text);
  std::string out;
  out.reserve(s.size());
  static constexpr char hex[] = "0123456789abcdef";
  const auto escape_byte = [&out](unsigned char u) {
    out += "\\x";
    out += hex[u >> 4];
    out += hex[u & 0xF];
  };
  for (std::size_t pos = 0; pos < s.size();) {
    char32_t cp = 0;
    const std::size_t length = detail::utf8_sequence(s, pos, cp);
    if (length == 0) {
      escape_byte(static_cast<unsigned char>(s[pos]));
      ++pos;
      continue;
    }
    if (cp == '\n')
      out += "\\n";
    else if (cp == '\t')
      out += "\\t";
    else if (detail::is_control(cp))
      for (std::size_t i = 0; i < length; ++i) escape_byte(static_cast<unsigned char>(s[pos + i]));
    else
      out.append(s, pos, length);
    pos += length;
  }
  return out;
}

/// Throws act::invalid_argument unless `text` is valid UTF-8 without control characters (see
/// name_problem); the message starts with `what` ("site name", "metadata value of 'act.method.x'") and shows
/// the text escaped.
template <class Text>
void check_name(std::string_view what, const Text& text) {
  const std::string problem = name_problem(text);
  if (!problem.empty()) raise<invalid_argument>("{} '{}' {}", what, printable(text), problem);
}

}  // namespace act
