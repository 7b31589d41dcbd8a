#pragma once
/// \file core.hpp
/// act's core: the version, the exceptions, the support type, the strength rule every map follows, the
/// text rules for names act writes and text it shows, and the instruction-set level the kernels run.

#include <act/core/error.hpp>
#include <act/core/executor.hpp>
#include <act/core/methods.hpp>
#include <act/core/simd.hpp>
#include <act/core/strength.hpp>
#include <act/core/support.hpp>
#include <act/core/text.hpp>
#include <act/core/thread_pool.hpp>
#include <act/core/version.hpp>
