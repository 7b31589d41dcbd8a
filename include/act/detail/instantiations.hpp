#pragma once
/// \file instantiations.hpp
/// The instantiations the compiled library act::act_compiled holds, one list for both of its sides:
/// with ACT_COMPILED defined (linking act::act_compiled defines it), each header that declares one of
/// them (a `_decl.hpp` where the header has one) declares it `extern` at its end (ACT_DECLARE_COMPILED), so a
/// translation unit that uses it
/// compiles none of its code; src/compiled_*.cpp define them once. Header-only use (act::act) ignores
/// these declarations.
///
/// Covered: what a host does at its hook points (a float map set loaded from a map file, applied to
/// float, double, half and bfloat16 buffers in every row mode), the file readers and writers, and fitting
/// any method (each estimator's fit, and act::fit by name) on column-major float and double matrices. Only functions
/// defined outside their class (not inline) can be kept out this way; the headers define these so.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

/// At the end of a header: declares its instantiations extern when act::act_compiled provides them.
#if defined(ACT_COMPILED) && !defined(ACT_COMPILED_SOURCE)
#define ACT_DECLARE_COMPILED(INSTANTIATE) INSTANTIATE(extern)
#else
#define ACT_DECLARE_COMPILED(INSTANTIATE)
#endif

/// One hook's row modes on buffers of T.
#define ACT_INSTANTIATE_ROW_MODES(EXTERN, HOOK, T)                                                                   \
  EXTERN template void act::row_modes<HOOK>::operator()(act::activations<T>) const;                                  \
  EXTERN template void act::row_modes<HOOK>::operator()(act::activations<T>, int) const;                             \
  EXTERN template void act::row_modes<HOOK>::operator()(act::activations<T>, act::executor&) const;                  \
  EXTERN template void act::row_modes<HOOK>::masked(act::activations<T>, const std::uint8_t*, std::size_t) const;    \
  EXTERN template void act::row_modes<HOOK>::masked(act::activations<T>, const std::vector<std::uint8_t>&) const;    \
  EXTERN template void act::row_modes<HOOK>::last_rows(act::activations<T>, const Eigen::Index*, std::size_t) const; \
  EXTERN template void act::row_modes<HOOK>::last_rows(act::activations<T>, const std::vector<Eigen::Index>&) const; \
  EXTERN template void act::row_modes<HOOK>::per_row(act::activations<T>, const float*, std::size_t) const;          \
  EXTERN template void act::row_modes<HOOK>::per_row(act::activations<T>, const std::vector<float>&) const;          \
  EXTERN template void act::row_modes<HOOK>::channel_spatial(T*, Eigen::Index, Eigen::Index, Eigen::Index,           \
                                                             act::channel_spatial) const;

/// One hook's row modes on every storage type.
#define ACT_INSTANTIATE_ROW_MODES_FOR(EXTERN, HOOK)    \
  ACT_INSTANTIATE_ROW_MODES(EXTERN, HOOK, float)       \
  ACT_INSTANTIATE_ROW_MODES(EXTERN, HOOK, double)      \
  ACT_INSTANTIATE_ROW_MODES(EXTERN, HOOK, Eigen::half) \
  ACT_INSTANTIATE_ROW_MODES(EXTERN, HOOK, Eigen::bfloat16)

/// hooks/affine_hook.hpp: the float hook.
#define ACT_INSTANTIATE_AFFINE_HOOK(EXTERN)                                                    \
  EXTERN template class act::affine_hook<float>;                                               \
  EXTERN template act::affine_hook<float>::affine_hook(const act::affine_map<float>&, double); \
  ACT_INSTANTIATE_ROW_MODES_FOR(EXTERN, act::affine_hook<float>)

/// hooks/quantile_hook.hpp: the float hook.
#define ACT_INSTANTIATE_QUANTILE_HOOK(EXTERN)                                                        \
  EXTERN template class act::quantile_hook<float>;                                                   \
  EXTERN template act::quantile_hook<float>::quantile_hook(const act::quantile_map<float>&, double); \
  ACT_INSTANTIATE_ROW_MODES_FOR(EXTERN, act::quantile_hook<float>)

