#pragma once
/// \file instantiations.hpp
/// The instantiations the compiled library act::act_compiled holds, one list for both of its sides:
/// with ACT_COMPILED defined (linking act::act_compiled defines it), the module headers declare them
/// `extern`, so a translation unit that uses them compiles none of their code; src/compiled_*.cpp
/// define them once. Header-only use (act::act) ignores this file.
///
/// Covered: what a host does at its hook points (a float map set loaded from a map file, applied to
/// float, double, half and bfloat16 buffers in every row mode), the file readers and writers, and fitting
/// any registered method by name (act::fit) on column-major float and double matrices. Only functions
/// defined outside their class (not inline) can be kept out this way; the headers define these so.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

/// One hook's row modes on buffers of T.
#define ACT_INSTANTIATE_ROW_MODES(EXTERN, HOOK, T)                                                                  \
  EXTERN template void act::row_modes<HOOK>::operator()(act::activations<T>) const;                               \
  EXTERN template void act::row_modes<HOOK>::operator()(act::activations<T>, int) const;                          \
  EXTERN template void act::row_modes<HOOK>::masked(act::activations<T>, const std::uint8_t*, std::size_t) const; \
  EXTERN template void act::row_modes<HOOK>::masked(act::activations<T>, const std::vector<std::uint8_t>&) const; \
  EXTERN template void act::row_modes<HOOK>::last_rows(act::activations<T>, const Eigen::Index*, std::size_t) const; \
  EXTERN template void act::row_modes<HOOK>::last_rows(act::activations<T>, const std::vector<Eigen::Index>&) const; \
  EXTERN template void act::row_modes<HOOK>::per_row(act::activations<T>, const float*, std::size_t) const;       \
  EXTERN template void act::row_modes<HOOK>::per_row(act::activations<T>, const std::vector<float>&) const;       \
  EXTERN template void act::row_modes<HOOK>::channel_spatial(T*, Eigen::Index, Eigen::Index, Eigen::Index) const;

/// A float map set's hook points on buffers of T.
#define ACT_INSTANTIATE_MAP_SET_APPLY(EXTERN, T)                                                                     \
  EXTERN template bool act::map_set::operator()(std::string_view, act::activations<T>) const;                        \
  EXTERN template bool act::map_set::last_rows(std::string_view, act::activations<T>, const std::vector<Eigen::Index>&) \
      const;                                                                                                          \
  EXTERN template bool act::map_set::masked(std::string_view, act::activations<T>, const std::vector<std::uint8_t>&)  \
      const;                                                                                                          \
  EXTERN template bool act::map_set::per_row(std::string_view, act::activations<T>, const std::vector<float>&) const;

/// One hook's row modes on every storage type.
#define ACT_INSTANTIATE_ROW_MODES_FOR(EXTERN, HOOK)   \
  ACT_INSTANTIATE_ROW_MODES(EXTERN, HOOK, float)       \
  ACT_INSTANTIATE_ROW_MODES(EXTERN, HOOK, double)      \
  ACT_INSTANTIATE_ROW_MODES(EXTERN, HOOK, Eigen::half) \
  ACT_INSTANTIATE_ROW_MODES(EXTERN, HOOK, Eigen::bfloat16)

/// The hook layer: hooks, the float map set and the map-file functions.
#define ACT_INSTANTIATE_HOOKS(EXTERN)                                                                            \
  EXTERN template class act::affine_hook<float>;                                                                \
  EXTERN template act::affine_hook<float>::affine_hook(const act::affine_map<float>&, double);                  \
  EXTERN template class act::quantile_hook<float>;                                                              \
  EXTERN template act::quantile_hook<float>::quantile_hook(const act::quantile_map<float>&, double);            \
  ACT_INSTANTIATE_ROW_MODES_FOR(EXTERN, act::affine_hook<float>)                                                \
  ACT_INSTANTIATE_ROW_MODES_FOR(EXTERN, act::quantile_hook<float>)                                              \
  EXTERN template class act::basic_map_set<float>;                                                              \
  EXTERN template void act::map_set::insert(std::string, const act::affine_map<float>&, act::map_info);          \
  EXTERN template void act::map_set::insert(std::string, const act::quantile_map<float>&, act::map_info);        \
  EXTERN template void act::map_set::insert(std::string, const act::any_map<float>&, act::map_info);             \
  ACT_INSTANTIATE_MAP_SET_APPLY(EXTERN, float)                                                                  \
  ACT_INSTANTIATE_MAP_SET_APPLY(EXTERN, double)                                                                 \
  ACT_INSTANTIATE_MAP_SET_APPLY(EXTERN, Eigen::half)                                                            \
  ACT_INSTANTIATE_MAP_SET_APPLY(EXTERN, Eigen::bfloat16)                                                        \
  EXTERN template act::safetensors_file act::maps_to_safetensors(const act::map_set&);                          \
  EXTERN template act::map_set act::maps_from_safetensors<float>(const act::safetensors_file&, std::string_view); \
  EXTERN template void act::save_maps(const std::string&, const act::map_set&);                                 \
  EXTERN template act::map_set act::load_maps<float>(const std::string&);                                        \
  EXTERN template act::map_set act::update_map_file(const std::string&, const act::map_set&, std::chrono::milliseconds);

/// The file layer: readers and writers with std::string paths and unsigned char bytes.
#define ACT_INSTANTIATE_IO(EXTERN)                                                                                 \
  EXTERN template act::safetensors_file act::parse_safetensors(const unsigned char*, std::size_t, std::string_view); \
  EXTERN template act::safetensors_file act::read_safetensors(const std::string&);                                \
  EXTERN template std::vector<unsigned char> act::serialize_safetensors<unsigned char>(const act::safetensors_file&); \
  EXTERN template void act::write_safetensors(const std::string&, const act::safetensors_file&);                  \
  EXTERN template act::npy_array act::parse_npy(const unsigned char*, std::size_t, std::string_view);             \
  EXTERN template act::npy_array act::read_npy(const std::string&);                                                \
  EXTERN template Eigen::MatrixXf act::load_npy_matrix<float>(const std::string&);                                 \
  EXTERN template Eigen::MatrixXd act::load_npy_matrix<double>(const std::string&);                                \
  EXTERN template act::control_vector act::parse_control_vector(const unsigned char*, std::size_t, std::string_view); \
  EXTERN template act::control_vector act::read_control_vector(const std::string&);                               \
  EXTERN template std::vector<unsigned char> act::serialize_control_vector<unsigned char>(const act::control_vector&); \
  EXTERN template void act::write_control_vector(const std::string&, const act::control_vector&);

/// The estimator layer: act::fit by name on column-major float and double samples (it instantiates every
/// registered estimator). The estimators' own `fit` members are defined in their classes (inline), which
/// explicit instantiation declarations do not keep out of a translation unit.
#define ACT_INSTANTIATE_ESTIMATORS(EXTERN)                                                                           \
  EXTERN template act::fit_result<act::any_map<float>> act::fit(std::string_view, const Eigen::MatrixBase<Eigen::MatrixXf>&, \
                                                                const Eigen::MatrixBase<Eigen::MatrixXf>&,           \
                                                                const act::fit_settings&);                           \
  EXTERN template act::fit_result<act::any_map<double>> act::fit(                                                   \
      std::string_view, const Eigen::MatrixBase<Eigen::MatrixXd>&, const Eigen::MatrixBase<Eigen::MatrixXd>&,        \
      const act::fit_settings&);
