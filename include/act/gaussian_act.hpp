#pragma once
/// \file gaussian_act.hpp
/// Deprecated: forwards to <act/estimators/gaussian_act.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/estimators/gaussian_act.hpp> or a module header such as <act/act.hpp>.

#include <act/estimators/gaussian_act.hpp>
