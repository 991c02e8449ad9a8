extension Benchmark {
  /// Wilder's RSI(14), updated incrementally, as the reference rows keep it per symbol; a
  /// repeated open time replaces the newest candle instead of adding one.
  struct Wilder {
    static let period = 14
    var count = 0
    /// Averages over the committed candles (those before the newest).
    var gain = 0.0, loss = 0.0
    /// The close of the candle before the newest.
    var previousClose = Double.nan
    var newestClose = Double.nan
    var newestOpen: Int64 = .min

    /// The averages after the newest candle, were it committed.
    func averages() -> (gain: Double, loss: Double, count: Int) {
      guard !previousClose.isNaN, !newestClose.isNaN else { return (gain, loss, count) }
      let d = newestClose - previousClose
      let g = max(d, 0)
      let l = max(-d, 0)
      let n = count + 1
      let p = Double(Self.period)
      if n <= Self.period {
        return ((gain * Double(count) + g) / Double(n), (loss * Double(count) + l) / Double(n), n)
      }
      return ((gain * (p - 1) + g) / p, (loss * (p - 1) + l) / p, n)
    }

    /// Takes the close of the candle opened at `openTime`; returns the RSI, NaN until
    /// `period` changes have been seen.
    mutating func update(openTime: Int64, close: Double) -> Double {
      if openTime != newestOpen {
        if !newestClose.isNaN {
          let a = averages()
          if !previousClose.isNaN { (gain, loss, count) = a }
          previousClose = newestClose
        }
        newestOpen = openTime
      }
      newestClose = close
      let a = averages()
      guard a.count >= Self.period else { return .nan }
      return a.loss == 0 ? 100 : 100 - 100 / (1 + a.gain / a.loss)
    }
  }
}
