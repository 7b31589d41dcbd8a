#pragma once
/// \file executor.hpp
/// Where act's threaded work runs (hooks split over rows, fits over neurons, map sets at a hook point). A host
/// with its own thread pool implements act::executor over it; otherwise act::default_executor() is a pool
/// started once and kept alive, so a threaded call costs a wake-up, not a thread start.
///
///     struct my_executor final : act::executor {            // over the engine's own pool
///       int concurrency() const override { return pool.size(); }
///       void run(int count, const act::executor::task& t) override { pool.parallel_for(count, t); }
///     };
///     hook(act::view(buf, tokens, d), engine_executor);       // rows split over the engine's threads
///     act::executor_scope scope(engine_executor);             // and every threaded act call on this thread
///
/// Work runs on the executor only when it is worth it (see each call's min_elements_per_thread): a one-token
/// decode step stays on the caller and never touches it.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace act {

/// Runs `count` independent tasks and returns when all have finished.
class executor {
 public:
  /// task(i) for one index i in [0, count). Never throws: act catches inside and rethrows on the caller.
  /// A non-owning reference to a callable, valid during run().
  class task {
   public:
    template <class F>
    explicit task(const F& f) : f_(&f), call_([](const void* f, int i) { (*static_cast<const F*>(f))(i); }) {}
    void operator()(int index) const { call_(f_, index); }

   private:
    const void* f_;
    void (*call_)(const void*, int);
  };

  virtual ~executor() = default;
  /// How many tasks can run at once, the calling thread included (>= 1): act splits work into at most this many.
  virtual int concurrency() const = 0;
  /// Runs t(0) .. t(count - 1), in any order, on any threads (the caller's included); returns when all have
  /// returned. May be called from several threads at once and from inside a task.
  virtual void run(int count, const task& t) = 0;

 protected:
  executor() = default;
  executor(const executor&) = default;
  executor& operator=(const executor&) = default;
};

/// An executor over threads it starts once and keeps until destruction; the caller runs tasks too. One job at a
/// time: a call made while another runs (from another thread, or from inside a task) runs its tasks on its own
/// thread instead of waiting. In a child process made by fork(), which inherits none of the threads, every call
/// runs on the caller.
class thread_pool final : public executor {
 public:
  /// `threads` tasks at once, the caller included (0 = std::thread::hardware_concurrency()).
  explicit thread_pool(int threads = 0) {
    const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    workers_.reserve(static_cast<std::size_t>(n - 1));
    for (int k = 0; k + 1 < n; ++k) workers_.emplace_back([this] { work(); });
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

  int concurrency() const override { return static_cast<int>(workers_.size()) + 1; }

  void run(int count, const task& t) override {
    if (count <= 0) return;
    std::unique_lock<std::mutex> job(job_mutex_, std::try_to_lock);
    if (count == 1 || workers_.empty() || !job.owns_lock() || forked()) {
      for (int i = 0; i < count; ++i) t(i);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &t;
      count_ = count;
      next_.store(0, std::memory_order_relaxed);
      busy_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    wake_.notify_all();
    struct wait_for_workers {  // also when a task throws here: the workers still read t
      thread_pool& pool;
      ~wait_for_workers() {
        std::unique_lock<std::mutex> lock(pool.mutex_);
        pool.done_.wait(lock, [this] { return pool.busy_ == 0; });
        pool.job_ = nullptr;
      }
    } wait{*this};
    claim(t, count);
  }

 private:
  bool forked() const {
#if defined(__unix__) || defined(__APPLE__)
    return ::getpid() != owner_;
#else
    return false;
#endif
  }

  void claim(const task& t, int count) {
    for (int i = next_.fetch_add(1, std::memory_order_relaxed); i < count;
         i = next_.fetch_add(1, std::memory_order_relaxed))
      t(i);
  }

  void work() {
    std::uint64_t seen = 0;
    for (;;) {
      const task* t;
      int count;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        t = job_;
        count = count_;
      }
      claim(*t, count);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--busy_ == 0) done_.notify_one();
    }
  }

#if defined(__unix__) || defined(__APPLE__)
  const ::pid_t owner_ = ::getpid();  ///< the process whose threads workers_ are
#endif
  std::vector<std::thread> workers_;
  std::mutex job_mutex_;  ///< held by the caller whose job runs
  std::mutex mutex_;      ///< guards the fields below
  std::condition_variable wake_, done_;
  const task* job_ = nullptr;
  int count_ = 0;
  int busy_ = 0;  ///< workers still on the current job
  std::uint64_t generation_ = 0;
  bool stop_ = false;
  std::atomic<int> next_{0};
};

namespace detail {
inline executor*& scoped_executor() {
  thread_local executor* current = nullptr;
  return current;
}
}  // namespace detail

/// Makes `ex` the executor of every threaded act call made on this thread that names none, until destroyed
/// (scopes nest). The way to run fits (whose options say only how many threads) on a host's pool.
class executor_scope {
 public:
  explicit executor_scope(executor& ex) : previous_(detail::scoped_executor()) { detail::scoped_executor() = &ex; }
  executor_scope(const executor_scope&) = delete;
  executor_scope& operator=(const executor_scope&) = delete;
  ~executor_scope() { detail::scoped_executor() = previous_; }

 private:
  executor* previous_;
};

/// The executor of threaded calls that name none: the innermost executor_scope's on this thread, else a
/// process-wide thread_pool of hardware_concurrency() started at the first use.
inline executor& default_executor() {
  if (executor* scoped = detail::scoped_executor()) return *scoped;
  static thread_pool pool;
  return pool;
}

}  // namespace act
