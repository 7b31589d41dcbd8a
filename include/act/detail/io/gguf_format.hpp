#pragma once
/// \file gguf_format.hpp
/// The GGUF v3 byte layout: value types, a bounds-checked cursor over untrusted bytes, the metadata and
/// tensor-info parser, and the little-endian writer helpers that io/gguf.hpp builds control vectors with.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <act/core/error.hpp>
#include <act/core/text.hpp>
#include <act/detail/io/file.hpp>

namespace act {
namespace detail {

/// GGUF metadata value types (the numbers are the file's).
enum class gguf_type : std::uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};

/// ggml tensor type of 32-bit floats, the only one control vectors use.
inline constexpr std::uint32_t ggml_type_f32 = 0;
/// Alignment of tensor data when the file does not set `general.alignment`.
inline constexpr std::uint64_t gguf_default_alignment = 32;
/// llama.cpp's GGML_MAX_DIMS.
inline constexpr std::uint32_t gguf_max_dims = 4;

/// How ggml stores a tensor type: `block` elements in `bytes` bytes (a row holds whole blocks).
struct ggml_type_layout {
  std::uint32_t block = 0;  ///< 0: a type number ggml v0.5.0 does not know (or has removed)
  std::uint32_t bytes = 0;
};

/// The layout of ggml type number `type`, as ggml v0.5.0 defines it (tests/llama compares the table with
/// ggml_blck_size and ggml_type_size).
inline ggml_type_layout ggml_layout(std::uint32_t type) {
  static constexpr ggml_type_layout table[] = {
      {1, 4},    {1, 2},    {32, 18},   {32, 20},   {0, 0},     {0, 0},     {32, 22},   {32, 24},  {32, 34},
      {32, 36},  {256, 84}, {256, 110}, {256, 144}, {256, 176}, {256, 210}, {256, 292}, {256, 66}, {256, 74},
      {256, 98}, {256, 50}, {32, 18},   {256, 110}, {256, 82},  {256, 136}, {1, 1},     {1, 2},    {1, 4},
      {1, 8},    {1, 8},    {256, 56},  {1, 2},     {0, 0},     {0, 0},     {0, 0},     {256, 54}, {256, 66},
      {0, 0},    {0, 0},    {0, 0},     {32, 17},   {64, 36},   {128, 18},  {64, 18}};
  return type < sizeof table / sizeof table[0] ? table[type] : ggml_type_layout{};
}

/// One metadata value. Scalars fill the matching field; arrays keep only their element type and length
/// (control vectors need none of their content, and skipping avoids allocating for them).
struct gguf_value {
  gguf_type type = gguf_type::u8;
  std::uint64_t uint_value = 0;  ///< u8..u64 and bool
  std::int64_t int_value = 0;    ///< i8..i64
  double float_value = 0.0;      ///< f32, f64
  std::string string_value;      ///< string
  gguf_type array_type = gguf_type::u8;
  std::uint64_t array_size = 0;
};

/// One tensor info record; `offset` is relative to the start of the data section.
struct gguf_tensor_info {
  std::string name;
  std::vector<std::uint64_t> dims;
  std::uint32_t type = 0;
  std::uint64_t offset = 0;
  std::uint64_t byte_size = 0;  ///< computed from dims and type
};

/// The validated structure of a GGUF file (metadata in file order, tensors in file order).
struct gguf_contents {
  std::uint32_t version = 0;
  std::vector<std::pair<std::string, gguf_value>> metadata;
  std::vector<gguf_tensor_info> tensors;
  std::uint64_t alignment = gguf_default_alignment;
  std::size_t data_start = 0;  ///< absolute file offset of the data section

