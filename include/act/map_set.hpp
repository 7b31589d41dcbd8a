#pragma once
/// \file map_set.hpp
/// Deprecated: forwards to <act/sites/map_set.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/sites/map_set.hpp> or a module header such as <act/act.hpp>.

#include <act/sites/map_set.hpp>
