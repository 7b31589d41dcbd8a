#pragma once
/// \file safetensors.hpp
/// Reads and writes safetensors files (F32, F64, F16, BF16) with strict validation of untrusted input.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include <act/detail/io/file.hpp>
#include <act/detail/io/json.hpp>
#include <act/detail/io/safetensors_header.hpp>
#include <act/detail/io/text.hpp>
#include <act/io/dtype.hpp>
#include <act/core/error.hpp>
#include <act/core/text.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

namespace detail {

/// Largest header the reader accepts; the reference implementation uses the same bound. It caps the
/// memory a hostile header can make the JSON parser allocate.
inline constexpr std::uint64_t safetensors_max_header = 100'000'000;

/// `n` elements of little-endian raw data of `type`, converted to float.
inline std::vector<float> decode_floats(const unsigned char* bytes, dtype type, std::size_t n) {
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(decode_element(bytes, type, i));
  return out;
}

}  // namespace detail

/// One tensor: name, element type, shape and its little-endian raw bytes.
struct safetensors_tensor {
  std::string name;
  act::dtype type = dtype::f32;
  std::vector<std::uint64_t> shape;
  std::vector<unsigned char> bytes;  ///< little-endian raw data, row-major

  /// Product of the shape (1 for a scalar with shape []). Throws shape_error when it overflows.
  std::size_t element_count() const {
    std::uint64_t n = 0;
    if (!detail::checked_product(shape, n) || n > std::numeric_limits<std::size_t>::max()) {
      raise<shape_error>("tensor '{}': shape product overflows", name);
    }
    return static_cast<std::size_t>(n);
  }

  /// All elements converted to float, row-major. Throws shape_error when bytes and shape disagree.
  std::vector<float> to_floats() const { return detail::decode_floats(bytes.data(), type, checked_count()); }

  /// All elements converted to double, row-major. Throws shape_error when bytes and shape disagree.
  std::vector<double> to_doubles() const {
    const std::size_t n = checked_count();
    std::vector<double> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = detail::decode_element(bytes.data(), type, i);
    return out;
  }

  /// Builds a tensor from product(shape) floats at `values`, converting them to `type`.
  static safetensors_tensor from_floats(std::string name, std::vector<std::uint64_t> shape, const float* values,
                                        act::dtype type = dtype::f32) {
    safetensors_tensor t = make(std::move(name), std::move(shape), type);
    const std::size_t n = t.element_count();
    for (std::size_t i = 0; i < n; ++i) detail::encode_element(t.bytes.data(), type, i, values[i]);
    return t;
  }

  /// Builds a tensor from product(shape) doubles at `values`, converting them to `type`.
  static safetensors_tensor from_doubles(std::string name, std::vector<std::uint64_t> shape, const double* values,
                                         act::dtype type = dtype::f64) {
    safetensors_tensor t = make(std::move(name), std::move(shape), type);
    const std::size_t n = t.element_count();
    for (std::size_t i = 0; i < n; ++i) detail::encode_element(t.bytes.data(), type, i, values[i]);
    return t;
  }

 private:
  static safetensors_tensor make(std::string name, std::vector<std::uint64_t> shape, act::dtype type) {
    safetensors_tensor t;
    t.name = std::move(name);
    t.type = type;
    t.shape = std::move(shape);
    const std::size_t n = t.element_count();
    if (n > std::numeric_limits<std::size_t>::max() / dtype_size(type)) {
      raise<shape_error>("tensor '{}': byte size overflows", t.name);
    }
    t.bytes.resize(n * dtype_size(type));
    return t;
  }

  std::size_t checked_count() const {
    const std::size_t n = element_count();
    if (n > std::numeric_limits<std::size_t>::max() / dtype_size(type) || bytes.size() != n * dtype_size(type)) {
      raise<shape_error>("tensor '{}': {} bytes do not match shape with {} elements of {}", name, bytes.size(), n,
                         dtype_name(type));
    }
    return n;
  }
};

/// A whole safetensors file: the "__metadata__" string map and the tensors.
struct safetensors_file {
  std::map<std::string, std::string> metadata;  ///< "__metadata__"
  std::vector<safetensors_tensor> tensors;      ///< in data order on read (by begin offset); written in this order

  /// The tensor called `name`, or nullptr when absent.
  const safetensors_tensor* find(std::string_view name) const {
    for (const safetensors_tensor& t : tensors) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }
};

