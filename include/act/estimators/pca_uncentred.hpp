#pragma once
/// \file pca_uncentred.hpp
/// The control-vector direction of llama.cpp's cvector-generator: PCA of the uncentred paired differences.

#include <act/detail/instantiations.hpp>
#include <act/estimators/pca_direction.hpp>

namespace act {

/// The PCA direction as llama.cpp's cvector-generator computes it: the unit first principal direction of
/// the *uncentred* paired differences D = target - source (the leading eigenvector of D^T D, which the
/// generator finds by power iteration), so a shift every pair shares dominates it. llama.cpp leaves the
/// sign to its iteration; here it points toward the mean difference (m . beta >= 0), deterministic.
/// beta has unit norm (scale as pca_direction's), omega = 1, lambda multiplies beta.
using pca_uncentred = basic_pca_direction<false>;

}  // namespace act

#define ACT_INSTANTIATE_PCA_UNCENTRED(EXTERN) ACT_INSTANTIATE_FIT(EXTERN, act::pca_uncentred, affine_fit)
ACT_DECLARE_COMPILED(ACT_INSTANTIATE_PCA_UNCENTRED)
