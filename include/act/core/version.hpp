#pragma once
/// \file version.hpp
/// The library version: the one place it is written (CMake parses these lines).

#define ACT_VERSION_MAJOR 0
#define ACT_VERSION_MINOR 3
#define ACT_VERSION_PATCH 0

namespace act {
/// Version as a single integer, major * 10000 + minor * 100 + patch.
inline constexpr int version = ACT_VERSION_MAJOR * 10000 + ACT_VERSION_MINOR * 100 + ACT_VERSION_PATCH;
}  // namespace act
