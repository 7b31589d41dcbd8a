#pragma once
/// \file safetensors.hpp
/// Reads and writes safetensors files (F32, F64, F16, BF16) with strict validation of untrusted input.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include <act/detail/io/file.hpp>
#include <act/detail/io/json.hpp>
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
  std::vector<float> to_floats() const {
    const std::size_t n = checked_count();
    std::vector<float> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(detail::decode_element(bytes.data(), type, i));
    return out;
  }

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

/// Reads a JSON integer that must be a non-negative u64, or throws naming the field.
template <class Json>
std::uint64_t safetensors_uint(const Json& v, std::string_view origin, std::string_view tensor,
                               std::string_view field) {
  if (v.type != json_value::kind::number || !v.is_uint)
    raise<format_error>("{}: tensor '{}': {} must hold non-negative integers", origin, tensor, field);
  return v.uint_value;
}

/// A tensor's header entry with its byte range in the data section.
struct safetensors_entry {
  safetensors_tensor tensor;
  std::uint64_t begin = 0, end = 0;
};

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

/// The header as a JSON object.
template <class Text>
json_value parse_safetensors_header(const Text& header, std::string_view origin) {
  json_value root;
  try {
    root = parse_json(header);
  } catch (const format_error& e) {
    raise<format_error>("{}: invalid JSON header: {}", origin, e.what());
  }
  if (root.type != json_value::kind::object)
    raise<format_error>("{}: header is {}, not a JSON object", origin, json_kind_name(root.type));
  return root;
}

/// The "__metadata__" object: string values only.
template <class Json>
std::map<std::string, std::string> safetensors_metadata(const Json& value, std::string_view origin) {
  if (value.type != json_value::kind::object)
    raise<format_error>("{}: __metadata__ is {}, not an object of strings", origin, json_kind_name(value.type));
  std::map<std::string, std::string> metadata;
  for (std::size_t m = 0; m < value.keys.size(); ++m) {
    if (value.items[m].type != json_value::kind::string)
      raise<format_error>("{}: __metadata__ value for '{}' is {}, not a string", origin, value.keys[m],
                          json_kind_name(value.items[m].type));
    metadata[value.keys[m]] = value.items[m].string;
  }
  return metadata;
}

/// The element type named by a header's "dtype".
inline dtype safetensors_dtype(const std::string& t, std::string_view origin, const std::string& name) {
  if (t == "F32") return dtype::f32;
  if (t == "F64") return dtype::f64;
  if (t == "F16") return dtype::f16;
  if (t == "BF16") return dtype::bf16;
  raise<format_error>("{}: tensor '{}': unsupported dtype '{}' (expected F32, F64, F16 or BF16)", origin, name, t);
}

/// One tensor's header entry: exactly dtype, shape and data_offsets, offsets inside the data section and
/// spanning shape x dtype bytes.
template <class Json>
safetensors_entry safetensors_tensor_entry(const std::string& name, const Json& value, std::size_t data_size,
                                           std::string_view origin) {
  if (value.type != json_value::kind::object)
    raise<format_error>("{}: tensor '{}': entry is {}, not an object", origin, name, json_kind_name(value.type));
  for (const std::string& key : value.keys)
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      raise<format_error>("{}: tensor '{}': unexpected key '{}'", origin, name, key);
  const Json* type_v = value.find("dtype");
  const Json* shape_v = value.find("shape");
  const Json* offsets_v = value.find("data_offsets");
  if (type_v == nullptr) raise<format_error>("{}: tensor '{}': missing key 'dtype'", origin, name);
  if (shape_v == nullptr) raise<format_error>("{}: tensor '{}': missing key 'shape'", origin, name);
  if (offsets_v == nullptr) raise<format_error>("{}: tensor '{}': missing key 'data_offsets'", origin, name);

  safetensors_entry e;
  e.tensor.name = name;
  if (type_v->type != json_value::kind::string)
    raise<format_error>("{}: tensor '{}': dtype is not a string", origin, name);
  e.tensor.type = safetensors_dtype(type_v->string, origin, name);

  if (shape_v->type != json_value::kind::array)
    raise<format_error>("{}: tensor '{}': shape is not an array", origin, name);
  for (const Json& d : shape_v->items) e.tensor.shape.push_back(safetensors_uint(d, origin, name, "shape"));

  if (offsets_v->type != json_value::kind::array || offsets_v->items.size() != 2)
    raise<format_error>("{}: tensor '{}': data_offsets must be [begin, end]", origin, name);
  e.begin = safetensors_uint(offsets_v->items[0], origin, name, "data_offsets");
  e.end = safetensors_uint(offsets_v->items[1], origin, name, "data_offsets");
  if (e.begin > e.end)
    raise<format_error>("{}: tensor '{}': data_offsets begin {} is after end {}", origin, name, e.begin, e.end);
  if (e.end > data_size)
    raise<format_error>("{}: tensor '{}': data_offsets [{}, {}] lie outside the data ({} bytes)", origin, name, e.begin,
                        e.end, data_size);
  std::uint64_t count = 0;
  const std::uint64_t item = dtype_size(e.tensor.type);
  if (!checked_product(e.tensor.shape, count) || count > std::numeric_limits<std::uint64_t>::max() / item)
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
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
  });
  std::uint64_t expected = 0;
  for (const Entry& e : entries) {
    if (e.begin < expected)
      raise<format_error>("{}: tensor '{}': data_offsets [{}, {}] overlap the previous tensor (which ends at {})",
                          origin, e.tensor.name, e.begin, e.end, expected);
    if (e.begin > expected)
      raise<format_error>("{}: tensor '{}': data_offsets [{}, {}] leave a gap after byte {} (offsets not contiguous)",
                          origin, e.tensor.name, e.begin, e.end, expected);
    expected = e.end;
  }
  if (expected != data_size)
    raise<format_error>("{}: tensors cover {} bytes but the data section holds {} (offsets not contiguous)", origin,
                        expected, data_size);
}

}  // namespace detail

