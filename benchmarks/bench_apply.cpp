/// \file bench_apply.cpp
/// Applying a map in place against the memory floor: memcpy and a one-multiply in-place pass over
/// the same buffer. Sizes are /rows/neurons; bytes_per_second counts bytes read plus written.
/// BM_apply_{f32,bf16,f16,quantile,quantile_column_major}/level:<name> force each act::simd level this build
/// and processor have; the rows without a level run the default (widest) one.

#include <act/hooks/affine_hook.hpp>
#include <act/core/executor.hpp>
#include <act/core/simd.hpp>
#include <act/detail/kernels/parallel.hpp>
#include <act/estimators/quantile_act.hpp>
#include <act/hooks/quantile_hook.hpp>

#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

namespace {

/// A 64-byte aligned buffer, as inference engines allocate activations (ggml, PyTorch's CPU
/// allocator); std::vector's 16-byte alignment would make every 64-byte vector access straddle two
/// cache lines, for the baselines and the hooks alike.
template <class T>
class aligned_buffer {
 public:
  explicit aligned_buffer(std::size_t n)
      : n_(n), p_(static_cast<T*>(std::aligned_alloc(64, (n * sizeof(T) + 63) / 64 * 64))) {
    if (p_ == nullptr) throw std::bad_alloc();
    for (std::size_t i = 0; i < n_; ++i) new (p_ + i) T(0.0f);
  }
  ~aligned_buffer() { std::free(p_); }
  aligned_buffer(aligned_buffer&& other) noexcept : n_(other.n_), p_(other.p_) { other.p_ = nullptr; }
  aligned_buffer(const aligned_buffer&) = delete;
  aligned_buffer& operator=(const aligned_buffer&) = delete;
  T* data() { return p_; }
  std::size_t size() const { return n_; }
  T& operator[](std::size_t i) { return p_[i]; }

 private:
  std::size_t n_;
  T* p_;
};

/// Normal activations, so a [min, max]-like support of +-2.5 leaves about 1% outside.
template <class T>
aligned_buffer<T> activations_buffer(std::int64_t rows, std::int64_t d) {
  std::mt19937 rng(7);
  std::normal_distribution<float> n(0.0f, 1.0f);
  aligned_buffer<T> buf(static_cast<std::size_t>(rows * d));
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<T>(n(rng));
  return buf;
}

/// A Linear-AcT-like map: slopes near 1, small intercepts, support [-2.5, 2.5] (or unbounded).
act::affine_map<float> bench_map(std::int64_t d, bool bounded) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> w(0.8f, 1.2f), b(-0.1f, 0.1f);
  act::affine_map<float> m = act::affine_map<float>::identity(d);
  for (std::int64_t j = 0; j < d; ++j) {
    m.omega[j] = w(rng);
    m.beta[j] = b(rng);
  }
  if (bounded) {
    m.lower = Eigen::ArrayXf::Constant(d, -2.5f);
    m.upper = Eigen::ArrayXf::Constant(d, 2.5f);
  }
  return m;
}

void set_bytes(benchmark::State& state, std::int64_t bytes_per_iteration) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * bytes_per_iteration);
}

void BM_memcpy(benchmark::State& state) {
  const auto rows = state.range(0), d = state.range(1);
  auto src = activations_buffer<float>(rows, d);
  aligned_buffer<float> dst(src.size());
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), src.size() * sizeof(float));
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, 2 * rows * d * static_cast<std::int64_t>(sizeof(float)));
}

/// The floor's loop (vectorised by GCC at -O3), compiled for each act::simd level as the kernels are and run
/// at the level they run (act::simd::active()), so that kernels and floor use the same instructions.
#define ACT_BENCH_SCALE_BODY \
  for (std::size_t i = 0; i < n; ++i) p[i] *= 0.999f;
void scale_at_build_level(float* p, std::size_t n) { ACT_BENCH_SCALE_BODY }
#if ACT_SIMD_DISPATCH
__attribute__((target("avx2,fma,f16c,bmi2"))) void scale_at_avx2(float* p, std::size_t n) { ACT_BENCH_SCALE_BODY }
#if defined(__clang__)
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c,bmi2")))
#else  // 512-bit vectors, as the kernels' AVX-512 level (GCC's default tuning prefers 256)
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c,bmi2,prefer-vector-width=512")))
#endif
void scale_at_avx512(float* p, std::size_t n) {
  ACT_BENCH_SCALE_BODY
}
#endif
#undef ACT_BENCH_SCALE_BODY
void scale_floor(float* p, std::size_t n) {
#if ACT_SIMD_DISPATCH
  const auto level = act::simd::active();
  if (level == act::simd::level::avx512 && ACT_SIMD_BUILD_LEVEL < 2) return scale_at_avx512(p, n);
  if (level == act::simd::level::avx2 && ACT_SIMD_BUILD_LEVEL < 1) return scale_at_avx2(p, n);
#endif
  scale_at_build_level(p, n);
}

