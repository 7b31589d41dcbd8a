#pragma once
/// \file support.hpp
/// Deprecated: forwards to <act/core/support.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/core/support.hpp> or a module header such as <act/act.hpp>.

#include <act/core/support.hpp>
