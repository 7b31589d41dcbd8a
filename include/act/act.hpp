#pragma once
/// \file act.hpp
/// Everything in act: maps, estimators, hooks, pooling, named map sets, files.

#include "version.hpp"
#include "error.hpp"

#include "support.hpp"
#include "affine_map.hpp"
#include "linear_act.hpp"

#include "activations.hpp"
#include "affine_hook.hpp"
#include "pooling.hpp"
#include "map_set.hpp"
#include "causal.hpp"
