#pragma once
/// \file safetensors_header.hpp
/// Reads a safetensors JSON header in one pass into the facts its validation needs (metadata, and per
/// tensor its dtype, shape and offsets), without building a JSON tree and without a copy of the strings
/// that hold no escape: a map file of 10^5 sites has a 30 MB header. The JSON grammar, the depth bound,
/// duplicate keys and the messages are json_parser's; what the header means is checked afterwards, in
/// file order, by io/safetensors.hpp.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <act/detail/io/json.hpp>

namespace act::detail {

/// One tensor's header entry as written: its kind when not an object, the first key that is not one of
/// dtype, shape and data_offsets, and each of those with the kind of its value. Arrays are ranges of
/// safetensors_raw_header::integers (0 for an item that is not a non-negative integer).
struct safetensors_raw_entry {
  std::string_view name;
  json_value::kind kind = json_value::kind::object;
  bool has_unexpected = false;
  std::string_view unexpected;
  bool has_dtype = false, has_shape = false, has_offsets = false;
  json_value::kind dtype_kind = json_value::kind::null, shape_kind = json_value::kind::null,
                   offsets_kind = json_value::kind::null;
  std::string_view dtype;
  std::size_t shape_at = 0, shape_size = 0, offsets_at = 0, offsets_size = 0;
  bool shape_uints = true, offsets_uints = true;  ///< every item a non-negative integer
};

/// A header as written: the root's kind, `__metadata__` (its kind, the first member that is not a string,
/// its members sorted by key) and the tensor entries in file order. The strings are views of the header
/// text or of `decoded` (those that held escapes): the text must outlive them.
struct safetensors_raw_header {
  json_value::kind root_kind = json_value::kind::object;
  bool has_metadata = false;
  std::size_t metadata_position = 0;  ///< the number of tensor entries before `__metadata__`
  json_value::kind metadata_kind = json_value::kind::object;
  std::vector<std::pair<std::string_view, std::string_view>> metadata;
  bool metadata_strings = true;
  std::string_view non_string_key;
  json_value::kind non_string_kind = json_value::kind::null;
  std::vector<safetensors_raw_entry> entries;
  std::vector<std::uint64_t> integers;
  std::deque<std::string> decoded;  ///< a deque: what views point at stays in place as it grows
};

/// The one-pass reader; a syntax error throws format_error as json_parser does ("JSON error at byte N").
template <class Char = char>
class safetensors_header_reader : json_parser<Char> {
  using base = json_parser<Char>;
  using base::fail;
  using base::next_item;
  using base::open_container;
  using base::parse_string;
  using base::parse_value;
  using base::peek;
  using base::plain_string_byte;
  using base::pos_;
  using base::refuse_duplicate_keys;
  using base::skip_space;
  using base::text_;

 public:
  explicit safetensors_header_reader(std::basic_string_view<Char> text) : base(text) {}

  safetensors_raw_header read() {
    safetensors_raw_header out;
    skip_space();
    if (peek() != '{') {
      out.root_kind = parse_value(0).type;
    } else {
      read_root(out);
    }
    skip_space();
    if (pos_ != text_.size()) fail("unexpected characters after the JSON value");
    return out;
  }

 private:
  /// The string at the cursor: a view of the text when it holds nothing to decode, else decoded into
  /// `out.decoded` (parse_string, which also refuses what is malformed).
  std::string_view text(safetensors_raw_header& out) {
    std::size_t end = pos_ + 1;
    while (end < text_.size() && plain_string_byte(text_[end])) ++end;
    if (end < text_.size() && text_[end] == '"') {
      const std::string_view s = text_.substr(pos_ + 1, end - pos_ - 1);
      pos_ = end + 1;
      return s;
    }
    out.decoded.push_back(parse_string());
    return out.decoded.back();
  }

  /// Reads `"key":` and leaves the cursor at the value.
  std::string_view member_key(safetensors_raw_header& out) {
    skip_space();
    if (peek() != '"') fail("expected a string key in object");
    const std::string_view key = text(out);
    skip_space();
    if (peek() != ':') fail("expected ':' after object key");
    ++pos_;
    skip_space();
    return key;
  }

  void read_root(safetensors_raw_header& out) {
    if (!open_container('}')) return;
    std::size_t metadata_objects = 0;
    do {
      const std::string_view key = member_key(out);
      if (key == "__metadata__") {
        // A second one is a duplicate key, refused below; it is read as JSON all the same.
        if (metadata_objects++ == 0) {
          out.has_metadata = true;
          out.metadata_position = out.entries.size();
          read_metadata(out, out.metadata);
        } else {
          safetensors_raw_header again;
          read_metadata(again, again.metadata);
        }
      } else {
        out.entries.emplace_back();
        out.entries.back().name = key;
        read_entry(out, out.entries.back());
      }
    } while (next_item('}', "expected ',' or '}' in object"));
    std::vector<std::string_view> keys;
    keys.reserve(out.entries.size() + metadata_objects);
    for (std::size_t i = 0; i < metadata_objects; ++i) keys.emplace_back("__metadata__");
    for (const safetensors_raw_entry& e : out.entries) keys.push_back(e.name);
    refuse_duplicate_keys(keys);
  }

