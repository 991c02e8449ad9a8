import Tracking

/// Per symbol and interval, how many closed candles the symbol had when it was last
/// evaluated: a strategy with `trigger = "close"` runs for a symbol only when a candle of one
/// of its timeframes closed since (``KlineSeries/closes`` moved on).
///
/// Workers read and write it during evaluation, each only for the symbols it evaluates
/// (symbols are split among workers, and a symbol's row is touched by one worker per pass);
/// passes are ordered by the worker pool's hand-offs, like ``MatchBook``.
package final class CloseMarks: @unchecked Sendable {  // safe: see above
  private let capacity: Int
  /// `seen[interval * capacity + symbol]`; allocated on first use.
  private var seen: UnsafeMutablePointer<Int>?

  package init(symbols: Int) { capacity = max(1, symbols) }

  deinit { seen?.deallocate() }

  private func storage() -> UnsafeMutablePointer<Int> {
    if let seen { return seen }
    let count = capacity * MarketStore.maxIntervals
    let p = UnsafeMutablePointer<Int>.allocate(capacity: count)
    p.initialize(repeating: 0, count: count)
    seen = p
    return p
  }

  /// Whether a candle of `symbol` in one of `intervals` closed since the symbol was last
  /// marked.
  @inline(__always)
  package func closedSince(_ symbol: Int32, intervals: [Int], store: MarketStore) -> Bool {
    let seen = storage()
    for iv in intervals where iv >= 0 {
      if store.closedCandles(symbol, interval: iv) > seen[iv * capacity + Int(symbol)] {
        return true
      }
    }
    return false
  }

  /// Records `symbol`'s closed candles in every interval now.
  @inline(__always)
  package func mark(_ symbol: Int32, store: MarketStore) {
    let seen = storage()
    for iv in 0..<store.intervalCount {
      seen[iv * capacity + Int(symbol)] = store.closedCandles(symbol, interval: iv)
    }
  }
}
