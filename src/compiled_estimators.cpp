// act::act_compiled: the estimators layer's common instantiations, compiled once (see
// include/act/detail/instantiations.hpp for the list and include/act/estimators.hpp for their declarations).
#define ACT_COMPILED_SOURCE
#include <act/estimators.hpp>
#include <act/detail/instantiations.hpp>

ACT_INSTANTIATE_ESTIMATORS()
