#pragma once
/// \file causal.hpp
/// Deprecated: forwards to <act/sites/causal.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/sites/causal.hpp> or a module header such as <act/act.hpp>.

#include <act/sites/causal.hpp>
