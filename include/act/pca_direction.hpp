#pragma once
/// \file pca_direction.hpp
/// Deprecated: forwards to <act/estimators/pca_direction.hpp> (act 0.2 moved the headers into one folder per layer).
/// Kept for act 0.2 only; include <act/estimators/pca_direction.hpp> or a module header such as <act/act.hpp>.

#include <act/estimators/pca_direction.hpp>