namespace detail {

/// What the files of this header are made of, for messages.
template <class Byte>
constexpr void check_byte_type() {
  static_assert(sizeof(Byte) == 1, "file contents are bytes: char, unsigned char or std::byte");
}

/// The parts of a safetensors file: its JSON header and its data section.
template <class Byte>
struct safetensors_layout {
  std::string_view header;
  const Byte* data = nullptr;
  std::size_t data_size = 0;
};

/// Splits the file at the 8-byte little-endian header length, refusing lengths past the file or the limit.
template <class Byte>
safetensors_layout<Byte> split_safetensors(const Byte* data, std::size_t size, std::string_view origin) {
  if (size < 8)
    raise<format_error>("{}: file is {} bytes, too short for the 8-byte safetensors header length", origin, size);
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(data[i]);
  if (header_len > size - 8)
    raise<format_error>("{}: header length {} exceeds the file ({} bytes after the length field)", origin, header_len,
                        size - 8);
  if (header_len > safetensors_max_header)
    raise<format_error>("{}: header length {} exceeds the limit of {} bytes", origin, header_len,
                        safetensors_max_header);
  const auto header_size = static_cast<std::size_t>(header_len);
  return {std::string_view(reinterpret_cast<const char*>(data + 8), header_size), data + 8 + header_size,
          size - 8 - header_size};
}

/// The header read in one pass; malformed JSON is named as such.
template <class Text>
safetensors_raw_header read_header_json(const Text& header, std::string_view origin) {
  try {
    return read_safetensors_header(header);
  } catch (const format_error& e) {
    raise<format_error>("{}: invalid JSON header: {}", origin, e.what());
  }
}

/// Refuses a "__metadata__" that is not an object of strings.
inline void check_safetensors_metadata(const safetensors_raw_header& header, std::string_view origin) {
  if (header.metadata_kind != json_value::kind::object)
    raise<format_error>("{}: __metadata__ is {}, not an object of strings", origin,
                        json_kind_name(header.metadata_kind));
  if (!header.metadata_strings)
    raise<format_error>("{}: __metadata__ value for '{}' is {}, not a string", origin, header.non_string_key,
                        json_kind_name(header.non_string_kind));
}

/// The element type named by a header's "dtype".
inline dtype safetensors_dtype(std::string_view t, std::string_view origin, std::string_view name) {
  if (t == "F32") return dtype::f32;
  if (t == "F64") return dtype::f64;
  if (t == "F16") return dtype::f16;
  if (t == "BF16") return dtype::bf16;
  raise<format_error>("{}: tensor '{}': unsupported dtype '{}' (expected F32, F64, F16 or BF16)", origin, name, t);
}

/// A run of a header's integers: a tensor's shape.
struct integer_run {
  const std::uint64_t* first = nullptr;
  std::size_t count = 0;
  const std::uint64_t* begin() const { return first; }
  const std::uint64_t* end() const { return first + count; }
  std::size_t size() const { return count; }
  std::uint64_t operator[](std::size_t i) const { return first[i]; }
};

/// A tensor of a validated file, viewing its header and data: name, type, shape and bytes.
struct safetensors_span {
  std::string_view name;
  act::dtype type = dtype::f32;
  integer_run shape;
  std::uint64_t begin = 0, end = 0;      ///< the byte range in the data section
  const unsigned char* bytes = nullptr;  ///< the data section's bytes from `begin`

