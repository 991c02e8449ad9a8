import Evaluation
import Support
import Tracking

/// The reference rows: what the engine does per changed symbol, with nothing else, so that the
/// engine's cost per evaluation can be read as a multiple of them. They are measured in the
/// same bench run, on the same events, between the engine's runs, because nanoseconds differ
/// from one machine to the next and, on a shared machine, from one minute to the next; a ratio
/// of two figures taken side by side does not.
///
/// Each row applies the cycle's ticker and kline events to flat per-symbol arrays (the symbol
/// found by name in a dictionary), then runs three copies of the filter on each changed symbol.
/// `native` rows call the filter through a Swift function reference; `lua_args` rows call a Lua
/// function with the numbers as arguments on a plain state (``PlainLuaFilter``: no sandbox, no
/// budget, no views). The RSI rows keep a 14-period Wilder RSI per symbol natively
/// (``Wilder``), updated once per kline event.
extension Benchmark {
  /// Per-symbol inputs of the reference filters.
  struct ReferenceData {
    var changePct: [Double]
    var quoteVolume: [Double]
    var rsi: [Double]
    var wilder: [Wilder]
    /// Per symbol, the last pass of ``apply(_:_:index:)`` that changed it (marks each symbol
    /// once per pass).
    var stamp: [Int]
    var pass = 0
  }

  /// ns per evaluation of the four rows (`native_ticker`, `native_rsi`, `lua_args_ticker`,
  /// `lua_args_rsi`), one pass each over the cycles of `market`; the caller repeats it between
  /// the engine's runs. The Lua rows are missing if a plain Lua state cannot be made.
  func measureReferenceRows(_ market: SyntheticMarket) -> [String: Double] {
    let n = options.symbols
    var index: [EventName: Int] = [:]
    for (s, name) in symbolNames().enumerated() { index[EventName(name)] = s }
    var data = ReferenceData(
      changePct: .init(repeating: 0, count: n), quoteVolume: .init(repeating: 0, count: n),
      rsi: .init(repeating: .nan, count: n), wilder: .init(repeating: Wilder(), count: n),
      stamp: .init(repeating: -1, count: n))
    // Warm-up: the same candles and tickers the engine's store receives.
    _ = apply(market.warmup, &data, index: index)

    var results: [String: Double] = [:]
    let nativeTicker: [(Double, Double) -> Bool] = Array(
      repeating: { $0 > 5 && $1 > 1e6 }, count: 3)
    let nativeRSI: [(Double) -> Bool] = Array(repeating: { !$0.isNaN && $0 < 30 }, count: 3)
    results["native_ticker"] = timed(market, &data, index: index) { c, q, _ in
      var hits = 0
      for f in nativeTicker where f(c, q) { hits += 1 }
      return hits
    }
    results["native_rsi"] = timed(market, &data, index: index) { _, _, rsi in
      var hits = 0
      for f in nativeRSI where f(rsi) { hits += 1 }
      return hits
    }
    guard
      let luaTicker = PlainLuaFilter(
        source: "return function(c, q) return c > 5 and q > 1e6 end", copies: 3),
      let luaRSI = PlainLuaFilter(
        source: "return function(r) return r == r and r < 30 end", copies: 3)
    else { return results }
    results["lua_args_ticker"] = timed(market, &data, index: index) { c, q, _ in
      luaTicker.hits(c, q)
    }
    results["lua_args_rsi"] = timed(market, &data, index: index) { _, _, rsi in
      luaRSI.hits(rsi)
    }
    return results
  }

  /// Applies `events` to the arrays; returns the symbols they changed (in order, once each).
  private func apply(_ events: [MarketEvent], _ d: inout ReferenceData, index: [EventName: Int])
    -> [Int]
  {
    var changed: [Int] = []
    changed.reserveCapacity(events.count / 2)
    d.pass += 1
    for e in events {
      switch e {
      case .ticker(let t):
        guard let s = index[t.symbolName] else { continue }
        d.changePct[s] = t.fields.changePct
        d.quoteVolume[s] = t.fields.quoteVolume
        if d.stamp[s] != d.pass {
          d.stamp[s] = d.pass
          changed.append(s)
        }
      case .kline(let k):
        guard let s = index[k.symbolName] else { continue }
        d.rsi[s] = d.wilder[s].update(openTime: k.openTime, close: k.close)
        if d.stamp[s] != d.pass {
          d.stamp[s] = d.pass
          changed.append(s)
        }
      }
    }
    return changed
  }

  /// Thread CPU ns per evaluation (3 per changed symbol) over all cycles of `market`.
  private func timed(
    _ market: SyntheticMarket, _ d: inout ReferenceData, index: [EventName: Int],
    _ evaluate: (_ changePct: Double, _ quoteVolume: Double, _ rsi: Double) -> Int
  ) -> Double {
    var evaluations = 0
    var hits = 0
    let start = MonotonicClock.threadCPUSeconds()
    for events in market.cycles {
      for s in apply(events, &d, index: index) {
        hits &+= evaluate(d.changePct[s], d.quoteVolume[s], d.rsi[s])
        evaluations += 3
      }
    }
    let seconds = MonotonicClock.threadCPUSeconds() - start
    // Keeps the filters' results observable, so the optimizer cannot drop the calls.
    if hits < 0 { print(hits) }
    return seconds * 1e9 / Double(max(1, evaluations))
  }
}
