import Synchronization

/// Counters of a running Binance feed, safe to read from any thread (the engine's status line).
public final class BinanceFeedStats: Sendable {
  /// Where a connection is.
  public enum ConnectionState: String, Sendable {
    case waiting, connecting, subscribing, backfilling, live, closed
  }

  public struct Connection: Sendable, Equatable {
    public var index: Int
    public var streams: Int
    public var state: ConnectionState
    /// Messages received on this connection (all its WebSocket connections so far).
    public var messages: Int
    public var reconnects: Int
  }

  public struct Snapshot: Sendable, Equatable {
    /// Messages handed to the parser (live frames and synthetic backfill klines).
    public var messages = 0
    public var bytes = 0
    /// Live WebSocket frames received.
    public var frames = 0
    /// Synthetic backfill kline messages.
    public var backfillMessages = 0
    public var reconnects = 0
    /// REST kline requests sent (retries included).
    public var klineRequests = 0
    /// 429/418 answers honoured (waited for `Retry-After`).
    public var restBackoffs = 0
    /// REST failures given up on (network errors after retries, other 4xx).
    public var restFailures = 0
    /// Live messages dropped, oldest first, by connections holding `maxHeldMessages` while
    /// not live yet (backfilling).
    public var heldDropped = 0
    public var connections: [Connection] = []
  }

  private let state = Mutex(Snapshot())

  public init() {}

  public func snapshot() -> Snapshot { state.withLock { $0 } }

  func update(_ body: (inout Snapshot) -> Void) { state.withLock { body(&$0) } }

  func setConnections(_ plans: [ConnectionPlan]) {
    update {
      $0.connections = plans.enumerated().map {
        Connection(
          index: $0.offset, streams: $0.element.streams.count, state: .waiting, messages: 0,
          reconnects: 0)
      }
    }
  }

  func setState(_ index: Int, _ newState: ConnectionState) {
    update { if $0.connections.indices.contains(index) { $0.connections[index].state = newState } }
  }

  func reconnected(_ index: Int) {
    update {
      $0.reconnects += 1
      if $0.connections.indices.contains(index) { $0.connections[index].reconnects += 1 }
    }
  }
}
