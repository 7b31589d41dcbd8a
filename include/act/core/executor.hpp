#pragma once
/// \file executor.hpp
/// Where act's threaded work runs (hooks split over rows, fits over neurons, map sets at a hook point). A host
/// with its own thread pool implements act::executor over it; otherwise act::default_executor() is a pool
/// started once and kept alive, so a threaded call costs a wake-up, not a thread start (core/thread_pool.hpp).
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

}  // namespace act
