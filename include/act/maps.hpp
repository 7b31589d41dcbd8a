#pragma once
/// \file maps.hpp
/// The maps act fits and applies: per-neuron affine maps on a support, monotone quantile maps, and the
/// result every estimator returns.

#include <act/core.hpp>
#include <act/maps/affine_map.hpp>
#include <act/maps/fit_result.hpp>
#include <act/maps/quantile_map.hpp>