void BM_scale_inplace(benchmark::State& state) {
  const auto rows = state.range(0), d = state.range(1);
  auto buf = activations_buffer<float>(rows, d);
  state.SetLabel(std::string("level:") + std::string(act::simd::name(act::simd::active())));
  for (auto _ : state) {
    scale_floor(buf.data(), buf.size());
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, 2 * rows * d * static_cast<std::int64_t>(sizeof(float)));
}

/// The floor for the _mt hooks: the same in-place multiply split over threads the way the hook splits
/// rows (act::detail::parallel_for on act::default_executor()'s pool).
void BM_scale_inplace_mt(benchmark::State& state) {
  const auto rows = state.range(0), d = state.range(1);
  auto buf = activations_buffer<float>(rows, d);
  for (auto _ : state) {
    act::detail::parallel_for(rows, static_cast<int>(state.range(2)), [&](Eigen::Index begin, Eigen::Index end) {
      scale_floor(buf.data() + begin * d, static_cast<std::size_t>((end - begin) * d));
    });
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, 2 * rows * d * static_cast<std::int64_t>(sizeof(float)));
}

/// Linear-AcT hook, support on, lambda = 0.5, over every row; `threads` = 1 is the plain call.
template <class T>
void apply_all_rows(benchmark::State& state, int threads) {
  const auto rows = state.range(0), d = state.range(1);
  auto buf = activations_buffer<T>(rows, d);
  const act::affine_hook<float> hook(bench_map(d, true), 0.5);
  const auto x = act::view(buf.data(), rows, d);
  for (auto _ : state) {
    if (threads == 1)
      hook(x);
    else
      hook(x, threads);
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, 2 * rows * d * static_cast<std::int64_t>(sizeof(T)));
}

void BM_apply_f32(benchmark::State& state) { apply_all_rows<float>(state, 1); }

