#pragma once
/// \file affine_hook.hpp
/// Deprecated: forwards to <act/hooks/affine_hook.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/hooks/affine_hook.hpp> or a module header such as <act/act.hpp>.

#include <act/hooks/affine_hook.hpp>
