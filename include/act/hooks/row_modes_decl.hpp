#pragma once
/// \file row_modes_decl.hpp
/// Declarations only (what <act/host.hpp> brings with act::act_compiled); programs include <act/hooks/row_modes.hpp>.
/// The ways a hook can be applied to a buffer, shared by every hook: all rows (optionally on threads),
/// masked rows, the last row of each packed sequence, one strength per row, and channel-spatial feature
/// maps. A hook derives from row_modes<Hook> and supplies the kernels; this class does the checks and
/// picks the rows.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <act/core/error.hpp>
#include <act/core/executor.hpp>
#include <act/hooks/activations.hpp>
#include <act/detail/instantiations.hpp>

namespace act {

/// How row_modes::channel_spatial applies a map to feature maps (N x C x H x W).
enum class channel_spatial {
  /// The paper's diffusion recipe (act's default): each channel's spatial mean m is transported and the
  /// same shift T_lambda(m) - m is added to every position (affine maps: only when m lies in the support).
  /// Slope 1 around the mean: the spatial pattern is kept, only its level moves.
  mean_shift,
  /// The reference implementation's Gaussian hook: every pixel goes through the channel's map,
  /// x -> T_lambda(x) (for an affine map m_B + omega (x - m_A): rescaled around the source mean), each
  /// pixel tested against the support like any activation. Agrees with mean_shift only when omega = 1.
  per_pixel
};

/// Row modes of a hook `Hook`, which provides:
/// - `name` (for messages), `min_elements_per_thread`, `dim()`, `strength()`;
/// - `kernel()`, whose `rows(data, row_stride, col_stride, begin, end)` applies rows [begin, end) at the
///   hook's strength and `rows_per_row(..., lambdas)` row r at lambdas[r];
/// - `spatial_displacement(channel, mean, delta) -> bool`: T_lambda(mean) - mean, or false to leave the
///   channel alone.
template <class Hook>
class row_modes {
 public:
  /// Every row of `x`.
  template <class T>
  void operator()(activations<T> x) const;

  /// Every row of `x`, split into contiguous row ranges over up to `threads` tasks (0 = as many as run at
  /// once) of act::default_executor(): a pool kept alive, so no thread starts per call. Results are
  /// bit-identical to the single-threaded call: each element is computed the same way.
  template <class T>
  void operator()(activations<T> x, int threads) const;

  /// Every row of `x`, split over the host's executor (as many row ranges as it runs tasks at once). Buffers
  /// under min_elements_per_thread elements per range (a decode step's one token) stay on the caller.
  template <class T>
  void operator()(activations<T> x, executor& ex) const;

  /// Rows whose `mask` entry is non-zero; `mask` has one entry per row.
  template <class T>
  void masked(activations<T> x, const std::uint8_t* mask, std::size_t mask_size) const;
  template <class T>
  void masked(activations<T> x, const std::vector<std::uint8_t>& mask) const;

  /// The last row of each sequence, for buffers packing sequences one after another:
  /// `lengths[k]` rows belong to sequence k, and the lengths add up to the buffer's rows.
  template <class T>
  void last_rows(activations<T> x, const Eigen::Index* lengths, std::size_t sequences) const;
  template <class T>
  void last_rows(activations<T> x, const std::vector<Eigen::Index>& lengths) const;

  /// One strength per row (a serving batch whose requests ask different strengths); the hook's own
  /// lambda is ignored. Rows with lambda = 0 are untouched.
  template <class T>
  void per_row(activations<T> x, const float* lambdas, std::size_t count) const;
  template <class T>
  void per_row(activations<T> x, const std::vector<float>& lambdas) const;

  /// Channel-spatial mode for feature maps: `data` holds `images` blocks of [channels x positions]
  /// (channel-major, e.g. C x H*W), channel c steered by neuron c's map. `mode` (act::channel_spatial):
  /// mean_shift (default) adds T_lambda(m) - m of each channel's spatial mean m to every position;
  /// per_pixel transports every pixel, x -> T_lambda(x).
  template <class T>
  void channel_spatial(T* data, Eigen::Index images, Eigen::Index channels, Eigen::Index positions,
                       act::channel_spatial mode = act::channel_spatial::mean_shift) const;

 protected:
  row_modes() = default;

 private:
  const Hook& hook() const { return static_cast<const Hook&>(*this); }

  template <class T>
  void apply(const activations<T>& x, Eigen::Index begin, Eigen::Index end) const {
    hook().kernel().rows(x.data, x.row_stride, x.col_stride, begin, end);
  }

  template <class T>
  void check_cols(const activations<T>& x, std::string_view mode) const {
    if (x.cols != hook().dim())
      raise<shape_error>("{}{}: buffer is [{} x {}] but the map has {} neurons", Hook::name, mode, x.rows, x.cols,
                         hook().dim());
  }
};

}  // namespace act
