// The server-sent event stream behind `/events`: the live board's diffs, the cycle samples
// and the heartbeat, fanned out to every connected dashboard.

import Synchronization

/// Fans server-sent events out to subscribers without ever waiting: each subscriber has a
/// bounded buffer (the newest events are kept when a slow client falls behind).
public final class EventBroadcaster: Sendable {
  private struct State {
    var subscribers: [Int: AsyncStream<String>.Continuation] = [:]
    var next = 0
    var closed = false
  }
  private let state = Mutex(State())
  private let bufferSize: Int

  public init(bufferSize: Int = 512) { self.bufferSize = bufferSize }

  public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

  /// A new subscription; the stream ends on ``close()`` or ``unsubscribe(_:)``.
  public func subscribe() -> (id: Int, events: AsyncStream<String>) {
    let (stream, continuation) = AsyncStream.makeStream(
      of: String.self, bufferingPolicy: .bufferingNewest(bufferSize))
    let id = state.withLock { s -> Int? in
      guard !s.closed else { return nil }
      s.next += 1
      s.subscribers[s.next] = continuation
      return s.next
    }
    guard let id else {
      continuation.finish()
      return (-1, stream)
    }
    return (id, stream)
  }

  public func unsubscribe(_ id: Int) {
    let c = state.withLock { $0.subscribers.removeValue(forKey: id) }
    c?.finish()
  }

  /// Sends `event` with one `data:` line (`data` must not contain a newline).
  public func publish(event: String, data: String) {
    publish(raw: "event: \(event)\ndata: \(data)\n\n")
  }

  /// Sends raw SSE text (e.g. a `: comment` heartbeat).
  public func publish(raw: String) {
    let targets = state.withLock { Array($0.subscribers.values) }
    for c in targets { c.yield(raw) }
  }

  /// Ends every stream and refuses new subscribers.
  public func close() {
    let all = state.withLock { s -> [AsyncStream<String>.Continuation] in
      s.closed = true
      defer { s.subscribers.removeAll() }
      return Array(s.subscribers.values)
    }
    for c in all { c.finish() }
  }
}