  /// All elements converted to float, row-major.
  std::vector<float> to_floats() const {
    return decode_floats(bytes, type, static_cast<std::size_t>((end - begin) / dtype_size(type)));
  }
};

/// One tensor's header entry: exactly dtype, shape and data_offsets, offsets inside the data section and
/// spanning shape x dtype bytes.
inline safetensors_span safetensors_tensor_entry(const safetensors_raw_entry& raw, const safetensors_raw_header& header,
                                                 std::size_t data_size, std::string_view origin) {
  const std::string_view name = raw.name;
  if (raw.kind != json_value::kind::object)
    raise<format_error>("{}: tensor '{}': entry is {}, not an object", origin, name, json_kind_name(raw.kind));
  if (raw.has_unexpected) raise<format_error>("{}: tensor '{}': unexpected key '{}'", origin, name, raw.unexpected);
  if (!raw.has_dtype) raise<format_error>("{}: tensor '{}': missing key 'dtype'", origin, name);
  if (!raw.has_shape) raise<format_error>("{}: tensor '{}': missing key 'shape'", origin, name);
  if (!raw.has_offsets) raise<format_error>("{}: tensor '{}': missing key 'data_offsets'", origin, name);

  safetensors_span e;
  e.name = name;
  if (raw.dtype_kind != json_value::kind::string)
    raise<format_error>("{}: tensor '{}': dtype is not a string", origin, name);
  e.type = safetensors_dtype(raw.dtype, origin, name);

  if (raw.shape_kind != json_value::kind::array)
    raise<format_error>("{}: tensor '{}': shape is not an array", origin, name);
  if (!raw.shape_uints) raise<format_error>("{}: tensor '{}': shape must hold non-negative integers", origin, name);
  e.shape = {header.integers.data() + raw.shape_at, raw.shape_size};

  if (raw.offsets_kind != json_value::kind::array || raw.offsets_size != 2)
    raise<format_error>("{}: tensor '{}': data_offsets must be [begin, end]", origin, name);
  if (!raw.offsets_uints)
    raise<format_error>("{}: tensor '{}': data_offsets must hold non-negative integers", origin, name);
  e.begin = header.integers[raw.offsets_at];
  e.end = header.integers[raw.offsets_at + 1];
  if (e.begin > e.end)
    raise<format_error>("{}: tensor '{}': data_offsets begin {} is after end {}", origin, name, e.begin, e.end);
  if (e.end > data_size)
    raise<format_error>("{}: tensor '{}': data_offsets [{}, {}] lie outside the data ({} bytes)", origin, name, e.begin,
                        e.end, data_size);
  std::uint64_t count = 0;
  const std::uint64_t item = dtype_size(e.type);
  if (!checked_product(e.shape, count) || count > std::numeric_limits<std::uint64_t>::max() / item)
    raise<format_error>("{}: tensor '{}': shape product overflows 64 bits", origin, name);
  if (e.end - e.begin != count * item)
    raise<format_error>("{}: tensor '{}': data_offsets span {} bytes but shape x dtype needs {}", origin, name,
                        e.end - e.begin, count * item);
  return e;
}

/// Sorts the entries by offset and checks that they tile the data section exactly: no gaps (hidden
/// bytes) and no overlaps (aliased tensors).
template <class Entry>
void check_safetensors_tiling(std::vector<Entry>& entries, std::size_t data_size, std::string_view origin) {
  const auto by_offset = [](const Entry& a, const Entry& b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
  };
  // Files list their tensors in data order as a rule (act's do): then there is nothing to sort.
  if (!std::is_sorted(entries.begin(), entries.end(), by_offset))
    std::stable_sort(entries.begin(), entries.end(), by_offset);
  std::uint64_t expected = 0;
  for (const Entry& e : entries) {
    if (e.begin < expected)
      raise<format_error>("{}: tensor '{}': data_offsets [{}, {}] overlap the previous tensor (which ends at {})",
                          origin, e.name, e.begin, e.end, expected);
    if (e.begin > expected)
      raise<format_error>("{}: tensor '{}': data_offsets [{}, {}] leave a gap after byte {} (offsets not contiguous)",
                          origin, e.name, e.begin, e.end, expected);
    expected = e.end;
  }
  if (expected != data_size)
    raise<format_error>("{}: tensors cover {} bytes but the data section holds {} (offsets not contiguous)", origin,
                        expected, data_size);
}

/// Metadata sorted by key, viewing the header: the lookups of a std::map over a vector.
class sorted_metadata {
 public:
  using value_type = std::pair<std::string_view, std::string_view>;
  using const_iterator = std::vector<value_type>::const_iterator;
  using mapped_type = std::string_view;

  sorted_metadata() = default;
  explicit sorted_metadata(std::vector<value_type> sorted) : items_(std::move(sorted)) {}

  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  std::size_t size() const { return items_.size(); }
  const_iterator lower_bound(std::string_view key) const {
    return std::lower_bound(items_.begin(), items_.end(), key,
                            [](const value_type& item, std::string_view k) { return item.first < k; });
  }
  const_iterator find(std::string_view key) const {
    const auto it = lower_bound(key);
    return it != end() && it->first == key ? it : end();
  }

