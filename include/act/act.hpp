#pragma once
/// \file act.hpp
/// Everything in act: maps, estimators, hooks, pooling, named map sets, files.

#include "version.hpp"
#include "error.hpp"

#include "support.hpp"
#include "affine_map.hpp"
#include "quantile_map.hpp"

#include "linear_act.hpp"
#include "mean_act.hpp"
#include "gaussian_act.hpp"
#include "actadd.hpp"
#include "caa.hpp"
#include "pca_direction.hpp"
#include "itic.hpp"
#include "aura.hpp"
#include "det0.hpp"
#include "quantile_act.hpp"

#include "activations.hpp"
#include "affine_hook.hpp"
#include "quantile_hook.hpp"
#include "fold.hpp"
#include "pooling.hpp"
#include "map_set.hpp"
#include "causal.hpp"

#include "io/npy.hpp"
#include "io/safetensors.hpp"
#include "io/gguf.hpp"
#include "io/map_file.hpp"
