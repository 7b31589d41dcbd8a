#pragma once
/// \file estimators.hpp
/// Every estimator (Linear-AcT and the family of the paper's Table 1, plus the non-parametric map) and the
/// registry that finds them by name.

#include <act/estimators/actadd.hpp>
#include <act/estimators/aura.hpp>
#include <act/estimators/caa.hpp>
#include <act/estimators/det0.hpp>
#include <act/estimators/gaussian_act.hpp>
#include <act/estimators/itic.hpp>
#include <act/estimators/linear_act.hpp>
#include <act/estimators/mean_act.hpp>
#include <act/estimators/pca_direction.hpp>
#include <act/estimators/pca_uncentred.hpp>
#include <act/estimators/quantile_act.hpp>
#include <act/estimators/registry.hpp>
