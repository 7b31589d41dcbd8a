/// \file bench_fit.cpp
/// Fitting against the sorting floor: sorting every column of the same source and target matrices
/// (contiguous columns) is what any quantile-matching estimator must pay at least; std::sort is the
/// yardstick, act's radix sort (which the fits use) the floor they can reach.
/// Sizes are /rows/neurons; bytes_per_second counts the input bytes read.

#include <act/estimators/linear_act.hpp>
#include <act/estimators/mean_act.hpp>
#include <act/estimators/quantile_act.hpp>
#include <act/detail/numeric/radix_sort.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

namespace {

using matrix = Eigen::MatrixXf;  // column-major: each neuron's samples are contiguous
using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Pooled-activation-like samples: per neuron a normal with its own mean and scale, the target
/// shifted and stretched, with a few heavy-tailed outliers.
matrix samples(std::int64_t rows, std::int64_t d, unsigned seed, float stretch, float shift) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::student_t_distribution<float> t(3.0f);
  matrix x(rows, d);
  for (std::int64_t j = 0; j < d; ++j) {
    const float mean = 0.1f * static_cast<float>(j % 13) + shift,
                scale = 0.5f + 0.05f * static_cast<float>(j % 17) * stretch;
    for (std::int64_t i = 0; i < rows; ++i) x(i, j) = mean + scale * (i % 50 == 0 ? t(rng) : n(rng));
  }
  return x;
}

struct fit_data {
  matrix source, target;
  fit_data(std::int64_t rows_a, std::int64_t rows_b, std::int64_t d)
      : source(samples(rows_a, d, 1, 1.0f, 0.0f)), target(samples(rows_b, d, 2, 1.5f, 0.3f)) {}
  std::int64_t bytes() const { return static_cast<std::int64_t>((source.size() + target.size()) * sizeof(float)); }
};

void set_bytes(benchmark::State& state, std::int64_t bytes_per_iteration) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * bytes_per_iteration);
}

/// Sorts each contiguous column of both matrices with sort(first, last). The unsorted copies are
/// refreshed outside the timed region (sorting sorted data would be faster).
template <class Sort>
void sort_columns(benchmark::State& state, Sort sort) {
  const fit_data data(state.range(0), state.range(0), state.range(1));
  matrix a, b;
  for (auto _ : state) {
    state.PauseTiming();
    a = data.source;
    b = data.target;
    state.ResumeTiming();
    for (matrix* m : {&a, &b})
      for (Eigen::Index j = 0; j < m->cols(); ++j) sort(m->col(j).data(), m->col(j).data() + m->rows());
    benchmark::DoNotOptimize(a.data());
    benchmark::DoNotOptimize(b.data());
  }
  set_bytes(state, data.bytes());
}

/// The yardstick: std::sort.
void BM_sort_columns(benchmark::State& state) {
  sort_columns(state, [](float* first, float* last) { std::sort(first, last); });
}

/// act's radix sort (detail/radix_sort.hpp), which the fits use: the floor for a fit built on it.
/// Each column goes through a copy, as in the fits.
void BM_sort_columns_radix(benchmark::State& state) {
  std::vector<float> column;
  act::detail::radix_buffers<float> buffers;
  sort_columns(state, [&](float* first, float* last) {
    column.assign(first, last);
    act::detail::radix_sort(column, buffers);
    std::copy(column.begin(), column.end(), first);
  });
}

template <class Estimator, class Source, class Target>
void run_fit(benchmark::State& state, const Estimator& est, const Source& source, const Target& target,
             std::int64_t bytes) {
  for (auto _ : state) {
    auto fit = est.fit(source, target);
    benchmark::DoNotOptimize(fit.map);
  }
  set_bytes(state, bytes);
}

/// Linear-AcT, support [min, max], column-major input (read in place), one thread.
void BM_fit_linear(benchmark::State& state) {
  const fit_data data(state.range(0), state.range(0), state.range(1));
  run_fit(state, act::linear_act{}, data.source, data.target, data.bytes());
}

/// The same fit on row-major input (samples as they come out of a forward pass, one row per input).
void BM_fit_linear_row_major(benchmark::State& state) {
  const fit_data data(state.range(0), state.range(0), state.range(1));
  const row_matrix source = data.source, target = data.target;
  run_fit(state, act::linear_act{}, source, target, data.bytes());
}

/// Unequal counts: the monotone coupling of n_a = rows and n_b = 3/4 rows samples.
void BM_fit_linear_unequal(benchmark::State& state) {
  const fit_data data(state.range(0), state.range(0) * 3 / 4, state.range(1));
  run_fit(state, act::linear_act{}, data.source, data.target, data.bytes());
}

void BM_fit_linear_mt(benchmark::State& state) {
  const fit_data data(state.range(0), state.range(0), state.range(1));
  act::linear_act_options opts;
  opts.threads = static_cast<int>(state.range(2));
  run_fit(state, act::linear_act{opts}, data.source, data.target, data.bytes());
}

void BM_fit_mean(benchmark::State& state) {
  const fit_data data(state.range(0), state.range(0), state.range(1));
  run_fit(state, act::mean_act{}, data.source, data.target, data.bytes());
}

/// Non-parametric AcT with its default knots.
void BM_fit_quantile(benchmark::State& state) {
  const fit_data data(state.range(0), state.range(0), state.range(1));
  run_fit(state, act::quantile_act{}, data.source, data.target, data.bytes());
}

}  // namespace

BENCHMARK(BM_sort_columns)->Args({4096, 4096})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sort_columns_radix)->Args({4096, 4096})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_fit_linear)->Args({4096, 4096})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_fit_linear_row_major)->Args({4096, 4096})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_fit_linear_unequal)->Args({4096, 4096})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_fit_linear_mt)
    ->Args({4096, 4096, 2})
    ->ArgNames({"", "", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_fit_mean)->Args({4096, 4096})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_fit_quantile)->Args({4096, 4096})->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
