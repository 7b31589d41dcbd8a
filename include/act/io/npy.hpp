#pragma once
/// \file npy.hpp
/// Reads NumPy .npy arrays (versions 1-3; f32, f64, f16, bf16; C or Fortran order; 1-D and 2-D) and
/// writes float32 / float64 matrices.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <act/detail/io/file.hpp>
#include <act/detail/io/text.hpp>
#include <act/core/error.hpp>
#include <act/io/dtype.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// A loaded .npy array. `values` is always row-major (C order), whatever order the file used.
struct npy_array {
  std::vector<std::size_t> shape;  ///< one or two dimensions
  std::string descr;               ///< as written in the file, e.g. "<f4"
  bool fortran_order = false;      ///< as written in the file; `values` is already converted
  std::vector<double> values;      ///< row-major elements

  /// Rows of the array seen as a matrix (1 for a 1-D array).
  std::size_t rows() const { return shape.size() == 2 ? shape[0] : 1; }
  /// Columns of the array seen as a matrix (the length of a 1-D array).
  std::size_t cols() const { return shape.empty() ? 0 : shape.back(); }
};

namespace detail {

/// The parsed header dictionary of a .npy file.
struct npy_header {
  std::string descr;
  bool fortran_order = false;
  std::vector<std::uint64_t> shape;
};

/// Parser for the Python literal dict in a .npy header, e.g.
/// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
/// (A template on the character type only so that it is compiled where a .npy file is read.)
template <class Char = char>
class npy_header_parser : text_cursor {
 public:
  npy_header_parser(std::string_view text, std::string_view origin) : text_cursor(text), origin_(origin) {}

  npy_header parse() {
    npy_header h;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    skip_space();
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      const std::string key = parse_string();
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (seen_descr) fail("duplicate key 'descr'");
        seen_descr = true;
        if (peek() != '\'' && peek() != '"') {
          raise<format_error>(
              "{}: header field 'descr' is not a simple type string (structured dtypes are unsupported)", origin_);
        }
        h.descr = parse_string();
      } else if (key == "fortran_order") {
        if (seen_order) fail("duplicate key 'fortran_order'");
        seen_order = true;
        h.fortran_order = parse_bool();
      } else if (key == "shape") {
        if (seen_shape) fail("duplicate key 'shape'");
        seen_shape = true;
        h.shape = parse_shape();
      } else {
        raise<format_error>("{}: header has unexpected key '{}'", origin_, key);
      }
      if (!next_item('}', "expected ',' or '}'")) break;
    }
    // NumPy pads the header with spaces and ends it with a newline; nothing else may follow.
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the dict");
    if (!seen_descr) raise<format_error>("{}: header is missing key 'descr'", origin_);
    if (!seen_order) raise<format_error>("{}: header is missing key 'fortran_order'", origin_);
    if (!seen_shape) raise<format_error>("{}: header is missing key 'shape'", origin_);
    return h;
  }

 private:
  std::string_view origin_;

  [[noreturn]] void fail(std::string_view what) const override {
    raise<format_error>("{}: cannot parse header dict at character {}: {}", origin_, pos_, what);
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string parse_string() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    ++pos_;
    const std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') fail("escapes are not supported in header strings");
      ++pos_;
    }
    if (pos_ >= text_.size()) fail("unterminated string");
    std::string s(text_.substr(start, pos_ - start));
    ++pos_;
    return s;
  }
  bool parse_bool() {
    if (text_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (text_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    raise<format_error>("{}: header field 'fortran_order' must be True or False", origin_);
  }
  std::vector<std::uint64_t> parse_shape() {
    if (peek() != '(') raise<format_error>("{}: header field 'shape' must be a tuple", origin_);
    ++pos_;
    std::vector<std::uint64_t> shape;
    for (;;) {
      skip_space();
      if (peek() == ')') {
        ++pos_;
        return shape;
      }
      if (peek() == '-') raise<format_error>("{}: header field 'shape' has a negative dimension", origin_);
      if (!(peek() >= '0' && peek() <= '9'))
        raise<format_error>("{}: header field 'shape' must hold integers", origin_);
      std::uint64_t value = 0;
      while (peek() >= '0' && peek() <= '9') {
        const auto digit = static_cast<std::uint64_t>(peek() - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
          raise<format_error>("{}: header field 'shape' has a dimension that overflows 64 bits", origin_);
        }
        value = value * 10 + digit;
        ++pos_;
      }
      // Sizes become signed indices (Eigen::Index, std::ptrdiff_t): 2^63 and above would turn negative.
      if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        raise<format_error>("{}: header field 'shape' has the dimension {}, above 2^63 - 1", origin_, value);
      if (peek() == 'L') ++pos_;  // Python 2 long suffix, written by old NumPy versions
      // A tuple with more entries than the header has characters cannot occur; this bounds the vector.
      shape.push_back(value);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') raise<format_error>("{}: header field 'shape' is not a valid tuple", origin_);
    }
  }
};

/// Maps a .npy descr to an element type, or throws naming the field.
template <class String>
dtype npy_descr_type(const String& descr, std::string_view origin) {
  if (!descr.empty() && descr[0] == '>') {
    raise<format_error>("{}: header field 'descr' is '{}': big-endian data is not supported", origin, descr);
  }
  if (descr == "<f4" || descr == "=f4") return dtype::f32;
  if (descr == "<f8" || descr == "=f8") return dtype::f64;
  if (descr == "<f2" || descr == "=f2") return dtype::f16;
  // NumPy has no bfloat16; ml_dtypes arrays are saved as 2-byte void records.
  if (descr == "<V2" || descr == "|V2" || descr == "=V2") return dtype::bf16;
  raise<format_error>("{}: header field 'descr' is '{}': unsupported (expected <f4, <f8, <f2 or <V2 for bfloat16)",
                      origin, descr);
}

}  // namespace detail

