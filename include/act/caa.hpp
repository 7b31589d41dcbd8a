#pragma once
/// \file caa.hpp
/// Deprecated: forwards to <act/estimators/caa.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/estimators/caa.hpp> or a module header such as <act/act.hpp>.

#include <act/estimators/caa.hpp>
