#pragma once
/// \file row_modes.hpp
/// The row modes every hook shares: the class (row_modes_decl.hpp, documented there) and its definitions, out of the
/// class so that they are not inline: linking act::act_compiled (detail/instantiations.hpp) then keeps their code out
/// of every translation unit.

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <act/core/error.hpp>
#include <act/core/thread_pool.hpp>
#include <act/detail/kernels/rows.hpp>
#include <act/detail/kernels/storage.hpp>
#include <act/hooks/row_modes_decl.hpp>

namespace act {

template <class Hook>
template <class T>
void row_modes<Hook>::operator()(activations<T> x) const {
  check_cols(x, "");
  if (hook().strength() == 0.0) return;
  apply(x, 0, x.rows);
}

template <class Hook>
template <class T>
void row_modes<Hook>::operator()(activations<T> x, int threads) const {
  check_cols(x, "");
  if (hook().strength() == 0.0) return;
  if (threads == 1) return apply(x, 0, x.rows);  // without starting the default pool
  executor& ex = default_executor();
  detail::for_rows_threaded(ex, x.rows, x.cols, threads > 0 ? threads : ex.concurrency(), Hook::min_elements_per_thread,
                            [&](Eigen::Index begin, Eigen::Index end) { apply(x, begin, end); });
}

template <class Hook>
template <class T>
void row_modes<Hook>::operator()(activations<T> x, executor& ex) const {
  check_cols(x, "");
  if (hook().strength() == 0.0) return;
  detail::for_rows_threaded(ex, x.rows, x.cols, ex.concurrency(), Hook::min_elements_per_thread,
                            [&](Eigen::Index begin, Eigen::Index end) { apply(x, begin, end); });
}

template <class Hook>
template <class T>
void row_modes<Hook>::masked(activations<T> x, const std::uint8_t* mask, std::size_t mask_size) const {
  check_cols(x, "::masked");
  detail::check_mask_size(Hook::name, "::masked", mask_size, x.rows);
  if (hook().strength() == 0.0) return;
  detail::for_selected_runs(
      x.rows, [mask](Eigen::Index r) { return mask[r] != 0; }, [&](Eigen::Index b, Eigen::Index e) { apply(x, b, e); });
}

template <class Hook>
template <class T>
void row_modes<Hook>::masked(activations<T> x, const std::vector<std::uint8_t>& mask) const {
  masked(x, mask.data(), mask.size());
}

template <class Hook>
template <class T>
void row_modes<Hook>::last_rows(activations<T> x, const Eigen::Index* lengths, std::size_t sequences) const {
  check_cols(x, "::last_rows");
  detail::check_sequence_lengths(Hook::name, "::last_rows", lengths, sequences, x.rows);
  if (hook().strength() == 0.0) return;
  Eigen::Index end = 0;
  for (std::size_t k = 0; k < sequences; ++k) {
    end += lengths[k];
    apply(x, end - 1, end);
  }
}

template <class Hook>
template <class T>
void row_modes<Hook>::last_rows(activations<T> x, const std::vector<Eigen::Index>& lengths) const {
  last_rows(x, lengths.data(), lengths.size());
}

template <class Hook>
template <class T>
void row_modes<Hook>::per_row(activations<T> x, const float* lambdas, std::size_t count) const {
  check_cols(x, "::per_row");
  detail::check_row_strengths(Hook::name, "::per_row", lambdas, count, x.rows);
  detail::for_selected_runs(
      x.rows, [lambdas](Eigen::Index r) { return lambdas[r] != 0.0f; },
      [&](Eigen::Index b, Eigen::Index e) {
        hook().kernel().rows_per_row(x.data, x.row_stride, x.col_stride, b, e, lambdas);
      });
}

template <class Hook>
template <class T>
void row_modes<Hook>::per_row(activations<T> x, const std::vector<float>& lambdas) const {
  per_row(x, lambdas.data(), lambdas.size());
}

template <class Hook>
template <class T>
void row_modes<Hook>::channel_spatial(T* data, Eigen::Index images, Eigen::Index channels, Eigen::Index positions,
                                      act::channel_spatial mode) const {
  if (channels != hook().dim())
    raise<shape_error>("{}::channel_spatial: {} channels but the map has {} neurons", Hook::name, channels,
                       hook().dim());
  if (images < 0 || positions <= 0)
    raise<shape_error>("{}::channel_spatial: need images >= 0 and positions >= 1, got {} and {}", Hook::name, images,
                       positions);
  if (hook().strength() == 0.0) return;
  if (mode == act::channel_spatial::per_pixel) {
    // Each image is a [positions x channels] buffer with row stride 1 and column stride `positions`.
    for (Eigen::Index i = 0; i < images; ++i)
      hook().kernel().rows(data + i * channels * positions, 1, positions, 0, positions);
    return;
  }
  using C = typename detail::storage_traits<std::remove_const_t<T>>::compute;
  for (Eigen::Index i = 0; i < images; ++i)
    for (Eigen::Index c = 0; c < channels; ++c) {
      T* p = data + (i * channels + c) * positions;
      double sum = 0;
      for (Eigen::Index k = 0; k < positions; ++k) sum += static_cast<double>(static_cast<C>(p[k]));
      C delta{};
      if (!hook().spatial_displacement(c, static_cast<C>(sum / static_cast<double>(positions)), delta)) continue;
      for (Eigen::Index k = 0; k < positions; ++k) p[k] = static_cast<T>(static_cast<C>(p[k]) + delta);
    }
}

}  // namespace act
