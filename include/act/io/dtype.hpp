#pragma once
/// \file dtype.hpp
/// Element types of the files act reads and writes (float32, float64, float16, bfloat16), their sizes and
/// names, and exact little-endian element codecs.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <Eigen/Core>

// The codecs copy little-endian bytes straight into floats.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "act's file formats are little-endian; so must the machine be");

namespace act {

/// Element types of tensors and arrays in act's files.
enum class dtype { f32, f64, f16, bf16 };

/// Bytes per element of `type`.
inline std::size_t dtype_size(dtype type) {
  switch (type) {
    case dtype::f32:
      return 4;
    case dtype::f64:
      return 8;
    case dtype::f16:
      return 2;
    case dtype::bf16:
      return 2;
  }
  return 0;
}

/// The safetensors spelling of `type` ("F32", "F64", "F16", "BF16").
inline const char* dtype_name(dtype type) {
  switch (type) {
    case dtype::f32:
      return "F32";
    case dtype::f64:
      return "F64";
    case dtype::f16:
      return "F16";
    case dtype::bf16:
      return "BF16";
  }
  return "?";
}

namespace detail {

/// Product of `shape` (a range of std::uint64_t), or false when it does not fit in 64 bits.
template <class Shape>
bool checked_product(const Shape& shape, std::uint64_t& out) {
  std::uint64_t n = 1;
  for (const std::uint64_t d : shape) {
    if (d != 0 && n > std::numeric_limits<std::uint64_t>::max() / d) return false;
    n *= d;
  }
  out = n;
  return true;
}

/// Decodes element `i` of little-endian raw data of `type` to double.
inline double decode_element(const unsigned char* p, dtype type, std::size_t i) {
  switch (type) {
    case dtype::f32: {
      float f;
      std::memcpy(&f, p + 4 * i, 4);
      return f;
    }
    case dtype::f64: {
      double d;
      std::memcpy(&d, p + 8 * i, 8);
      return d;
    }
    case dtype::f16: {
      std::uint16_t bits;
      std::memcpy(&bits, p + 2 * i, 2);
      return static_cast<double>(static_cast<float>(Eigen::numext::bit_cast<Eigen::half>(bits)));
    }
    case dtype::bf16: {
      std::uint16_t bits;
      std::memcpy(&bits, p + 2 * i, 2);
      return static_cast<double>(static_cast<float>(Eigen::numext::bit_cast<Eigen::bfloat16>(bits)));
    }
  }
  return 0.0;
}

/// Encodes `value` as element `i` of little-endian raw data of `type` (rounding to nearest for 16 bits).
inline void encode_element(unsigned char* p, dtype type, std::size_t i, double value) {
  switch (type) {
    case dtype::f32: {
      const auto f = static_cast<float>(value);
      std::memcpy(p + 4 * i, &f, 4);
      return;
    }
    case dtype::f64:
      std::memcpy(p + 8 * i, &value, 8);
      return;
    case dtype::f16: {
      const auto bits = Eigen::numext::bit_cast<std::uint16_t>(Eigen::half(static_cast<float>(value)));
      std::memcpy(p + 2 * i, &bits, 2);
      return;
    }
    case dtype::bf16: {
      const auto bits = Eigen::numext::bit_cast<std::uint16_t>(Eigen::bfloat16(static_cast<float>(value)));
      std::memcpy(p + 2 * i, &bits, 2);
      return;
    }
  }
}

}  // namespace detail
}  // namespace act
