import Synchronization

/// The last `capacity` update events (symbol, event time, kind), for `--debug-updates`.
///
/// Off by default: ``record(symbol:time:kind:)`` then returns after one branch on a constant.
public final class UpdateRing: Sendable {
  public enum Kind: String, Sendable { case ticker, kline, ignored }

  public struct Entry: Sendable, Equatable {
    public var symbol: String
    public var time: Int64
    public var kind: Kind
  }

  public let isEnabled: Bool
  public let capacity: Int
  private let state: Mutex<(entries: [Entry], next: Int, total: Int)>

  public init(enabled: Bool, capacity: Int = 100) {
    isEnabled = enabled
    self.capacity = capacity
    state = Mutex((entries: [], next: 0, total: 0))
  }

  @inline(__always)
  public func record(symbol: @autoclosure () -> String, time: Int64, kind: Kind) {
    guard isEnabled else { return }
    let entry = Entry(symbol: symbol(), time: time, kind: kind)
    state.withLock { s in
      if s.entries.count < capacity {
        s.entries.append(entry)
      } else {
        s.entries[s.next] = entry
      }
      s.next = (s.next + 1) % capacity
      s.total += 1
    }
  }

  /// The recorded entries, oldest first.
  public func snapshot() -> [Entry] {
    state.withLock { s in
      s.entries.count < capacity
        ? s.entries : Array(s.entries[s.next...] + s.entries[..<s.next])
    }
  }

  /// Human-readable dump, one line per entry.
  public func dump() -> String {
    let entries = snapshot()
    var out = "update ring: last \(entries.count) update events (oldest first)\n"
    for e in entries { out += "  \(e.time) \(e.symbol) \(e.kind.rawValue)\n" }
    return out
  }
}
