#pragma once
/// \file error.hpp
/// Deprecated: forwards to <act/core/error.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/core/error.hpp> or a module header such as <act/act.hpp>.

#include <act/core/error.hpp>
