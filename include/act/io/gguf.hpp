#pragma once
/// \file gguf.hpp
/// Writes and reads llama.cpp control vectors: GGUF v3 files holding F32 tensors `direction.N`; reads
/// the shape of a GGUF model (architecture, n_embd, block count) and checks that the file holds all of it.

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

#include <act/detail/io/file.hpp>
#include <act/detail/io/gguf_format.hpp>
#include <act/core/error.hpp>
#include <act/core/text.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// A llama.cpp control vector: one additive direction per layer N >= 1, added to the output of 0-based
/// block N (llama.cpp's graph tensor `l_out-N`).
struct control_vector {
  std::string model_hint;                        ///< model architecture, e.g. "llama"
  std::map<int, std::vector<float>> directions;  ///< layer (>= 1) -> direction (all the same length)
};

/// What a GGUF model file says of its shape (read_gguf_model_info).
struct gguf_model_info {
  std::string architecture;  ///< general.architecture, e.g. "llama"
  std::int64_t n_embd = 0;   ///< <architecture>.embedding_length: the width of l_out-N and of control vectors
  std::int64_t n_layer = 0;  ///< <architecture>.block_count: blocks 0 .. n_layer - 1
};

/// Serialises a control vector as GGUF v3: general.architecture = "controlvector",
/// controlvector.model_hint, controlvector.layer_count (int32, the number of direction tensors, as
/// llama.cpp's cvector-generator writes it), and F32 tensors direction.N in ascending layer order,
/// each aligned to 32 bytes. Throws invalid_argument / shape_error for unusable input (non_finite_error for
/// Inf or NaN in a direction, invalid_argument for a model_hint that is not a valid name, act::check_name).
/// (`Byte`: unsigned char or char.)
template <class Byte = unsigned char>
std::vector<Byte> serialize_control_vector(const control_vector& cv) {
  using detail::gguf_put;
  if (cv.directions.empty()) raise<invalid_argument>("control vector has no directions");
  const std::size_t length = cv.directions.begin()->second.size();
  if (length == 0)
    raise<invalid_argument>("control vector direction for layer {} is empty", cv.directions.begin()->first);
  for (const auto& [layer, direction] : cv.directions) {
    if (layer < 1) raise<invalid_argument>("control vector layer {} is invalid: layers start at 1", layer);
    if (direction.size() != length) {
      raise<shape_error>("control vector direction for layer {} has length {}, expected {}", layer, direction.size(),
                         length);
    }
    // Inf or NaN would be added to every activation of the layer; readers (act's included) refuse it.
    for (std::size_t i = 0; i < direction.size(); ++i)
      if (!std::isfinite(direction[i]))
        raise<non_finite_error>("control vector direction for layer {} holds {} at index {}", layer, direction[i], i);
  }
  check_name("control vector model_hint", cv.model_hint);
  if (cv.directions.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    raise<invalid_argument>("control vector has too many layers");
  }

  std::vector<Byte> out = {'G', 'G', 'U', 'F'};  // (insert into an empty vector trips GCC 12's -Wstringop-overflow)
  gguf_put<std::uint32_t>(out, 3);
  gguf_put<std::uint64_t>(out, cv.directions.size());
  gguf_put<std::uint64_t>(out, 3);
  detail::gguf_put_string(out, "general.architecture");
  gguf_put(out, static_cast<std::uint32_t>(detail::gguf_type::string));
  detail::gguf_put_string(out, "controlvector");
  detail::gguf_put_string(out, "controlvector.model_hint");
  gguf_put(out, static_cast<std::uint32_t>(detail::gguf_type::string));
  detail::gguf_put_string(out, cv.model_hint);
  detail::gguf_put_string(out, "controlvector.layer_count");
  gguf_put(out, static_cast<std::uint32_t>(detail::gguf_type::i32));
  gguf_put<std::int32_t>(out, static_cast<std::int32_t>(cv.directions.size()));

  const std::uint64_t align = detail::gguf_default_alignment;
  const std::uint64_t padded = (length * 4 + align - 1) / align * align;
  std::uint64_t offset = 0;
  for (const auto& [layer, direction] : cv.directions) {
    detail::gguf_put_string(out, "direction." + std::to_string(layer));
    gguf_put<std::uint32_t>(out, 1);
    gguf_put<std::uint64_t>(out, direction.size());
    gguf_put<std::uint32_t>(out, detail::ggml_type_f32);
    gguf_put<std::uint64_t>(out, offset);
    offset += padded;
  }
  detail::gguf_pad(out, align);
  for (const auto& [layer, direction] : cv.directions) {
    for (const float v : direction) gguf_put(out, v);
    detail::gguf_pad(out, align);
  }
  return out;
}