namespace detail {

/// A .npy file's header and where its data starts.
struct npy_layout {
  npy_header header;
  std::size_t data_offset = 0;
};

/// Parses the magic, version and header dictionary of the .npy bytes `data[0, size)`; `origin` names the
/// file in messages.
template <class Char = char>
npy_layout parse_npy_layout(const unsigned char* data, std::size_t size, std::string_view origin) {
  static constexpr unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (size < 6 || std::memcmp(data, magic, 6) != 0) raise<format_error>("{}: bad magic, not a .npy file", origin);
  if (size < 8) raise<format_error>("{}: truncated header (no version)", origin);
  const unsigned major = data[6], minor = data[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    raise<format_error>("{}: unsupported .npy version {}.{} (expected 1.0, 2.0 or 3.0)", origin, major, minor);
  }
  // Version 1 stores the header length in 2 bytes, later versions in 4.
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  const std::size_t prefix = 8 + length_bytes;
  if (size < prefix) raise<format_error>("{}: truncated header (no header length)", origin);
  std::size_t header_len = 0;
  for (std::size_t i = length_bytes; i-- > 0;) header_len = (header_len << 8) | data[8 + i];
  if (header_len > size - prefix) {
    raise<format_error>("{}: header length {} is longer than the file ({} bytes after the prefix)", origin, header_len,
                        size - prefix);
  }
  const std::string_view text(reinterpret_cast<const char*>(data + prefix), header_len);
  return {npy_header_parser<Char>(text, origin).parse(), prefix + header_len};
}

/// Checks that `have` data bytes hold exactly the elements of `shape` of `item` bytes each.
inline void check_npy_data_size(const std::vector<std::uint64_t>& shape, std::size_t item, std::size_t have,
                                std::string_view origin) {
  std::uint64_t count = 0;
  if (!checked_product(shape, count) || count > std::numeric_limits<std::size_t>::max() / item) {
    raise<format_error>("{}: header field 'shape' overflows: the element count does not fit in memory", origin);
  }
  const std::size_t need = static_cast<std::size_t>(count) * item;
  if (have < need) {
    raise<format_error>("{}: data is shorter than shape x itemsize: {} bytes for {} elements of {} bytes", origin, have,
                        count, item);
  }
  if (have > need) {
    raise<format_error>("{}: data is longer than shape x itemsize: {} bytes for {} elements of {} bytes", origin, have,
                        count, item);
  }
}

}  // namespace detail

