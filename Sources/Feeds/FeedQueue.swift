import Dispatch
import NIOConcurrencyHelpers
import Support

/// A bounded, blocking multi-producer single-consumer queue between a feed thread and the
/// cycle thread. A full queue blocks the producer (back-pressure, never a drop).
///
/// Hand-written over a lock + `DispatchSemaphore` because the standard library has no
/// blocking queue and the consumer needs a timed wait (live cycles close on wall-clock time).
/// The lock is NIO's pthread-based one, not `Synchronization.Mutex`: on Linux `Mutex` is a
/// bare futex that ThreadSanitizer cannot see, so it reported the queue's array accesses
/// as races (and the semaphores' uncontended paths are atomics inside libdispatch, which
/// ThreadSanitizer does not see either).
public final class FeedQueue: Sendable {
  private let items = NIOLockedValueBox<[FeedMessage]>([])
  private let available = DispatchSemaphore(value: 0)
  private let space: DispatchSemaphore

  public init(capacity: Int = 64) {
    // Created at 0 and raised to `capacity`: libdispatch traps when a semaphore is freed
    // below its initial value, which a queue dropped with messages still in it would be.
    space = DispatchSemaphore(value: 0)
    for _ in 0..<max(1, capacity) { space.signal() }
  }

  /// Appends `message`, waiting while the queue is full.
  public func push(_ message: FeedMessage) {
    space.wait()
    items.withLockedValue { $0.append(message) }
    available.signal()
  }

  /// Appends `message` unless `stop` is raised first; returns whether it was queued.
  @discardableResult
  public func push(_ message: FeedMessage, unless stop: StopFlag) -> Bool {
    while space.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
      if stop.isRaised { return false }
    }
    items.withLockedValue { $0.append(message) }
    available.signal()
    return true
  }

  /// The next message, or nil when none arrived within `timeoutMs` (nil waits forever).
  public func pop(timeoutMs: Int? = nil) -> FeedMessage? {
    if let timeoutMs {
      guard available.wait(timeout: .now() + .milliseconds(max(0, timeoutMs))) == .success
      else { return nil }
    } else {
      available.wait()
    }
    let message = items.withLockedValue { $0.removeFirst() }
    space.signal()
    return message
  }
}