/// Writes a control vector as a GGUF file, atomically (a failed write leaves no file).
template <class Path>
void write_control_vector(const Path& path, const control_vector& cv) {
  detail::atomic_write(detail::path_string(path), serialize_control_vector(cv));
}

/// Parses a control vector held in memory, validating the whole GGUF structure first; `origin` names the
/// file in messages. Accepts what llama.cpp's control-vector loader (common_control_vector_load) accepts
/// and refuses what it or its GGUF reader refuses:
/// - metadata is not required: any general.architecture, or none (llama.cpp reads no metadata);
///   controlvector.model_hint is kept when it is a string (escaped as act::printable does when it is not
///   valid UTF-8 or holds control characters, so that it can be shown and written back);
/// - every tensor is a direction (control_vector_layer: "direction.N", N >= 1), F32, with one dimension
///   larger than 1 at most, the first ([n_embd], [n_embd, 1], ...), all of one length;
/// - directions repeating a layer ("direction.1" and "direction.01") are added up, in file order;
/// - tensor data packed in file order, names shorter than 64 bytes, no empty metadata key.
/// Three malformed structures llama.cpp tolerates are refused as well: a bool other than 0 or 1, a tensor
/// with 0 dimensions, and an empty direction (which no model can take).
template <class Byte>
control_vector parse_control_vector(const Byte* data, std::size_t size, std::string_view origin) {
  using detail::gguf_type;
  const detail::gguf_contents g = detail::parse_gguf(data, size, origin);
  for (const auto& kv : g.metadata)
    if (kv.first.empty()) raise<format_error>("{}: a metadata key is empty", origin);

  control_vector cv;
  // The hint is only a label: one that breaks act's name rule (invalid UTF-8, control characters), which
  // llama.cpp ignores, is kept in act's escaped form, so that whatever is read can be shown and written.
  if (const detail::gguf_value* hint = g.find("controlvector.model_hint"))
    if (hint->type == gguf_type::string)
      cv.model_hint = name_problem(hint->string_value).empty() ? hint->string_value : printable(hint->string_value);
  if (g.tensors.empty()) raise<format_error>("{}: control vector has no direction tensors", origin);

  const std::uint64_t length = g.tensors.front().dims.front();
  for (const detail::gguf_tensor_info& t : g.tensors) {
    if (t.name.size() >= detail::gguf_max_name)
      raise<format_error>("{}: tensor name '{}' is {} bytes long; llama.cpp allows {} at most", origin, t.name,
                          t.name.size(), detail::gguf_max_name - 1);
    const int layer = detail::control_vector_layer(t.name, origin);
    // ggml counts dimensions up to the last one larger than 1.
    std::size_t dims = 1;
    for (std::size_t d = 1; d < t.dims.size(); ++d)
      if (t.dims[d] > 1) dims = d + 1;
    if (dims != 1) raise<format_error>("{}: tensor '{}' has {} dimensions, expected 1", origin, t.name, dims);
    std::uint64_t count = 1;
    for (const auto d : t.dims) count *= d;
    if (count == 0) raise<format_error>("{}: tensor '{}' is empty", origin, t.name);
    if (count != length) {
      raise<format_error>("{}: tensor '{}' has length {} but '{}' has {}; all directions must be the same length",
                          origin, t.name, count, g.tensors.front().name, length);
    }
    // Allocation is justified: parse_gguf proved these bytes are in the file.
    std::vector<float> values(static_cast<std::size_t>(count));
    std::memcpy(values.data(), data + g.data_start + t.offset, values.size() * sizeof(float));
    const auto [it, fresh] = cv.directions.try_emplace(layer, values);
    // llama.cpp adds repeated layers up (dst += src * strength, from zeros): the same float sums.
    if (!fresh)
      for (std::size_t j = 0; j < values.size(); ++j) it->second[j] += values[j];
  }
  detail::check_gguf_packed(g, size, origin);
  return cv;
}

