#pragma once
/// \file sites.hpp
/// Many sites of one model: named map sets with strengths, pooling tokens into samples, and fitting sites
/// causally (layer by layer) or simultaneously.

#include <act/sites/causal.hpp>
#include <act/sites/map_set.hpp>
#include <act/sites/pooling.hpp>
