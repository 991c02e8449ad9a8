/// The optional second return value of a filter, passed on `enter` events.
public enum DiffInfo: Sendable, Equatable {
  case integer(Int64)
  case number(Double)
  case string(String)
}

/// One change of a strategy's match set, as a worker found it.
public struct DiffRecord: Sendable, Equatable {
  /// Index of the strategy in the id-sorted strategy list.
  public var strategy: Int32
  public var symbol: Int32
  public var isEnter: Bool
  /// The symbol's `s.price` when it was evaluated.
  public var price: Double
  public var info: DiffInfo?
}

/// Each strategy's current match set, one bit per symbol.
///
/// Workers read it during evaluation to decide whether a result is a change; the cycle
/// thread writes it after every worker has finished (the pool's completion hand-off orders
/// the two), so no word is ever written while read.
public final class MatchBook: @unchecked Sendable {
  // safe: written only by the cycle thread between cycles, read by workers only during a
  // cycle's evaluation phase; the worker pool's semaphores order the phases.
  private var bits: [[UInt64]] = []
  private var words: Int

  public init(strategies: Int, symbols: Int) {
    words = max(1, (symbols + 63) / 64)
    bits = Array(repeating: Array(repeating: 0, count: words), count: strategies)
  }

  public var strategyCount: Int { bits.count }

  @inline(__always)
  public func isMatched(strategy: Int, symbol: Int32) -> Bool {
    let s = Int(symbol)
    return bits[strategy][s >> 6] & (1 << UInt64(s & 63)) != 0
  }

  public func set(strategy: Int, symbol: Int32, matched: Bool) {
    let s = Int(symbol)
    if matched {
      bits[strategy][s >> 6] |= 1 << UInt64(s & 63)
    } else {
      bits[strategy][s >> 6] &= ~(1 << UInt64(s & 63))
    }
  }

  /// Symbols currently matching `strategy`, ascending.
  public func matches(strategy: Int) -> [Int32] {
    var out: [Int32] = []
    for (w, word) in bits[strategy].enumerated() {
      var b = word
      while b != 0 {
        out.append(Int32(w * 64 + b.trailingZeroBitCount))
        b &= b &- 1
      }
    }
    return out
  }

  /// Rebuilds the rows for a new strategy list: new row `i` is old row `mapping[i]`, or
  /// cleared when nil (a new strategy).
  public func remap(_ mapping: [Int?]) {
    let old = bits
    bits = mapping.map { m in m.map { old[$0] } ?? Array(repeating: 0, count: words) }
  }
}
