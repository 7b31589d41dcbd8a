#pragma once
/// \file fold.hpp
/// Deprecated: forwards to <act/hooks/fold.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/hooks/fold.hpp> or a module header such as <act/act.hpp>.

#include <act/hooks/fold.hpp>
