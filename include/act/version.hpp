#pragma once
/// \file version.hpp
/// Deprecated: forwards to <act/core/version.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/core/version.hpp> or a module header such as <act/act.hpp>.

#include <act/core/version.hpp>