/// Any GGUF file, parsed and validated from bytes in memory: its metadata (`find(key)`) and tensor infos, every
/// tensor's data inside the buffer (at `data_start + offset`). For programs that read small models' tensors
/// (e.g. a toy model's weights); control vectors and models' shapes have their own readers above and below.
/// Throws format_error naming `origin` and the field at fault.
using gguf_contents = detail::gguf_contents;
using gguf_value = detail::gguf_value;              ///< one metadata value: `type`, and the field of that type
using gguf_type = detail::gguf_type;                ///< the metadata value types (numbers as in the file)
using gguf_tensor_info = detail::gguf_tensor_info;  ///< one tensor's name, type, dims and data offset
inline constexpr std::uint32_t ggml_type_f32 = detail::ggml_type_f32;  ///< a tensor's type number for F32

template <class Byte>
gguf_contents parse_gguf(const Byte* data, std::size_t size, std::string_view origin) {
  return detail::parse_gguf(data, size, origin);
}

/// A whole GGUF file read into memory and parsed: `contents` as parse_gguf gives it, `bytes` the file.
struct gguf_file {
  std::vector<unsigned char> bytes;
  gguf_contents contents;

  /// The first byte of tensor `t`'s data (parse_gguf proved its extent lies inside `bytes`).
  const unsigned char* data(const gguf_tensor_info& t) const { return bytes.data() + contents.data_start + t.offset; }
};

/// Reads the GGUF file at `path` as every act reader does (regular files only, never past their size)
/// and parses it; for files small enough to hold in memory, such as a toy model's weights.
template <class Path>
gguf_file read_gguf(const Path& path) {
  const std::string name = detail::path_string(path);
  gguf_file file;
  file.bytes = detail::read_file(name);
  file.contents = parse_gguf(file.bytes.data(), file.bytes.size(), name);
  return file;
}

/// An integer metadata value of any integer type; format_error naming `key` otherwise.
inline std::int64_t gguf_integer(const gguf_value& v, std::string_view key, std::string_view origin) {
  return detail::gguf_integer(v, key, origin);
}

/// Reads and validates the control vector at `path`.
template <class Path>
control_vector read_control_vector(const Path& path) {
  const std::string name = detail::path_string(path);
  const std::vector<unsigned char> bytes = detail::read_file(name);
  return parse_control_vector(bytes.data(), bytes.size(), name);
}

/// The shape of the GGUF model at `path` (architecture, n_embd, block count), from its metadata; the
/// tensor infos are checked too (types ggml knows, data inside the file, no overlaps), so a model cut short
/// in its data is refused, but the tensors themselves, however large, are not read. Throws format_error
/// when the file is not a whole GGUF model or lacks the keys.
template <class Path>
gguf_model_info read_gguf_model_info(const Path& file) {
  const std::string path = detail::path_string(file);
  // FIFOs, devices and folders are refused without blocking; reads stop at the size when opened.
  const detail::input_file opened = detail::open_input(path);
  const int fd = opened.fd.get();
  const auto size = static_cast<std::uint64_t>(opened.size);
  detail::gguf_file_cursor in(fd, size, path);
  if (size < 4) raise<format_error>("{}: bad magic, not a GGUF file", path);
  char magic[4];
  for (char& c : magic) c = in.read<char>("magic");
  if (std::memcmp(magic, "GGUF", 4) != 0) raise<format_error>("{}: bad magic, not a GGUF file", path);
  detail::gguf_file_cursor header(fd, size, path);
  detail::gguf_contents g;
  std::uint64_t tensor_count = 0, kv_count = 0;
  detail::read_gguf_header(header, g, tensor_count, kv_count, path);
  detail::read_gguf_metadata(header, kv_count, g, path);
  detail::read_gguf_tensor_infos(header, tensor_count, g, path, true);
  detail::place_gguf_data(g, header.position(), static_cast<std::size_t>(size), path);

  gguf_model_info info;
  const detail::gguf_value* arch = g.find("general.architecture");
  if (arch == nullptr || arch->type != detail::gguf_type::string || arch->string_value.empty())
    raise<format_error>("{}: no general.architecture string: not a model file", path);
  info.architecture = arch->string_value;
  const auto integer = [&](const std::string& key) {
    const detail::gguf_value* v = g.find(key);
    if (v == nullptr) raise<format_error>("{}: missing metadata '{}'", path, key);
    const std::int64_t n = detail::gguf_integer(*v, key, path);
    if (n <= 0) raise<format_error>("{}: metadata '{}' is {}, expected a positive count", path, key, n);
    return n;
  };
  info.n_embd = integer(info.architecture + ".embedding_length");
  info.n_layer = integer(info.architecture + ".block_count");
  return info;
}

}  // namespace act

ACT_DECLARE_COMPILED(ACT_INSTANTIATE_GGUF)
