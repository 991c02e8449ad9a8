/// Each strategy's current match set, one bit per symbol.
///
/// Workers read it during evaluation to decide whether a result is a change; the cycle
/// thread writes it after every worker has finished (the pool's completion hand-off orders
/// the two), so no word is ever written while read.
public final class MatchBook: @unchecked Sendable {  // safe: phases, see below
  // safe: written only by the cycle thread between cycles, read by workers only during a
  // cycle's evaluation phase; the worker pool's semaphores order the phases.
  /// One row of `words` 64-bit words per strategy, in one flat buffer.
  private var bits: UnsafeMutablePointer<UInt64>
  private var rows: Int
  private let words: Int

  public init(strategies: Int, symbols: Int) {
    words = max(1, (symbols + 63) / 64)
    rows = strategies
    bits = .allocate(capacity: max(1, strategies * words))
    bits.initialize(repeating: 0, count: max(1, strategies * words))
  }

  deinit { bits.deallocate() }

  public var strategyCount: Int { rows }

  @inline(__always)
  public func isMatched(strategy: Int, symbol: Int32) -> Bool {
    let s = Int(symbol)
    return bits[strategy * words + (s >> 6)] & (1 << UInt64(s & 63)) != 0
  }

  public func set(strategy: Int, symbol: Int32, matched: Bool) {
    let s = Int(symbol)
    let i = strategy * words + (s >> 6)
    if matched {
      bits[i] |= 1 << UInt64(s & 63)
    } else {
      bits[i] &= ~(1 << UInt64(s & 63))
    }
  }

  /// Symbols currently matching `strategy`, ascending.
  public func matches(strategy: Int) -> [Int32] {
    var out: [Int32] = []
    for w in 0..<words {
      var b = bits[strategy * words + w]
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
    let fresh = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, mapping.count * words))
    fresh.initialize(repeating: 0, count: max(1, mapping.count * words))
    for (i, m) in mapping.enumerated() {
      guard let m, m < rows else { continue }
      (fresh + i * words).update(from: bits + m * words, count: words)
    }
    bits.deallocate()
    bits = fresh
    rows = mapping.count
  }
}
