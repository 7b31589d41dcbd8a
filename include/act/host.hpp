#pragma once
/// \file host.hpp
/// What an inference host needs to steer with maps fitted elsewhere: views of its activation buffers, the
/// hooks, a map set with strengths per site and the map-file reader. No estimator, no SIMD intrinsics.
/// Linking act::act_compiled, it brings only the declarations (the `_decl.hpp` headers): a host then compiles
/// almost nothing, and the library holds what it calls, float map sets applied to float, double, half and
/// bfloat16 buffers. Anything else (another map type, update_map_file with an edit) needs its full header.

#include <act/hooks/activations.hpp>
#include <act/hooks/fold.hpp>
#if defined(ACT_COMPILED) && !defined(ACT_COMPILED_SOURCE)
#include <act/hooks/affine_hook_decl.hpp>
#include <act/hooks/quantile_hook_decl.hpp>
#include <act/io/map_file_decl.hpp>
#include <act/sites/map_set_decl.hpp>
#else
#include <act/hooks/affine_hook.hpp>
#include <act/hooks/quantile_hook.hpp>
#include <act/io/map_file.hpp>
#include <act/sites/map_set.hpp>
#endif