/// A float map set's hook points on buffers of T.
#define ACT_INSTANTIATE_MAP_SET_APPLY(EXTERN, T)                                                                     \
  EXTERN template bool act::map_set::operator()(std::string_view, act::activations<T>) const;                        \
  EXTERN template bool act::map_set::operator()(std::string_view, act::activations<T>, act::executor&) const;        \
  EXTERN template bool act::map_set::last_rows(std::string_view, act::activations<T>,                                \
                                               const std::vector<Eigen::Index>&) const;                              \
  EXTERN template bool act::map_set::masked(std::string_view, act::activations<T>, const std::vector<std::uint8_t>&) \
      const;                                                                                                         \
  EXTERN template bool act::map_set::per_row(std::string_view, act::activations<T>, const std::vector<float>&) const;

/// sites/map_set.hpp: the float map set.
#define ACT_INSTANTIATE_MAP_SET(EXTERN)                                                                    \
  EXTERN template class act::basic_map_set<float>;                                                         \
  EXTERN template void act::map_set::insert(std::string, const act::affine_map<float>&, act::map_info);    \
  EXTERN template void act::map_set::insert(std::string, const act::affine_map<double>&, act::map_info);   \
  EXTERN template void act::map_set::insert(std::string, const act::quantile_map<float>&, act::map_info);  \
  EXTERN template void act::map_set::insert(std::string, const act::quantile_map<double>&, act::map_info); \
  EXTERN template void act::map_set::insert(std::string, const act::any_map<float>&, act::map_info);       \
  ACT_INSTANTIATE_MAP_SET_APPLY(EXTERN, float)                                                             \
  ACT_INSTANTIATE_MAP_SET_APPLY(EXTERN, double)                                                            \
  ACT_INSTANTIATE_MAP_SET_APPLY(EXTERN, Eigen::half)                                                       \
  ACT_INSTANTIATE_MAP_SET_APPLY(EXTERN, Eigen::bfloat16)

/// io/map_file.hpp: map files of the float map set.
#define ACT_INSTANTIATE_MAP_FILE(EXTERN)                                                                          \
  EXTERN template act::safetensors_file act::maps_to_safetensors(const act::map_set&);                            \
  EXTERN template act::map_set act::maps_from_safetensors<float>(const act::safetensors_file&, std::string_view); \
  EXTERN template void act::save_maps(const std::string&, const act::map_set&, std::chrono::milliseconds);        \
  EXTERN template act::map_set act::load_maps<float>(const std::string&);                                         \
  EXTERN template void act::check_map_file<float>(const std::string&);                                            \
  EXTERN template act::map_set act::update_map_file(const std::string&, const act::map_set&, std::chrono::milliseconds);

/// io/safetensors.hpp: std::string paths, unsigned char bytes.
#define ACT_INSTANTIATE_SAFETENSORS(EXTERN)                                                                           \
  EXTERN template act::safetensors_file act::parse_safetensors(const unsigned char*, std::size_t, std::string_view);  \
  EXTERN template act::safetensors_file act::read_safetensors(const std::string&);                                    \
  EXTERN template std::vector<unsigned char> act::serialize_safetensors<unsigned char>(const act::safetensors_file&); \
  EXTERN template void act::write_safetensors(const std::string&, const act::safetensors_file&);

/// io/npy.hpp: std::string paths, unsigned char bytes, float and double matrices.
#define ACT_INSTANTIATE_NPY(EXTERN)                                                                   \
  EXTERN template act::npy_array act::parse_npy(const unsigned char*, std::size_t, std::string_view); \
  EXTERN template act::npy_array act::read_npy(const std::string&);                                   \
  EXTERN template Eigen::MatrixXf act::load_npy_matrix<float>(const std::string&);                    \
  EXTERN template Eigen::MatrixXd act::load_npy_matrix<double>(const std::string&);

