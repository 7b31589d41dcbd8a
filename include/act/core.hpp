#pragma once
/// \file core.hpp
/// act's core: the version, the exceptions, the support type and the strength rule every map follows.

#include <act/core/error.hpp>
#include <act/core/strength.hpp>
#include <act/core/support.hpp>
#include <act/core/version.hpp>
