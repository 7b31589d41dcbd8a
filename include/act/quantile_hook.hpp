#pragma once
/// \file quantile_hook.hpp
/// Deprecated: forwards to <act/hooks/quantile_hook.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/hooks/quantile_hook.hpp> or a module header such as <act/act.hpp>.

#include <act/hooks/quantile_hook.hpp>
