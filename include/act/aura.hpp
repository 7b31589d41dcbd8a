#pragma once
/// \file aura.hpp
/// Deprecated: forwards to <act/estimators/aura.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/estimators/aura.hpp> or a module header such as <act/act.hpp>.

#include <act/estimators/aura.hpp>
