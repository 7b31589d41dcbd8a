// act::act_compiled: the hooks layer's common instantiations, compiled once (see
// include/act/detail/instantiations.hpp for the list and include/act/host.hpp for their declarations).
#define ACT_COMPILED_SOURCE
#include <act/host.hpp>
#include <act/detail/instantiations.hpp>

ACT_INSTANTIATE_HOOKS()