  /// The `__metadata__` value (depth 1): its members into `into`, sorted by key (already so when act
  /// wrote the file).
  void read_metadata(safetensors_raw_header& out, std::vector<std::pair<std::string_view, std::string_view>>& into) {
    if (peek() != '{') {
      out.metadata_kind = parse_value(1).type;
      return;
    }
    if (!open_container('}')) return;
    do {
      const std::string_view key = member_key(out);
      std::string_view value;
      if (peek() == '"') {
        value = text(out);
      } else {
        const json_value::kind kind = parse_value(2).type;
        if (out.metadata_strings) {
          out.metadata_strings = false;
          out.non_string_key = key;
          out.non_string_kind = kind;
        }
      }
      into.emplace_back(key, value);
    } while (next_item('}', "expected ',' or '}' in object"));
    const auto by_key = [](const auto& a, const auto& b) { return a.first < b.first; };
    if (std::is_sorted(into.begin(), into.end(), by_key)) {
      refuse_adjacent_duplicate(into);
      return;
    }
    std::stable_sort(into.begin(), into.end(), by_key);
    refuse_adjacent_duplicate(into);
  }

  /// In sorted members, the first pair of equal keys is the smallest duplicate.
  void refuse_adjacent_duplicate(const std::vector<std::pair<std::string_view, std::string_view>>& sorted) const {
    const auto twice = std::adjacent_find(sorted.begin(), sorted.end(),
                                          [](const auto& a, const auto& b) { return a.first == b.first; });
    if (twice != sorted.end()) fail("duplicate key '" + std::string(twice->first) + "'");
  }

  /// A tensor's entry (depth 1).
  void read_entry(safetensors_raw_header& out, safetensors_raw_entry& e) {
    if (peek() != '{') {
      e.kind = parse_value(1).type;
      return;
    }
    if (!open_container('}')) return;
    keys_.clear();
    do {
      const std::string_view key = member_key(out);
      if (key == "dtype") {
        e.has_dtype = true;
        if (peek() == '"') {
          e.dtype_kind = json_value::kind::string;
          e.dtype = text(out);
        } else {
          e.dtype_kind = parse_value(2).type;
        }
      } else if (key == "shape") {
        e.has_shape = true;
        read_integers(out, e.shape_kind, e.shape_at, e.shape_size, e.shape_uints);
      } else if (key == "data_offsets") {
        e.has_offsets = true;
        read_integers(out, e.offsets_kind, e.offsets_at, e.offsets_size, e.offsets_uints);
      } else {
        (void)parse_value(2);
        if (!e.has_unexpected) {
          e.has_unexpected = true;
          e.unexpected = key;
        }
      }
      keys_.push_back(key);
    } while (next_item('}', "expected ',' or '}' in object"));
    refuse_duplicate_keys(keys_);
  }

  /// An array of non-negative integers (depth 2) appended to out.integers: where, how many, and whether
  /// each was one.
  void read_integers(safetensors_raw_header& out, json_value::kind& kind, std::size_t& at, std::size_t& size,
                     bool& uints) {
    at = out.integers.size();
    size = 0;
    uints = true;
    if (peek() != '[') {
      kind = parse_value(2).type;
      return;
    }
    kind = json_value::kind::array;
    if (!open_container(']')) return;
    do {
      skip_space();
      std::uint64_t value = 0;
      if (!plain_integer(value)) {
        const json_value item = parse_value(3);
        const bool uint = item.type == json_value::kind::number && item.is_uint;
        uints = uints && uint;
        value = uint ? item.uint_value : 0;
      }
      out.integers.push_back(value);
      ++size;
    } while (next_item(']', "expected ',' or ']' in array"));
  }

  /// Reads a number at the cursor that is plain digits (no sign, fraction, exponent or leading zero; at
  /// most 19, so it fits) into `value`; false, moving nothing, for anything else (parse_value reads that).
  bool plain_integer(std::uint64_t& value) {
    std::size_t end = pos_;
    while (end < text_.size() && end - pos_ < 20 && text_[end] >= '0' && text_[end] <= '9') ++end;
    const std::size_t digits = end - pos_;
    if (digits == 0 || digits > 19 || (digits > 1 && text_[pos_] == '0')) return false;
    if (end < text_.size() && (text_[end] == '.' || text_[end] == 'e' || text_[end] == 'E')) return false;
    value = 0;
    for (std::size_t i = pos_; i < end; ++i) value = value * 10 + static_cast<std::uint64_t>(text_[i] - '0');
    pos_ = end;
    return true;
  }

  std::vector<std::string_view> keys_;  ///< the current entry's keys, reused from entry to entry
};

/// Reads a safetensors header (a string_view) in one pass; throws format_error on malformed JSON. The
/// result views `text`.
template <class Text>
safetensors_raw_header read_safetensors_header(const Text& text) {
  return safetensors_header_reader<char>(std::string_view(text)).read();
}

}  // namespace act::detail
