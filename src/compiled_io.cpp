// act::act_compiled: the io layer's common instantiations, compiled once (see
// include/act/detail/instantiations.hpp for the list and include/act/io.hpp for their declarations).
#define ACT_COMPILED_SOURCE
#include <act/io.hpp>
#include <act/detail/instantiations.hpp>

ACT_INSTANTIATE_IO()
