#pragma once
/// \file hooks.hpp
/// What a host needs at its hook points: views of activation buffers, the hooks that apply a map in place
/// (all rows, masked, last rows, per-row strengths, threads, channel-spatial feature maps), folding a map
/// into a linear layer, and a map set loaded from a map file.
///
///     act::map_set maps = act::load_maps("detox.safetensors");
///     maps.set_strength(0.8);
///     maps("blk.12.post_attn_norm", act::view(buf, tokens, d));   // at the hook point

#include <act/maps.hpp>
#include <act/hooks/activations.hpp>
#include <act/hooks/affine_hook.hpp>
#include <act/hooks/fold.hpp>
#include <act/hooks/quantile_hook.hpp>
#include <act/hooks/row_modes.hpp>
#include <act/io/map_file.hpp>
#include <act/sites/map_set.hpp>

