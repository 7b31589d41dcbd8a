#pragma once
/// \file storage.hpp
/// Activation storage types and the arithmetic type used for each: half and bfloat16 compute in float.

#include <type_traits>

#include <Eigen/Core>

namespace act::detail {
template <class T>
struct storage_traits;

template <>
struct storage_traits<float> {
  using compute = float;
};
template <>
struct storage_traits<double> {
  using compute = double;
};
template <>
struct storage_traits<Eigen::half> {
  using compute = float;
};
template <>
struct storage_traits<Eigen::bfloat16> {
  using compute = float;
};

template <class T>
inline constexpr bool is_storage_v = std::is_same_v<T, float> || std::is_same_v<T, double> ||
                                     std::is_same_v<T, Eigen::half> || std::is_same_v<T, Eigen::bfloat16>;

/// True for the two 16-bit storage types, which kernels widen to float and narrow back.
template <class T>
inline constexpr bool is_16bit_v = std::is_same_v<T, Eigen::half> || std::is_same_v<T, Eigen::bfloat16>;

}  // namespace act::detail