  const gguf_value* find(std::string_view key) const {
    for (const auto& [k, v] : metadata) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

/// Bounds-checked little-endian reader over bytes of type `Byte`; every read names what it was reading
/// when it runs out.
template <class Byte>
class gguf_cursor {
  static_assert(sizeof(Byte) == 1, "file contents are bytes: char, unsigned char or std::byte");

 public:
  gguf_cursor(const Byte* data, std::size_t size, std::string_view origin)
      : data_(data), size_(size), origin_(origin) {}

  std::size_t position() const { return pos_; }
  std::size_t remaining() const { return size_ - pos_; }

  void need(std::uint64_t n, std::string_view what) const {
    if (n > remaining()) {
      raise<format_error>("{}: {} at offset {} runs past the end of the file ({} bytes needed, {} left)", origin_, what,
                          pos_, n, remaining());
    }
  }
  template <class T>
  T read(std::string_view what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  void skip(std::uint64_t n, std::string_view what) {
    need(n, what);
    pos_ += static_cast<std::size_t>(n);
  }
  /// A GGUF string: u64 length then bytes. The length is checked against the file before allocating.
  std::string read_string(std::string_view what) {
    const auto len = read<std::uint64_t>(what);
    if (len > remaining()) {
      raise<format_error>("{}: {} has length {} at offset {}, past the end of the file ({} bytes left)", origin_, what,
                          len, pos_, remaining());
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<std::size_t>(len));
    pos_ += static_cast<std::size_t>(len);
    return s;
  }

 private:
  const Byte* data_;
  std::size_t size_;
  std::string_view origin_;
  std::size_t pos_ = 0;
};

/// Size in bytes of a fixed-size value type, 0 for string/array, or -1 (as SIZE_MAX) for unknown types.
inline std::size_t gguf_scalar_size(std::uint32_t type) {
  switch (static_cast<gguf_type>(type)) {
    case gguf_type::u8:
    case gguf_type::i8:
    case gguf_type::boolean:
      return 1;
    case gguf_type::u16:
    case gguf_type::i16:
      return 2;
    case gguf_type::u32:
    case gguf_type::i32:
    case gguf_type::f32:
      return 4;
    case gguf_type::u64:
    case gguf_type::i64:
    case gguf_type::f64:
      return 8;
    case gguf_type::string:
    case gguf_type::array:
      return 0;
  }
  return std::numeric_limits<std::size_t>::max();
}

/// Reads one scalar (non-array) value of a known type.
template <class Cursor>
gguf_value gguf_read_scalar(Cursor& in, gguf_type type, const std::string& key, std::string_view origin) {
  gguf_value v;
  v.type = type;
  const std::string what = "value of '" + key + "'";
  switch (type) {
    case gguf_type::u8:
      v.uint_value = in.template read<std::uint8_t>(what);
      break;
    case gguf_type::u16:
      v.uint_value = in.template read<std::uint16_t>(what);
      break;
    case gguf_type::u32:
      v.uint_value = in.template read<std::uint32_t>(what);
      break;
    case gguf_type::u64:
      v.uint_value = in.template read<std::uint64_t>(what);
      break;
    case gguf_type::i8:
      v.int_value = in.template read<std::int8_t>(what);
      break;
    case gguf_type::i16:
      v.int_value = in.template read<std::int16_t>(what);
      break;
    case gguf_type::i32:
      v.int_value = in.template read<std::int32_t>(what);
      break;
    case gguf_type::i64:
      v.int_value = in.template read<std::int64_t>(what);
      break;
    case gguf_type::f32:
      v.float_value = in.template read<float>(what);
      break;
    case gguf_type::f64:
      v.float_value = in.template read<double>(what);
      break;
    case gguf_type::boolean:
      v.uint_value = in.template read<std::uint8_t>(what);
      if (v.uint_value > 1) raise<format_error>("{}: bool value of '{}' is {}, not 0 or 1", origin, key, v.uint_value);
      break;
    case gguf_type::string:
      v.string_value = in.read_string(what);
      break;
    case gguf_type::array:
      break;  // handled by the caller
  }
  return v;
}

/// Throws format_error naming the first repeated name in `items`. Sorting keeps this O(n log n): the
/// counts a file may claim reach millions, and a pairwise scan would let a small file cost hours.
template <class Items, class Name>
void gguf_refuse_duplicates(const Items& items, Name name, std::string_view origin, std::string_view what) {
  std::vector<const std::string*> names;
  names.reserve(items.size());
  for (const auto& item : items) names.push_back(&name(item));
  std::sort(names.begin(), names.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
  for (std::size_t i = 1; i < names.size(); ++i) {
    if (*names[i] == *names[i - 1]) raise<format_error>("{}: duplicate {} '{}'", origin, what, *names[i]);
  }
}

/// The header after the magic: a supported version, and element counts the file could hold at their smallest encodings
/// (a KV pair: key length 8 + type 4 + 1 value byte; a tensor info: name length 8 + n_dims 4 + one dim 8
/// + type 4 + offset 8).
template <class Cursor>
void read_gguf_header(Cursor& in, gguf_contents& out, std::uint64_t& tensor_count, std::uint64_t& kv_count,
                      std::string_view origin) {
  in.skip(4, "magic");  // checked by the caller
  out.version = in.template read<std::uint32_t>("version");
  // Version 1 used 32-bit counts and lengths; 2 and 3 share this layout (3 added big-endian files, which
  // would show up here as absurd versions).
  if (out.version != 3 && out.version != 2)
    raise<format_error>("{}: unsupported GGUF version {} (expected 3)", origin, out.version);
  tensor_count = in.template read<std::uint64_t>("tensor count");
  kv_count = in.template read<std::uint64_t>("metadata count");
  constexpr std::uint64_t min_kv = 13, min_tensor = 32;
  if (kv_count > in.remaining() / min_kv)
    raise<format_error>("{}: metadata count {} is larger than the file could hold", origin, kv_count);
  if (tensor_count > (in.remaining() - kv_count * min_kv) / min_tensor)
    raise<format_error>("{}: tensor count {} is larger than the file could hold", origin, tensor_count);
}

/// An array value: its element type and length are kept, its elements checked against the file and skipped.
template <class Cursor>
gguf_value read_gguf_array(Cursor& in, const std::string& key, std::string_view origin) {
  gguf_value value;
  value.type = gguf_type::array;
  const auto elem = in.template read<std::uint32_t>("array type of '" + key + "'");
  if (static_cast<gguf_type>(elem) == gguf_type::array)
    raise<format_error>("{}: key '{}' holds nested arrays, which GGUF does not allow", origin, key);
  const std::size_t elem_size = gguf_scalar_size(elem);
  if (elem_size == std::numeric_limits<std::size_t>::max())
    raise<format_error>("{}: unknown array element type {} for key '{}'", origin, elem, key);
  value.array_type = static_cast<gguf_type>(elem);
  value.array_size = in.template read<std::uint64_t>("array length of '" + key + "'");
  // Strings take at least their 8-byte length each.
  const std::uint64_t min_size = elem_size == 0 ? 8 : elem_size;
  if (value.array_size > in.remaining() / min_size)
    raise<format_error>("{}: array length {} for key '{}' is larger than the file could hold", origin, value.array_size,
                        key);
  if (elem_size != 0) {
    in.skip(value.array_size * elem_size, "array '" + key + "'");
    return value;
  }
  for (std::uint64_t i = 0; i < value.array_size; ++i) {
    const auto len = in.template read<std::uint64_t>("string in array '" + key + "'");
    if (len > in.remaining())
      raise<format_error>("{}: string in array '{}' has length {}, past the end of the file", origin, key, len);
    in.skip(len, "string in array '" + key + "'");
  }
  return value;
}

/// The metadata key-value pairs, in file order; keys unique.
template <class Cursor>
void read_gguf_metadata(Cursor& in, std::uint64_t kv_count, gguf_contents& out, std::string_view origin) {
  out.metadata.reserve(static_cast<std::size_t>(kv_count));
  for (std::uint64_t k = 0; k < kv_count; ++k) {
    std::string key = in.read_string("metadata key");
    const auto type = in.template read<std::uint32_t>("value type of '" + key + "'");
    if (gguf_scalar_size(type) == std::numeric_limits<std::size_t>::max())
      raise<format_error>("{}: unknown value type {} for key '{}'", origin, type, key);
    gguf_value value = static_cast<gguf_type>(type) == gguf_type::array
                           ? read_gguf_array(in, key, origin)
                           : gguf_read_scalar(in, static_cast<gguf_type>(type), key, origin);
    out.metadata.emplace_back(std::move(key), std::move(value));
  }
  gguf_refuse_duplicates(
      out.metadata, [](const auto& kv) -> const std::string& { return kv.first; }, origin, "metadata key");
  if (const gguf_value* a = out.find("general.alignment")) {
    if (a->type != gguf_type::u32) raise<format_error>("{}: general.alignment must be a uint32", origin);
    if (a->uint_value == 0 || (a->uint_value & (a->uint_value - 1)) != 0)
      raise<format_error>("{}: general.alignment {} is not a power of two", origin, a->uint_value);
    out.alignment = a->uint_value;
  }
}

/// The tensor infos, in file order: 1 to 4 dimensions whose product fits, aligned offsets, unique names;
/// F32 only (control vectors), or with `any_type` every type ggml knows, rows holding whole blocks.
template <class Cursor>
void read_gguf_tensor_infos(Cursor& in, std::uint64_t tensor_count, gguf_contents& out, std::string_view origin,
                            bool any_type = false) {
  out.tensors.reserve(static_cast<std::size_t>(tensor_count));
  for (std::uint64_t t = 0; t < tensor_count; ++t) {
    gguf_tensor_info info;
    info.name = in.read_string("tensor name");
    const auto n_dims = in.template read<std::uint32_t>("n_dims of '" + info.name + "'");
    if (n_dims == 0 || n_dims > gguf_max_dims)
      raise<format_error>("{}: tensor '{}' has n_dims {}; GGUF allows 1 to {}", origin, info.name, n_dims,
                          gguf_max_dims);
    std::uint64_t count = 1;
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      const auto dim = in.template read<std::uint64_t>("dimensions of '" + info.name + "'");
      // ggml stores dimensions as int64.
      if (dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
          (dim != 0 && count > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / dim))
        raise<format_error>("{}: tensor '{}' has dimensions whose product overflows", origin, info.name);
      count *= dim;
      info.dims.push_back(dim);
    }
    info.type = in.template read<std::uint32_t>("type of '" + info.name + "'");
    if (!any_type && info.type != ggml_type_f32)
      raise<format_error>("{}: tensor '{}' has ggml type {}; only F32 (0) is supported", origin, info.name, info.type);
    const ggml_type_layout layout = ggml_layout(info.type);
    if (layout.block == 0)
      raise<format_error>("{}: tensor '{}' has unknown ggml type {}", origin, info.name, info.type);
    if (info.dims[0] % layout.block != 0)
      raise<format_error>("{}: tensor '{}' has rows of {} elements, not a multiple of its type's block of {}", origin,
                          info.name, info.dims[0], layout.block);
    if (count / layout.block > std::numeric_limits<std::uint64_t>::max() / layout.bytes)
      raise<format_error>("{}: tensor '{}' has dimensions whose product overflows", origin, info.name);
    info.byte_size = count / layout.block * layout.bytes;
    info.offset = in.template read<std::uint64_t>("offset of '" + info.name + "'");
    if (info.offset % out.alignment != 0)
      raise<format_error>("{}: tensor '{}' has misaligned data offset {} (alignment {})", origin, info.name,
                          info.offset, out.alignment);
    out.tensors.push_back(std::move(info));
  }
  gguf_refuse_duplicates(
      out.tensors, [](const gguf_tensor_info& t) -> const std::string& { return t.name; }, origin, "tensor name");
}

/// The data section starts at the next multiple of the alignment after the tensor infos; every tensor's
/// data lies inside the file, and no two tensors overlap (well-formed writers never alias data).
template <class Contents>
void place_gguf_data(Contents& out, std::uint64_t pos, std::size_t size, std::string_view origin) {
  const std::uint64_t start = (pos + out.alignment - 1) / out.alignment * out.alignment;
  if (out.tensors.empty()) {
    out.data_start = static_cast<std::size_t>(std::min<std::uint64_t>(start, size));
    return;
  }
  if (start > size)
    raise<format_error>("{}: data section starts at {}, past the end of the file ({} bytes)", origin, start, size);
  out.data_start = static_cast<std::size_t>(start);
  const std::uint64_t data_size = size - out.data_start;
  for (const gguf_tensor_info& t : out.tensors)
    if (t.offset > data_size || t.byte_size > data_size - t.offset)
      raise<format_error>("{}: tensor '{}' data ({} bytes at offset {}) runs past the end of the file", origin, t.name,
                          t.byte_size, t.offset);
  std::vector<const gguf_tensor_info*> order;
  order.reserve(out.tensors.size());
  for (const gguf_tensor_info& t : out.tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) { return a->offset < b->offset; });
  for (std::size_t i = 1; i < order.size(); ++i)
    if (order[i]->offset < order[i - 1]->offset + order[i - 1]->byte_size)
      raise<format_error>("{}: tensors '{}' and '{}' overlap", origin, order[i - 1]->name, order[i]->name);
}

/// Parses and validates the generic GGUF structure: header, metadata, tensor infos, data layout.
/// Counts and lengths are checked against the bytes left before anything is reserved, so a hostile
/// file cannot make the parser allocate more than its own size justifies.
template <class Byte>
gguf_contents parse_gguf(const Byte* data, std::size_t size, std::string_view origin) {
  if (size < 4 || std::memcmp(data, "GGUF", 4) != 0) raise<format_error>("{}: bad magic, not a GGUF file", origin);
  gguf_cursor<Byte> in(data, size, origin);
  gguf_contents out;
  std::uint64_t tensor_count = 0, kv_count = 0;
  read_gguf_header(in, out, tensor_count, kv_count, origin);
  read_gguf_metadata(in, kv_count, out, origin);
  read_gguf_tensor_infos(in, tensor_count, out, origin);
  place_gguf_data(out, in.position(), size, origin);
  return out;
}

/// llama.cpp's GGML_MAX_NAME: its GGUF reader refuses tensor names of this length or longer.
inline constexpr std::size_t gguf_max_name = 64;

/// The layer of a direction tensor, read as llama.cpp's control-vector loader reads it: the part before
/// the first '.' must be "direction", and the rest is parsed like std::stoi (leading white space, a sign,
/// decimal digits; anything after the digits is ignored: "direction.7", "direction.+7" and "direction.7.x"
/// are all layer 7). Throws format_error for what that loader refuses: no number, a negative number, one
/// beyond int, and layer 0.
template <class String>
int control_vector_layer(const String& name, std::string_view origin) {
  const std::string_view n(name);
  const auto dot = n.find('.');
  const bool named = dot != std::string_view::npos && n.substr(0, dot) == "direction";
  std::size_t i = named ? dot + 1 : n.size();
  while (i < n.size() && (n[i] == ' ' || (n[i] >= '\t' && n[i] <= '\r'))) ++i;
  bool negative = false;
  if (i < n.size() && (n[i] == '+' || n[i] == '-')) negative = n[i++] == '-';
  const std::size_t digits = i;
  long long layer = 0;
  bool too_large = false;
  for (; i < n.size() && n[i] >= '0' && n[i] <= '9'; ++i) {
    layer = too_large ? layer : layer * 10 + (n[i] - '0');
    too_large = too_large || layer > std::numeric_limits<int>::max();
  }
  if (!named || i == digits || (negative && layer != 0))
    raise<format_error>("{}: tensor name '{}' is not of the form direction.N", origin, name);
  if (too_large) raise<format_error>("{}: tensor '{}': layer number too large", origin, name);
  if (layer == 0) {
    raise<format_error>("{}: tensor '{}': layer 0 is not allowed, control-vector layers start at 1", origin, name);
  }
  return static_cast<int>(layer);
}

/// llama.cpp's GGUF reader wants tensor data packed in file order: each tensor at the running sum of the
/// previous ones' sizes padded to the alignment, and the data section holding the last one's padding too.
template <class Contents>
void check_gguf_packed(const Contents& g, std::size_t file_size, std::string_view origin) {
  std::uint64_t expected = 0;
  for (const gguf_tensor_info& t : g.tensors) {
    if (t.offset != expected)
      raise<format_error>(
          "{}: tensor '{}' has data offset {} but llama.cpp requires {} (tensors stored in file order, "
          "each padded to {} bytes)",
          origin, t.name, t.offset, expected, g.alignment);
    expected += (t.byte_size + g.alignment - 1) / g.alignment * g.alignment;
  }
  if (file_size - g.data_start < expected)
    raise<format_error>(
        "{}: the data section ends before the padding after the last tensor ({} of {} bytes); "
        "llama.cpp's reader refuses such files",
        origin, file_size - g.data_start, expected);
}

/// Reads a file piece by piece through a small buffer, with gguf_cursor's interface: for GGUF model files,
/// whose metadata is read and whose tensors are not.
class gguf_file_cursor {
 public:
  gguf_file_cursor(int fd, std::uint64_t size, std::string_view origin) : fd_(fd), size_(size), origin_(origin) {}

  std::size_t position() const { return static_cast<std::size_t>(pos_); }
  std::size_t remaining() const { return static_cast<std::size_t>(size_ - pos_); }
  void need(std::uint64_t n, std::string_view what) const {
    if (n > size_ - pos_) {
      raise<format_error>("{}: {} at offset {} runs past the end of the file ({} bytes needed, {} left)", origin_, what,
                          pos_, n, size_ - pos_);
    }
  }
  template <class T>
  T read(std::string_view what) {
    T value;
    bytes(&value, sizeof(T), what);
    return value;
  }
  void skip(std::uint64_t n, std::string_view what) {
    need(n, what);
    pos_ += n;
  }
  std::string read_string(std::string_view what) {
    const auto len = read<std::uint64_t>(what);
    if (len > size_ - pos_) {
      raise<format_error>("{}: {} has length {} at offset {}, past the end of the file ({} bytes left)", origin_, what,
                          len, pos_, size_ - pos_);
    }
    std::string s(static_cast<std::size_t>(len), '\0');
    bytes(s.data(), s.size(), what);
    return s;
  }

 private:
  void bytes(void* out, std::size_t n, std::string_view what) {
    need(n, what);
    auto* dst = static_cast<char*>(out);
    while (n > 0) {
      if (pos_ < buffer_start_ || pos_ >= buffer_start_ + buffer_.size()) fill();
      const std::size_t from = static_cast<std::size_t>(pos_ - buffer_start_);
      const std::size_t take = std::min(n, buffer_.size() - from);
      std::memcpy(dst, buffer_.data() + from, take);
      dst += take;
      n -= take;
      pos_ += take;
    }
  }
  void fill() {
    buffer_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(1 << 16, size_ - pos_)));
    buffer_start_ = pos_;
    std::size_t got = 0;
    while (got < buffer_.size()) {
      const ssize_t r = ::pread(fd_, buffer_.data() + got, buffer_.size() - got, static_cast<off_t>(pos_ + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) raise<io_error>("{}: read failed: {}", origin_, errno_text(errno));
      if (r == 0) raise<io_error>("{}: the file got shorter while it was read", origin_);
      got += static_cast<std::size_t>(r);
    }
  }

  int fd_;
  std::uint64_t size_;
  std::string_view origin_;
  std::uint64_t pos_ = 0;
  std::uint64_t buffer_start_ = 0;
  std::vector<char> buffer_;
};

/// An integer metadata value of any integer type, or throws naming the key.
inline std::int64_t gguf_integer(const gguf_value& v, std::string_view key, std::string_view origin) {
  switch (v.type) {
    case gguf_type::u8:
    case gguf_type::u16:
    case gguf_type::u32:
    case gguf_type::u64:
      if (v.uint_value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) break;
      return static_cast<std::int64_t>(v.uint_value);
    case gguf_type::i8:
    case gguf_type::i16:
    case gguf_type::i32:
    case gguf_type::i64:
      return v.int_value;
    default:
      break;
  }
  raise<format_error>("{}: metadata '{}' is not an integer", origin, key);
}

/// Appends little-endian raw bytes of a trivially copyable value.
template <class T, class Bytes>
void gguf_put(Bytes& out, const T& value) {
  unsigned char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  out.insert(out.end(), raw, raw + sizeof(T));
}

template <class Bytes>
void gguf_put_string(Bytes& out, std::string_view s) {
  gguf_put<std::uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

template <class Bytes>
void gguf_pad(Bytes& out, std::uint64_t alignment) {
  while (out.size() % alignment != 0) out.push_back(0);
}

}  // namespace detail

}  // namespace act
