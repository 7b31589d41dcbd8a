#pragma once
/// \file columns.hpp
/// Fits at any size on one machine: column sources (samples delivered a block of neurons at a time),
/// memory-mapped .npy files among them, pooled and stacked sources, and act::fit_columns within a
/// memory budget. Not part of <act/act.hpp>, so that code which does not stream pays nothing for it; the
/// distributed fit is <act/mpi/fit.hpp>.

#include <act/columns/fit.hpp>
#include <act/columns/pooled.hpp>
#include <act/columns/source.hpp>
#include <act/columns/npy_columns.hpp>
