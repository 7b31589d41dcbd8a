#pragma once
/// \file det0.hpp
/// Deprecated: forwards to <act/estimators/det0.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/estimators/det0.hpp> or a module header such as <act/act.hpp>.

#include <act/estimators/det0.hpp>