/// A decode step: one token through every block of a model (range 0 blocks, range 1 neurons), one affine hook
/// per block, each with its own map; `with_executor` passes an act::thread_pool as a host passes its own.
/// ns_per_hook is the time of one hook call.
void decode_step(benchmark::State& state, bool with_executor) {
  const auto blocks = state.range(0), d = state.range(1);
  std::vector<act::affine_hook<float>> hooks;
  for (std::int64_t b = 0; b < blocks; ++b) {
    auto map = bench_map(d, true);
    map.beta += 0.001f * static_cast<float>(b);
    hooks.emplace_back(map, 0.5);
  }
  auto token = activations_buffer<float>(1, d);
  const auto x = act::view(token.data(), 1, d);
  act::thread_pool pool;
  for (auto _ : state) {
    for (const auto& hook : hooks) {
      if (with_executor)
        hook(x, pool);
      else
        hook(x);
    }
    benchmark::DoNotOptimize(token.data());
    benchmark::ClobberMemory();
  }
  state.counters["ns_per_hook"] = benchmark::Counter(
      static_cast<double>(blocks) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
void BM_decode_step(benchmark::State& state) { decode_step(state, false); }
void BM_decode_step_executor(benchmark::State& state) { decode_step(state, true); }
void BM_apply_bf16(benchmark::State& state) { apply_all_rows<Eigen::bfloat16>(state, 1); }
void BM_apply_f16(benchmark::State& state) { apply_all_rows<Eigen::half>(state, 1); }
void BM_apply_f32_mt(benchmark::State& state) { apply_all_rows<float>(state, static_cast<int>(state.range(2))); }
void BM_apply_bf16_mt(benchmark::State& state) {
  apply_all_rows<Eigen::bfloat16>(state, static_cast<int>(state.range(2)));
}

/// Unbounded support (induction's default): no comparisons needed, still the same kernel.
void BM_apply_f32_unbounded(benchmark::State& state) {
  const auto rows = state.range(0), d = state.range(1);
  auto buf = activations_buffer<float>(rows, d);
  const act::affine_hook<float> hook(bench_map(d, false), 0.5);
  for (auto _ : state) {
    hook(act::view(buf.data(), rows, d));
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, 2 * rows * d * static_cast<std::int64_t>(sizeof(float)));
}

/// A serving batch where every row asks its own strength.
void BM_apply_per_row_lambda(benchmark::State& state) {
  const auto rows = state.range(0), d = state.range(1);
  auto buf = activations_buffer<float>(rows, d);
  const act::affine_hook<float> hook(bench_map(d, true), 0.5);
  std::vector<float> lambdas(static_cast<std::size_t>(rows));
  for (std::size_t r = 0; r < lambdas.size(); ++r) lambdas[r] = 0.25f + 0.5f * static_cast<float>(r % 3);
  for (auto _ : state) {
    hook.per_row(act::view(buf.data(), rows, d), lambdas);
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, 2 * rows * d * static_cast<std::int64_t>(sizeof(float)));
}

/// Channel-spatial mode: /rows/neurons = /positions/channels of one image (channel-major [C x H*W]).
void BM_apply_channel_spatial(benchmark::State& state) {
  const auto positions = state.range(0), channels = state.range(1);
  auto buf = activations_buffer<float>(positions, channels);
  const act::affine_hook<float> hook(bench_map(channels, true), 0.5);
  for (auto _ : state) {
    hook.channel_spatial(buf.data(), 1, channels, positions);
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  // Read once for the mean, read and written once for the shift.
  set_bytes(state, 3 * positions * channels * static_cast<std::int64_t>(sizeof(float)));
}

/// Non-parametric map (quantile_act's default knots, 128, fitted on 512 + 512 samples), lambda = 0.5.
act::quantile_hook<float> fitted_quantile_hook(Eigen::Index d) {
  std::mt19937 rng(5);
  std::normal_distribution<float> n(0.0f, 1.0f);
  Eigen::MatrixXf source(512, d), target(512, d);
  for (Eigen::Index i = 0; i < source.size(); ++i) source.data()[i] = n(rng);
  for (Eigen::Index i = 0; i < target.size(); ++i) target.data()[i] = 1.2f * n(rng) + 0.3f;
  return act::quantile_hook<float>(act::quantile_act{}.fit(source, target).map, 0.5);
}

/// The quantile hook on a row-major buffer, or a column-major one (Eigen's default layout), where the
/// kernel's lanes run down one neuron's rows.
void apply_quantile(benchmark::State& state, bool column_major) {
  const auto rows = state.range(0), d = state.range(1);
  auto buf = activations_buffer<float>(rows, d);
  const auto hook = fitted_quantile_hook(d);
  state.counters["knots"] = static_cast<double>(hook.knots());
  const act::activations<float> x =
      column_major ? act::activations<float>{buf.data(), rows, d, 1, rows} : act::view(buf.data(), rows, d);
  for (auto _ : state) {
    hook(x);
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, 2 * rows * d * static_cast<std::int64_t>(sizeof(float)));
}

void BM_apply_quantile(benchmark::State& state) { apply_quantile(state, false); }
void BM_apply_quantile_column_major(benchmark::State& state) { apply_quantile(state, true); }

}  // namespace

BENCHMARK(BM_memcpy)->Args({4096, 4096})->Args({4096, 2048})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_scale_inplace)->Args({4096, 4096})->Args({4096, 2048})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_apply_f32)->Args({4096, 4096})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_apply_f32_unbounded)->Args({4096, 4096})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_apply_bf16)->Args({4096, 4096})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_apply_f16)->Args({4096, 4096})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_apply_per_row_lambda)->Args({4096, 4096})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_apply_quantile)->Args({4096, 4096})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_apply_quantile_column_major)->Args({4096, 4096})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_apply_channel_spatial)->Args({4096, 4096})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_decode_step)->Args({24, 4096})->ArgNames({"blocks", "d"})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_decode_step_executor)->Args({24, 4096})->ArgNames({"blocks", "d"})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_scale_inplace_mt)
    ->Args({4096, 4096, 2})
    ->ArgNames({"", "", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_apply_f32_mt)
    ->Args({4096, 4096, 2})
    ->ArgNames({"", "", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_apply_bf16_mt)
    ->Args({4096, 4096, 2})
    ->ArgNames({"", "", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

/// Registers `bench` again as <name>/level:<level> for each act::simd level available here, forcing that
/// level while it runs.
void register_per_level(const char* name, void (*bench)(benchmark::State&)) {
  for (const act::simd::level level : act::simd::all_levels) {
    if (!act::simd::available(level)) continue;
    const std::string full = std::string(name) + "/level:" + std::string(act::simd::name(level));
    benchmark::RegisterBenchmark(full.c_str(),
                                 [level, bench](benchmark::State& state) {
                                   act::simd::force_level(level);
                                   bench(state);
                                   act::simd::reset_level();
                                 })
        ->Args({4096, 4096})
        ->Unit(benchmark::kMillisecond);
  }
}

int main(int argc, char** argv) {
  register_per_level("BM_apply_f32", BM_apply_f32);
  register_per_level("BM_apply_bf16", BM_apply_bf16);
  register_per_level("BM_apply_f16", BM_apply_f16);
  register_per_level("BM_apply_quantile", BM_apply_quantile);
  register_per_level("BM_apply_quantile_column_major", BM_apply_quantile_column_major);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
