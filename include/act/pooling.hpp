#pragma once
/// \file pooling.hpp
/// Deprecated: forwards to <act/sites/pooling.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/sites/pooling.hpp> or a module header such as <act/act.hpp>.

#include <act/sites/pooling.hpp>
