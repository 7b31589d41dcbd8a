#pragma once
/// Named parameter tensors packed in one flat vector (what Adam and the weights file walk over).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "rng.hpp"

namespace toy_diffusion {

struct param_slot {
  std::string name;
  std::vector<std::uint64_t> shape;
  std::size_t offset = 0;
  std::size_t size = 0;
};

class param_layout {
 public:
  /// Adds a tensor; returns its slot index.
  int add(std::string name, std::vector<std::uint64_t> shape) {
    std::size_t size = 1;
    for (auto s : shape) size *= static_cast<std::size_t>(s);
    slots_.push_back({std::move(name), std::move(shape), total_, size});
    total_ += size;
    return static_cast<int>(slots_.size()) - 1;
  }
  const std::vector<param_slot>& slots() const { return slots_; }
  const param_slot& operator[](int i) const { return slots_[static_cast<std::size_t>(i)]; }
  std::size_t total() const { return total_; }

 private:
  std::vector<param_slot> slots_;
  std::size_t total_ = 0;
};

/// Fills slot `s` of `params` with N(0, scale^2) values.
template <class T>
void init_normal(std::vector<T>& params, const param_slot& s, double scale, rng& r) {
  for (std::size_t k = 0; k < s.size; ++k) params[s.offset + k] = static_cast<T>(scale * r.normal());
}
template <class T>
void init_constant(std::vector<T>& params, const param_slot& s, double value) {
  for (std::size_t k = 0; k < s.size; ++k) params[s.offset + k] = static_cast<T>(value);
}

}  // namespace toy_diffusion
