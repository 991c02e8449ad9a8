import Dispatch
import NIOConcurrencyHelpers
import Synchronization
import Tracking
import Support

/// A line the feed skipped, with where it was.
public struct FeedProblem: Sendable, Equatable {
  /// 1-based line number in the source (replay file line, or message count for live feeds).
  public var line: Int
  public var message: String
}

/// Parsed events of a run of consecutive messages, with the bookkeeping of what was skipped.
public struct FeedBatch: Sendable {
  public var events: [MarketEvent] = []
  /// Bad lines or array elements skipped (malformed JSON, missing fields, bad numbers).
  public var skipped = 0
  /// Event objects of a type the engine does not use.
  public var unknown = 0
  /// Lines (messages) read.
  public var lines = 0
  /// Bytes read.
  public var bytes = 0
  /// The first problems, with line numbers (the feed keeps at most a few per run).
  public var problems: [FeedProblem] = []

  public init() {}
}

/// What a feed delivers to the engine.
public enum FeedMessage: Sendable {
  case batch(FeedBatch)
  /// End of input (replay); live feeds never end on their own.
  case end
  /// The feed cannot go on (`--strict` and a bad line, an unreadable file).
  case failed(String)
}

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

/// A source of market data, run on a thread of its own.
public protocol Feed: Sendable {
  /// Delivers batches to `queue` until the input ends (then `.end`) or `stop` is raised.
  func run(into queue: FeedQueue, stop: StopFlag)
}
