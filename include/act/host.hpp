#pragma once
/// \file host.hpp
/// What an inference host needs to steer with maps fitted elsewhere: views of its activation buffers, the
/// hooks, a map set with strengths per site and the map-file reader. No estimator, no SIMD intrinsics.
///
///     act::map_set maps = act::load_maps("detox.safetensors");
///     maps.set_strength(0.8);
///     maps("blk.12.post_attn_norm", act::view(buf, tokens, d));   // at the hook point

#include <act/hooks.hpp>
#include <act/io/map_file.hpp>
#include <act/sites/map_set.hpp>