/// Parses a safetensors file held in memory (`Byte`: char, unsigned char or std::byte). `origin` names
/// the file in messages. Every field is validated before any tensor data is copied; errors throw
/// format_error naming the file and tensor.
template <class Byte>
safetensors_file parse_safetensors(const Byte* data, std::size_t size, std::string_view origin) {
  detail::check_byte_type<Byte>();
  const auto layout = detail::split_safetensors(data, size, origin);
  const detail::json_value root = detail::parse_safetensors_header(layout.header, origin);
  safetensors_file file;
  std::vector<detail::safetensors_entry> entries;
  for (std::size_t k = 0; k < root.keys.size(); ++k) {
    if (root.keys[k] == "__metadata__")
      file.metadata = detail::safetensors_metadata(root.items[k], origin);
    else
      entries.push_back(detail::safetensors_tensor_entry(root.keys[k], root.items[k], layout.data_size, origin));
  }
  detail::check_safetensors_tiling(entries, layout.data_size, origin);
  file.tensors.reserve(entries.size());
  for (detail::safetensors_entry& e : entries) {
    const auto* from = reinterpret_cast<const unsigned char*>(layout.data);
    e.tensor.bytes.assign(from + e.begin, from + e.end);
    file.tensors.push_back(std::move(e.tensor));
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

/// Serialises `file` to safetensors bytes: header padded with spaces to a multiple of 8, tensors laid out
/// contiguously in the order given. Throws invalid_argument / shape_error for inconsistent tensors and for
/// names or metadata that are not valid UTF-8 (control characters are fine: JSON escapes them).
template <class Byte = unsigned char>
std::vector<Byte> serialize_safetensors(const safetensors_file& file) {
  detail::check_byte_type<Byte>();
  // The header is JSON, which is UTF-8: a name that is not cannot be written (readers would refuse the file).
  const auto check_utf8 = [](const char* what, const std::string& text) {
    const std::size_t at = detail::invalid_utf8_at(text);
    if (at != std::string::npos)
      raise<invalid_argument>(
          "{} '{}' is not valid UTF-8 (byte 0x{:02x} at offset {}); a safetensors header cannot hold it", what,
          printable(text), static_cast<unsigned char>(text[at]), at);
  };
  for (const auto& [key, value] : file.metadata) {
    check_utf8("metadata key", key);
    check_utf8("metadata value", value);
  }
  for (const safetensors_tensor& t : file.tensors) check_utf8("tensor name", t.name);
  std::string header = "{";
  bool first = true;
  if (!file.metadata.empty()) {
    header += "\"__metadata__\":{";
    for (const auto& [key, value] : file.metadata) {
      if (!first) header += ',';
      first = false;
      detail::append_json_string(header, key);
      header += ':';
      detail::append_json_string(header, value);
    }
    header += '}';
    first = false;
  }
  // Duplicate names, found by sorting: O(n log n) whatever the names (a hash set can be made quadratic).
  {
    std::vector<std::string_view> names(file.tensors.size());
    for (std::size_t i = 0; i < names.size(); ++i) names[i] = file.tensors[i].name;
    std::sort(names.begin(), names.end());
    const auto twice = std::adjacent_find(names.begin(), names.end());
    if (twice != names.end()) raise<invalid_argument>("duplicate tensor name '{}'", *twice);
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
    detail::append_json_string(header, t.name);
    header += fmt::format(":{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}", dtype_name(t.type),
                          detail::join_numbers(t.shape, ","), offset, offset + t.bytes.size());
    offset += t.bytes.size();
  }
  header += '}';
  // Padding keeps the data section 8-byte aligned for readers that map the file.
  while (header.size() % 8 != 0) header += ' ';

  std::vector<Byte> out;
  out.reserve(8 + header.size() + static_cast<std::size_t>(offset));
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<Byte>((n >> (8 * i)) & 0xFF));
  const auto append = [&out](const void* bytes, std::size_t count) {
    const auto* first_byte = static_cast<const Byte*>(bytes);
    out.insert(out.end(), first_byte, first_byte + count);
  };
  append(header.data(), header.size());
  for (const safetensors_tensor& t : file.tensors) append(t.bytes.data(), t.bytes.size());
  return out;
}

/// Writes `file` to `path` atomically (temporary file + rename): a failed write leaves no file behind.
template <class Path>
void write_safetensors(const Path& path, const safetensors_file& file) {
  detail::atomic_write(detail::path_string(path), serialize_safetensors(file));
}

}  // namespace act

ACT_DECLARE_COMPILED(ACT_INSTANTIATE_SAFETENSORS)