 private:
  std::vector<value_type> items_;
};

/// A validated safetensors file viewing its bytes (which must outlive it): metadata sorted by key and
/// tensors in data order. What parse_safetensors copies out; the map-file loader reads it in place.
struct safetensors_contents {
  safetensors_raw_header header;  ///< holds what the views below point at, besides the file's bytes
  sorted_metadata metadata;
  std::vector<safetensors_span> tensors;
};

/// Validates a safetensors file held in memory, as parse_safetensors does.
template <class Byte>
safetensors_contents read_safetensors_contents(const Byte* data, std::size_t size, std::string_view origin) {
  check_byte_type<Byte>();
  const auto layout = split_safetensors(data, size, origin);
  safetensors_contents c;
  c.header = read_header_json(layout.header, origin);
  const safetensors_raw_header& header = c.header;
  if (header.root_kind != json_value::kind::object)
    raise<format_error>("{}: header is {}, not a JSON object", origin, json_kind_name(header.root_kind));
  c.tensors.reserve(header.entries.size());
  // In file order, "__metadata__" at its place among the tensors.
  for (std::size_t k = 0; k <= header.entries.size(); ++k) {
    if (header.has_metadata && k == header.metadata_position) check_safetensors_metadata(header, origin);
    if (k < header.entries.size())
      c.tensors.push_back(safetensors_tensor_entry(header.entries[k], header, layout.data_size, origin));
  }
  check_safetensors_tiling(c.tensors, layout.data_size, origin);
  const auto* from = reinterpret_cast<const unsigned char*>(layout.data);
  for (safetensors_span& t : c.tensors) t.bytes = from + t.begin;
  c.metadata = sorted_metadata(std::move(c.header.metadata));
  return c;
}

}  // namespace detail

/// Parses a safetensors file held in memory (`Byte`: char, unsigned char or std::byte). `origin` names
/// the file in messages. Every field is validated before any tensor data is copied; errors throw
/// format_error naming the file and tensor.
template <class Byte>
safetensors_file parse_safetensors(const Byte* data, std::size_t size, std::string_view origin) {
  const detail::safetensors_contents contents = detail::read_safetensors_contents(data, size, origin);
  safetensors_file file;
  for (const auto& [key, value] : contents.metadata)
    file.metadata.emplace_hint(file.metadata.end(), std::string(key), std::string(value));
  file.tensors.resize(contents.tensors.size());
  for (std::size_t i = 0; i < contents.tensors.size(); ++i) {
    const detail::safetensors_span& from = contents.tensors[i];
    safetensors_tensor& t = file.tensors[i];
    t.name = from.name;
    t.type = from.type;
    t.shape.assign(from.shape.begin(), from.shape.end());
    t.bytes.assign(from.bytes, from.bytes + (from.end - from.begin));
  }
  return file;
}

/// Reads and validates the safetensors file at `path` (a std::string, string_view, C string or
/// std::filesystem::path).
template <class Path>
safetensors_file read_safetensors(const Path& path) {
  const std::string name = detail::path_string(path);
  const std::vector<unsigned char> bytes = detail::read_file(name);
  return parse_safetensors(bytes.data(), bytes.size(), name);
}

namespace detail {

/// Refuses text a safetensors header cannot hold: the header is JSON, which is UTF-8 (readers would refuse
/// the file). Control characters are fine: JSON escapes them.
inline void check_header_utf8(const char* what, std::string_view text) {
  const std::size_t at = invalid_utf8_at(text);
  if (at != std::string::npos)
    raise<invalid_argument>(
        "{} '{}' is not valid UTF-8 (byte 0x{:02x} at offset {}); a safetensors header cannot hold it", what,
        printable(text), static_cast<unsigned char>(text[at]), at);
}

/// Appends `"key":"value"` to a header.
inline void append_metadata_entry(std::string& header, std::string_view key, std::string_view value) {
  append_json_string(header, key);
  header += ':';
  append_json_string(header, value);
}

/// Appends `"name":{"dtype":...,"shape":[...],"data_offsets":[begin,end]}` to a header.
template <class Shape>
void append_tensor_entry(std::string& header, std::string_view name, dtype type, const Shape& shape,
                         std::uint64_t begin, std::uint64_t end) {
  append_json_string(header, name);
  header += ":{\"dtype\":\"";
  header += dtype_name(type);
  header += "\",\"shape\":[";
  for (std::size_t k = 0; k < std::size(shape); ++k) {
    if (k > 0) header += ',';
    append_decimal(header, shape[k]);
  }
  header += "],\"data_offsets\":[";
  append_decimal(header, begin);
  header += ',';
  append_decimal(header, end);
  header += "]}";
}

/// A file's bytes: the length of `header` (a complete JSON object, padded here with spaces to a multiple of
/// 8, which keeps the data section 8-byte aligned for readers that map the file), the header, then the
/// `data_size` bytes that `write_data(out)` appends.
template <class Byte, class WriteData>
std::vector<Byte> safetensors_bytes(std::string& header, std::size_t data_size, WriteData&& write_data) {
  while (header.size() % 8 != 0) header += ' ';
  std::vector<Byte> out;
  out.reserve(8 + header.size() + data_size);
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<Byte>((n >> (8 * i)) & 0xFF));
  const auto* text = reinterpret_cast<const Byte*>(header.data());
  out.insert(out.end(), text, text + header.size());
  write_data(out);
  return out;
}

}  // namespace detail

