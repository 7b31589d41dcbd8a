#pragma once
/// \file symmetric_eigen.hpp
/// Eigen's SelfAdjointEigenSolver without the rest of <Eigen/Eigenvalues>. The module header also
/// pulls in LU, Geometry and the non-symmetric solvers, which cost every translation unit that includes
/// act about a sixth of Eigen/Core's compile time; the PCA direction needs only the symmetric solver and
/// its tridiagonalisation. Eigen 3.4.90 and later refuse direct includes of their src/ files, so there
/// the whole module is included.

#include <Eigen/Core>

#if EIGEN_VERSION_AT_LEAST(3, 4, 90)
#include <Eigen/Eigenvalues>
#else
#include <Eigen/Householder>
#include <Eigen/Jacobi>
// The same wrapper Eigen's module headers put around their src/ files.
#include <Eigen/src/Core/util/DisableStupidWarnings.h>
#include <Eigen/src/Eigenvalues/Tridiagonalization.h>
#include <Eigen/src/Eigenvalues/SelfAdjointEigenSolver.h>
#include <Eigen/src/Core/util/ReenableStupidWarnings.h>
#endif
