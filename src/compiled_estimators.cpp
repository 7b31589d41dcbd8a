// act::act_compiled: the estimator layer's common instantiations, compiled once (see
// include/act/detail/instantiations.hpp for the list and the estimator headers for their declarations).
#define ACT_COMPILED_SOURCE
#include <act/estimators.hpp>
#include <act/detail/instantiations.hpp>

#include <tuple>

// Keeps the list honest: every registered estimator has its line in ACT_INSTANTIATE_ESTIMATOR_FITS.
static_assert(std::tuple_size_v<act::registered_estimators> == 11,
              "a method was added to or removed from the registry: update ACT_INSTANTIATE_ESTIMATOR_FITS");

ACT_INSTANTIATE_ESTIMATORS()