/// io/gguf.hpp: control vectors with std::string paths and unsigned char bytes.
#define ACT_INSTANTIATE_GGUF(EXTERN)                                                                                   \
  EXTERN template act::control_vector act::parse_control_vector(const unsigned char*, std::size_t, std::string_view);  \
  EXTERN template act::control_vector act::read_control_vector(const std::string&);                                    \
  EXTERN template std::vector<unsigned char> act::serialize_control_vector<unsigned char>(const act::control_vector&); \
  EXTERN template void act::write_control_vector(const std::string&, const act::control_vector&);

/// estimators/<method>.hpp: the estimator's fit on column-major float and double samples; RESULT is
/// affine_fit or quantile_fit.
#define ACT_INSTANTIATE_FIT(EXTERN, ESTIMATOR, RESULT)                                                \
  EXTERN template act::RESULT<float> ESTIMATOR::fit(const Eigen::MatrixBase<Eigen::MatrixXf>&,        \
                                                    const Eigen::MatrixBase<Eigen::MatrixXf>&) const; \
  EXTERN template act::RESULT<double> ESTIMATOR::fit(const Eigen::MatrixBase<Eigen::MatrixXd>&,       \
                                                     const Eigen::MatrixBase<Eigen::MatrixXd>&) const;

/// estimators/registry.hpp: fitting any method by name on column-major float and double samples.
#define ACT_INSTANTIATE_FIT_BY_NAME(EXTERN)                                                                   \
  EXTERN template act::fit_result<act::any_map<float>> act::fit(                                              \
      std::string_view, const Eigen::MatrixBase<Eigen::MatrixXf>&, const Eigen::MatrixBase<Eigen::MatrixXf>&, \
      const act::fit_settings&);                                                                              \
  EXTERN template act::fit_result<act::any_map<double>> act::fit(                                             \
      std::string_view, const Eigen::MatrixBase<Eigen::MatrixXd>&, const Eigen::MatrixBase<Eigen::MatrixXd>&, \
      const act::fit_settings&);

/// What src/compiled_<layer>.cpp define, by layer.
#define ACT_INSTANTIATE_HOOKS(EXTERN)   \
  ACT_INSTANTIATE_AFFINE_HOOK(EXTERN)   \
  ACT_INSTANTIATE_QUANTILE_HOOK(EXTERN) \
  ACT_INSTANTIATE_MAP_SET(EXTERN)       \
  ACT_INSTANTIATE_MAP_FILE(EXTERN)
#define ACT_INSTANTIATE_IO(EXTERN)    \
  ACT_INSTANTIATE_SAFETENSORS(EXTERN) \
  ACT_INSTANTIATE_NPY(EXTERN)         \
  ACT_INSTANTIATE_GGUF(EXTERN)
// Each estimator header defines ACT_INSTANTIATE_<ESTIMATOR> with ACT_INSTANTIATE_FIT.
#define ACT_INSTANTIATE_ESTIMATOR_FITS(EXTERN) \
  ACT_INSTANTIATE_LINEAR_ACT(EXTERN)           \
  ACT_INSTANTIATE_MEAN_ACT(EXTERN)             \
  ACT_INSTANTIATE_GAUSSIAN_ACT(EXTERN)         \
  ACT_INSTANTIATE_ACTADD(EXTERN)               \
  ACT_INSTANTIATE_CAA(EXTERN)                  \
  ACT_INSTANTIATE_PCA_DIRECTION(EXTERN)        \
  ACT_INSTANTIATE_PCA_UNCENTRED(EXTERN)        \
  ACT_INSTANTIATE_ITIC(EXTERN)                 \
  ACT_INSTANTIATE_AURA(EXTERN)                 \
  ACT_INSTANTIATE_DET0(EXTERN)                 \
  ACT_INSTANTIATE_QUANTILE_ACT(EXTERN)
#define ACT_INSTANTIATE_ESTIMATORS(EXTERN) \
  ACT_INSTANTIATE_ESTIMATOR_FITS(EXTERN)   \
  ACT_INSTANTIATE_FIT_BY_NAME(EXTERN)