/// Serialises `file` to safetensors bytes: header padded with spaces to a multiple of 8, tensors laid out
/// contiguously in the order given. Throws invalid_argument / shape_error for inconsistent tensors and for
/// names or metadata that are not valid UTF-8 (control characters are fine: JSON escapes them).
template <class Byte = unsigned char>
std::vector<Byte> serialize_safetensors(const safetensors_file& file) {
  detail::check_byte_type<Byte>();
  for (const auto& [key, value] : file.metadata) {
    detail::check_header_utf8("metadata key", key);
    detail::check_header_utf8("metadata value", value);
  }
  for (const safetensors_tensor& t : file.tensors) detail::check_header_utf8("tensor name", t.name);
  std::size_t header_size = 32;  // an estimate (escapes aside), so that the header grows without copies
  for (const auto& [key, value] : file.metadata) header_size += key.size() + value.size() + 8;
  for (const safetensors_tensor& t : file.tensors) header_size += t.name.size() + 80 + 21 * t.shape.size();
  std::string header;
  header.reserve(header_size);
  header += '{';
  bool first = true;
  if (!file.metadata.empty()) {
    header += "\"__metadata__\":{";
    for (const auto& [key, value] : file.metadata) {
      if (!first) header += ',';
      first = false;
      detail::append_metadata_entry(header, key, value);
    }
    header += '}';
    first = false;
  }
  // Duplicate names: O(n log n) whatever the names (a hash set can be made quadratic).
  {
    std::vector<std::string_view> names(file.tensors.size());
    for (std::size_t i = 0; i < names.size(); ++i) names[i] = file.tensors[i].name;
    std::string_view twice;
    if (detail::smallest_duplicate(names, twice)) raise<invalid_argument>("duplicate tensor name '{}'", twice);
  }
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < file.tensors.size(); ++i) {
    const safetensors_tensor& t = file.tensors[i];
    if (t.name.empty()) raise<invalid_argument>("tensor {}: empty name", i);
    if (t.name == "__metadata__") raise<invalid_argument>("tensor name '__metadata__' is reserved");
    const std::size_t n = t.element_count();
    if (n > std::numeric_limits<std::size_t>::max() / dtype_size(t.type) || t.bytes.size() != n * dtype_size(t.type))
      raise<shape_error>("tensor '{}': {} bytes do not match shape with {} elements of {}", t.name, t.bytes.size(), n,
                         dtype_name(t.type));
    if (!first) header += ',';
    first = false;
    detail::append_tensor_entry(header, t.name, t.type, t.shape, offset, offset + t.bytes.size());
    offset += t.bytes.size();
  }
  header += '}';
  return detail::safetensors_bytes<Byte>(header, static_cast<std::size_t>(offset), [&file](std::vector<Byte>& out) {
    for (const safetensors_tensor& t : file.tensors) {
      const auto* bytes = reinterpret_cast<const Byte*>(t.bytes.data());
      out.insert(out.end(), bytes, bytes + t.bytes.size());
    }
  });
}

/// Writes `file` to `path` atomically (temporary file + rename): a failed write leaves no file behind.
template <class Path>
void write_safetensors(const Path& path, const safetensors_file& file) {
  detail::atomic_write(detail::path_string(path), serialize_safetensors(file));
}

}  // namespace act

ACT_DECLARE_COMPILED(ACT_INSTANTIATE_SAFETENSORS)
