#pragma once
/// \file act.hpp
/// Everything in act, one module header per layer: core, maps, estimators, hooks, sites, files.
/// A host that only applies maps fitted elsewhere needs <act/host.hpp>.

#include <act/core.hpp>
#include <act/maps.hpp>
#include <act/estimators.hpp>
#include <act/hooks.hpp>
#include <act/sites.hpp>
#include <act/io.hpp>
