#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Separates the store's two phases: the cycle thread *writes* (applies events) and workers
/// *read* (evaluate strategies), never both at once. A reader-writer lock rather than a
/// seqlock, because readers hand raw pointers into kline columns to Lua and native
/// indicators: a retry loop could not cover that, and the phases change only a few times per
/// cycle, so the lock is uncontended and costs a few tens of nanoseconds per phase.
public final class CyclePhaseLock: @unchecked Sendable {  // safe: pthread rwlock, see below
  // safe: the pthread rwlock is allocated once, never moved, and only used through the
  // pthread API, which is thread-safe by definition.
  private let lock: UnsafeMutablePointer<pthread_rwlock_t>

  public init() {
    lock = .allocate(capacity: 1)
    lock.initialize(to: pthread_rwlock_t())
    var attributes = pthread_rwlockattr_t()
    pthread_rwlockattr_init(&attributes)
    #if canImport(Glibc)
      // Writer preference: the cycle thread's write phase must not starve behind readers.
      pthread_rwlockattr_setkind_np(
        &attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
    #endif
    pthread_rwlock_init(lock, &attributes)
    pthread_rwlockattr_destroy(&attributes)
  }

  deinit {
    pthread_rwlock_destroy(lock)
    lock.deallocate()
  }

  /// Runs `body` in the write phase (exclusive).
  @inline(__always)
  public func withWritePhase<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
    pthread_rwlock_wrlock(lock)
    defer { pthread_rwlock_unlock(lock) }
    return try body()
  }

  /// Runs `body` in the read phase if it can be entered within `timeoutMs`; nil otherwise.
  /// For threads that must not wait on the cycle (diagnostics).
  public func withReadPhase<T>(timeoutMs: Int, _ body: () -> T) -> T? {
    var deadline = timespec()
    clock_gettime(CLOCK_REALTIME, &deadline)
    let nanos = Int(deadline.tv_nsec) + timeoutMs * 1_000_000
    deadline.tv_sec += nanos / 1_000_000_000
    deadline.tv_nsec = nanos % 1_000_000_000
    guard pthread_rwlock_timedrdlock(lock, &deadline) == 0 else { return nil }
    defer { pthread_rwlock_unlock(lock) }
    return body()
  }

  /// Runs `body` in the read phase (shared with other readers).
  @inline(__always)
  public func withReadPhase<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
    pthread_rwlock_rdlock(lock)
    defer { pthread_rwlock_unlock(lock) }
    return try body()
  }
}