/// Parses a .npy file held in memory. `origin` names the file in messages. Throws format_error naming
/// the file and the field at fault.
template <class Byte>
npy_array parse_npy(const Byte* bytes, std::size_t size, std::string_view origin) {
  static_assert(sizeof(Byte) == 1, "file contents are bytes: char, unsigned char or std::byte");
  const auto* data = reinterpret_cast<const unsigned char*>(bytes);
  const detail::npy_layout layout = detail::parse_npy_layout(data, size, origin);
  const detail::npy_header& h = layout.header;

  const dtype type = detail::npy_descr_type(h.descr, origin);
  if (h.shape.size() != 1 && h.shape.size() != 2) {
    raise<format_error>("{}: header field 'shape' has {} dimensions; only 1-D and 2-D arrays are supported", origin,
                        h.shape.size());
  }
  const std::size_t item = dtype_size(type);
  detail::check_npy_data_size(h.shape, item, size - layout.data_offset, origin);
  std::uint64_t count = 0;
  detail::checked_product(h.shape, count);

  npy_array out;
  out.descr = h.descr;
  out.fortran_order = h.fortran_order;
  for (const std::uint64_t d : h.shape) out.shape.push_back(static_cast<std::size_t>(d));
  // Allocation happens only now, after the data size has proven the element count real.
  const unsigned char* payload = data + layout.data_offset;
  const auto n = static_cast<std::size_t>(count);
  out.values.resize(n);
  if (h.fortran_order && out.shape.size() == 2) {
    const std::size_t rows = out.shape[0], cols = out.shape[1];
    for (std::size_t j = 0; j < cols; ++j) {
      for (std::size_t i = 0; i < rows; ++i)
        out.values[i * cols + j] = detail::decode_element(payload, type, j * rows + i);
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) out.values[i] = detail::decode_element(payload, type, i);
  }
  return out;
}

/// Reads and validates the .npy file at `path`.
template <class Path>
npy_array read_npy(const Path& path) {
  const std::string name = detail::path_string(path);
  const std::vector<unsigned char> bytes = detail::read_file(name);
  return parse_npy(bytes.data(), bytes.size(), name);
}

/// Loads a .npy file as a matrix: 2-D arrays as stored [rows x cols], a 1-D array of length n as [1 x n].
template <class T = float>
Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> load_npy_matrix(const std::string& path) {
  const npy_array a = read_npy(path);
  const std::size_t rows = a.rows(), cols = a.cols();
  if (rows > static_cast<std::size_t>(std::numeric_limits<Eigen::Index>::max()) ||
      cols > static_cast<std::size_t>(std::numeric_limits<Eigen::Index>::max())) {
    raise<format_error>("{}: header field 'shape' is too large for a matrix", path);
  }
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> m(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < cols; ++j) {
      m(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = static_cast<T>(a.values[i * cols + j]);
    }
  }
  return m;
}

/// Serialises a float or double matrix as .npy version 1.0, C order, header padded to 64 bytes as NumPy does.
/// With `as_vector`, a single row or column is written 1-D, shape (n,).
template <class Derived>
std::vector<unsigned char> serialize_npy(const Eigen::MatrixBase<Derived>& m, bool as_vector = false) {
  using scalar = typename Derived::Scalar;
  static_assert(std::is_same_v<scalar, float> || std::is_same_v<scalar, double>,
                "save_npy writes float or double only");
  const char* descr = std::is_same_v<scalar, float> ? "<f4" : "<f8";
  const std::string shape = as_vector && (m.rows() == 1 || m.cols() == 1) ? fmt::format("({},)", m.size())
                                                                          : fmt::format("({}, {})", m.rows(), m.cols());
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape);
  // Prefix (10 bytes) + header + '\n' must be a multiple of 64 so the data is aligned.
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  if (header.size() > 65535) raise<invalid_argument>("npy header too long");

  std::vector<unsigned char> out{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.push_back(static_cast<unsigned char>(header.size() & 0xFF));
  out.push_back(static_cast<unsigned char>(header.size() >> 8));
  out.insert(out.end(), header.begin(), header.end());
  const std::size_t start = out.size();
  out.resize(start + static_cast<std::size_t>(m.size()) * sizeof(scalar));
  std::size_t k = 0;
  // Nothing to copy from an empty matrix, however many rows (a (2^62, 0) array is valid .npy).
  for (Eigen::Index i = 0; i < (m.size() == 0 ? 0 : m.rows()); ++i) {
    for (Eigen::Index j = 0; j < m.cols(); ++j, ++k) {
      const scalar v = m(i, j);
      std::memcpy(out.data() + start + k * sizeof(scalar), &v, sizeof(scalar));
    }
  }
  return out;
}

/// Writes a float matrix as `<f4` or a double matrix as `<f8` (C order), atomically.
template <class Derived>
void save_npy(const std::string& path, const Eigen::MatrixBase<Derived>& m) {
  detail::atomic_write(path, serialize_npy(m));
}

/// Writes a vector (one row or one column) as a 1-D `<f4` / `<f8` array, atomically.
template <class Derived>
void save_npy_vector(const std::string& path, const Eigen::MatrixBase<Derived>& v) {
  if (v.rows() != 1 && v.cols() != 1)
    raise<shape_error>("save_npy_vector: {}: [{} x {}] is not a vector", path, v.rows(), v.cols());
  detail::atomic_write(path, serialize_npy(v, true));
}

}  // namespace act

ACT_DECLARE_COMPILED(ACT_INSTANTIATE_NPY)
