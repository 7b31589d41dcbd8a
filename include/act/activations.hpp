#pragma once
/// \file activations.hpp
/// Deprecated: forwards to <act/hooks/activations.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/hooks/activations.hpp> or a module header such as <act/act.hpp>.

#include <act/hooks/activations.hpp>
