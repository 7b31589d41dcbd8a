#include <doctest/doctest.h>

#include <act/core/executor.hpp>
#include <act/detail/kernels/parallel.hpp>
#include <act/hooks/affine_hook.hpp>
#include <act/sites/map_set.hpp>

#include <atomic>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#if defined(__unix__)
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace {

/// Runs tasks on the caller, one after another, and counts what it was asked to do.
struct counting_executor final : act::executor {
  int lanes = 4;
  int runs = 0;
  int tasks = 0;
  int concurrency() const override { return lanes; }
  void run(int count, const task& t) override {
    ++runs;
    tasks += count;
    for (int i = count - 1; i >= 0; --i) t(i);  // backwards: order must not matter
  }
};

act::affine_map<float> random_map(Eigen::Index d, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  act::affine_map<float> map;
  map.omega = Eigen::ArrayXf::NullaryExpr(d, [&] { return 1.0f + 0.3f * n(rng); });
  map.beta = Eigen::ArrayXf::NullaryExpr(d, [&] { return n(rng); });
  return map;
}

std::vector<float> random_rows(Eigen::Index rows, Eigen::Index d, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 2.0f);
  std::vector<float> x(static_cast<std::size_t>(rows * d));
  for (auto& v : x) v = n(rng);
  return x;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

/// Counts the threads that ever ran a task: constructed once per thread, at its first task.
std::atomic<int> threads_seen{0};
struct first_task_on_thread {
  first_task_on_thread() { ++threads_seen; }
};

}  // namespace

TEST_CASE("a hook on the host's executor: one run of concurrency() row ranges, the bits of the plain call") {
  const Eigen::Index d = 4096, rows = 64;
  const act::affine_hook hook(random_map(d, 1), 0.7);
  const auto original = random_rows(rows, d, 2);
  auto plain = original, split = original;
  hook(act::view(plain.data(), rows, d));
  counting_executor ex;
  hook(act::view(split.data(), rows, d), ex);
  CHECK(ex.runs == 1);
  CHECK(ex.tasks == ex.lanes);
  CHECK(same_bits(plain, split));
  CHECK_FALSE(same_bits(plain, original));
}

TEST_CASE("a one-token decode step never reaches the executor") {
  const Eigen::Index d = 4096;
  const act::affine_hook hook(random_map(d, 3), 0.5);
  counting_executor ex;
  auto token = random_rows(1, d, 4);
  auto plain = token;
  for (int block = 0; block < 24; ++block) hook(act::view(token.data(), 1, d), ex);
  for (int block = 0; block < 24; ++block) hook(act::view(plain.data(), 1, d));
  CHECK(ex.runs == 0);
  CHECK(same_bits(token, plain));
}

TEST_CASE("a map set passes the executor to its hook") {
  const Eigen::Index d = 4096, rows = 64;
  act::map_set maps;
  maps.insert("blk.0", random_map(d, 5));
  maps.set_strength(0.6);
  const auto original = random_rows(rows, d, 6);
  auto plain = original, split = original;
  counting_executor ex;
  CHECK(maps("blk.0", act::view(plain.data(), rows, d)));
  CHECK(maps("blk.0", act::view(split.data(), rows, d), ex));
  CHECK_FALSE(maps("blk.9", act::view(split.data(), rows, d), ex));
  CHECK(ex.runs == 1);
  CHECK(same_bits(plain, split));
}

TEST_CASE("executor_scope routes the threads overload (and fits) to the host's executor") {
  const Eigen::Index d = 4096, rows = 64;
  const act::affine_hook hook(random_map(d, 7), 0.4);
  auto x = random_rows(rows, d, 8);
  counting_executor ex;
  {
    act::executor_scope scope(ex);
    CHECK(&act::default_executor() == &ex);
    hook(act::view(x.data(), rows, d), 0);
    act::detail::parallel_for(100, 3, [](Eigen::Index, Eigen::Index) {});
  }
  CHECK(&act::default_executor() != &ex);
  CHECK(ex.runs == 2);
  CHECK(ex.tasks == ex.lanes + 3);
}

TEST_CASE("thread_pool keeps its threads: many calls, no more threads than its concurrency") {
  act::thread_pool pool(3);
  REQUIRE(pool.concurrency() == 3);
  threads_seen = 0;
  std::atomic<int> calls{0};
  const auto touch = [&](int) {
    thread_local first_task_on_thread mark;
    (void)mark;
    ++calls;
  };
  for (int k = 0; k < 200; ++k) pool.run(8, act::executor::task(touch));
  CHECK(calls == 200 * 8);
  CHECK(threads_seen <= pool.concurrency());
  CHECK(threads_seen >= 1);
}

TEST_CASE("thread_pool runs every index once, nested calls run on the caller, exceptions reach the caller") {
  act::thread_pool pool(2);
  std::vector<std::atomic<int>> hits(1000);
  const auto outer = [&](int i) {
    ++hits[static_cast<std::size_t>(i)];
    if (i == 0) {  // a task that calls the pool again must not wait for itself
      const auto inner = [&](int j) { ++hits[static_cast<std::size_t>(500 + j)]; };
      pool.run(500, act::executor::task(inner));
    }
  };
  pool.run(500, act::executor::task(outer));
  for (const auto& h : hits) CHECK(h == 1);

  CHECK_THROWS_AS(act::detail::parallel_for(pool, 100, 4,
                                            [](Eigen::Index begin, Eigen::Index) {
                                              if (begin >= 50) throw std::runtime_error("chunk failed");
                                            }),
                  std::runtime_error);
}

#if defined(__unix__)
TEST_CASE("a forked child's thread_pool runs on the caller instead of waiting for threads it did not inherit") {
  act::thread_pool pool(3);
  std::atomic<int> calls{0};
  const auto count = [&](int) { ++calls; };
  pool.run(6, act::executor::task(count));  // the workers exist and have run
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    alarm(30);  // a child waiting for the parent's threads would hang: end it instead
    calls = 0;
    pool.run(6, act::executor::task(count));
    _exit(calls == 6 ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
#endif
