#pragma once
/// \file hooks.hpp
/// Applying one map in place: views of activation buffers, the hooks (all rows, masked, last rows, per-row
/// strengths, threads, channel-spatial feature maps) and folding a map into a linear layer. A host that
/// loads a map file and applies it at its hook points includes <act/host.hpp>.

#include <act/hooks/activations.hpp>
#include <act/hooks/affine_hook.hpp>
#include <act/hooks/fold.hpp>
#include <act/hooks/quantile_hook.hpp>
#include <act/hooks/row_modes.hpp>
