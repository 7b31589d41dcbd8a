#pragma once
/// \file actadd.hpp
/// Deprecated: forwards to <act/estimators/actadd.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/estimators/actadd.hpp> or a module header such as <act/act.hpp>.

#include <act/estimators/actadd.hpp>
