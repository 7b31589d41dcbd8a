#pragma once
/// \file affine_map.hpp
/// Deprecated: forwards to <act/maps/affine_map.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/maps/affine_map.hpp> or a module header such as <act/act.hpp>.

#include <act/maps/affine_map.hpp>
