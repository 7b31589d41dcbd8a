#pragma once
/// \file affine_coefficients.hpp
/// A float affine hook's coefficients as the vector kernels read them: packed in groups of 16 neurons, one
/// 64-byte line per coefficient (affine_rows.hpp holds the kernels).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include <Eigen/Core>

namespace act::detail {

/// Neurons per packed group: one 64-byte line per coefficient.
inline constexpr Eigen::Index affine_group = 16;
/// Packed coefficient arrays per group, in this order: scale, shift, lower, upper, omega - 1, beta.
inline constexpr Eigen::Index affine_group_floats = 6 * affine_group;
/// bfloat16 rows go 32 neurons (two groups) at a time.
inline constexpr Eigen::Index affine_pair_group = 2 * affine_group;

/// The packed coefficients inside `packed`: its first 64-byte boundary, so that every group is one set of
/// whole cache lines. Recomputed per call because copies of the owner move the storage.
inline std::size_t aligned_packed_offset(const float* data) {
  const auto address = reinterpret_cast<std::uintptr_t>(data);
  return (64 - address % 64) % 64 / sizeof(float);
}
inline const float* aligned_packed(const std::vector<float>& packed) {
  return packed.data() + aligned_packed_offset(packed.data());
}
inline float* aligned_packed(std::vector<float>& packed) {
  return packed.data() + aligned_packed_offset(packed.data());
}

/// The packed coefficients of a float affine hook: a vector with 16 floats of slack whose groups start at its
/// first 64-byte boundary. Where that boundary lies depends on where the storage landed, so a copy places
/// the groups at its own boundary (a plain vector copy keeps the old offset, and the copied hook read the
/// slack as coefficients). Moves keep the storage and so the offset.
class packed_coefficients {
 public:
  packed_coefficients() = default;
  packed_coefficients(const packed_coefficients& other) : values_(other.values_.size(), 0.0f) { copy_groups(other); }
  packed_coefficients& operator=(const packed_coefficients& other) {
    if (this != &other) {
      values_.assign(other.values_.size(), 0.0f);
      copy_groups(other);
    }
    return *this;
  }
  packed_coefficients(packed_coefficients&&) noexcept = default;
  packed_coefficients& operator=(packed_coefficients&&) noexcept = default;
  ~packed_coefficients() = default;

  /// The vector pack_affine fills.
  std::vector<float>& storage() { return values_; }
  /// The first group (64-byte aligned), or null before packing.
  const float* data() const { return values_.empty() ? nullptr : aligned_packed(values_); }

 private:
  void copy_groups(const packed_coefficients& other) {
    if (values_.empty()) return;
    const std::size_t groups_floats = values_.size() - static_cast<std::size_t>(affine_group);  // less the slack
    std::copy_n(aligned_packed(other.values_), groups_floats, aligned_packed(values_));
  }

  std::vector<float> values_;
};

/// Where the bfloat16 kernel's copy of the coefficients starts, after the groups of a d-neuron map.
inline Eigen::Index affine_parity_offset(Eigen::Index d) {
  return (d + affine_pair_group - 1) / affine_pair_group * 2 * affine_group_floats;
}

/// Interleaves float coefficients in groups of 16 neurons (one stream instead of six, and no 4 KB address
/// aliasing between the coefficient arrays and the rows at d = 4096) into `packed`, which gets 16 floats of
/// slack so that the groups can start at a 64-byte boundary (see aligned_packed). The group count is rounded
/// up to even; padding neurons get an empty support [+inf, -inf], so they never change. After the groups
/// (affine_parity_offset), a second copy for the bfloat16 kernel, which keeps two neighbouring neurons per
/// 32-bit lane: per 32 neurons and coefficient, the 16 even neurons then the 16 odd ones, so that it loads its
/// even and odd coefficients instead of splitting them with shuffles for every block of rows.
inline void pack_affine(std::vector<float>& packed, Eigen::Index d, const float* scale, const float* shift,
                        const float* lower, const float* upper, const float* omega_minus_one, const float* beta) {
  constexpr Eigen::Index group = affine_group, group_floats = affine_group_floats, pair_group = affine_pair_group;
  const Eigen::Index groups = (d + pair_group - 1) / pair_group * 2;
  packed.assign(static_cast<std::size_t>(2 * groups * group_floats + group), 0.0f);
  float* const base = aligned_packed(packed);
  float* const parity = base + affine_parity_offset(d);
  constexpr float inf = std::numeric_limits<float>::infinity();
  for (Eigen::Index c = 0; c < groups * group; ++c) {
    const bool real = c < d;
    const float values[6] = {real ? scale[c] : 1.0f, real ? shift[c] : 0.0f,           real ? lower[c] : inf,
                             real ? upper[c] : -inf, real ? omega_minus_one[c] : 0.0f, real ? beta[c] : 0.0f};
    float* p = base + (c / group) * group_floats + c % group;
    const Eigen::Index j = c % pair_group;
    float* q = parity + (c / pair_group) * 2 * group_floats + (j % 2) * group + j / 2;
    for (int k = 0; k < 6; ++k) {
      p[k * group] = values[k];
      q[k * pair_group] = values[k];
    }
  }
}

}  // namespace act::detail
