import Feeds
import Support
import Tracking

/// Pre-built events: a warm-up (a ticker and `candles` 1m candles per symbol) and, per cycle,
/// a ticker and a kline update for a rotating `churn` share of the symbols. Built before a run
/// so that making them is not part of what the run measures.
struct SyntheticMarket {
  var warmup: [MarketEvent]
  var cycles: [[MarketEvent]]

  static let empty = SyntheticMarket(warmup: [], cycles: [])
}

extension Benchmark {
  /// The event time of the warm-up; cycle `c` is at `t0 + (c + 1)` seconds.
  static let t0: Int64 = 1_732_400_000_000

  /// Symbol names `S0USDT`, `S1USDT`, …
  func symbolNames() -> [String] { (0..<options.symbols).map { "S\($0)USDT" } }

  /// The warm-up events, one at a time (a ticker and `candles` 1m candles per symbol);
  /// returns each symbol's last price and fixed 24h open.
  func warmup(
    _ names: [String], _ rng: inout SplitMix64, _ body: (MarketEvent) -> Void
  ) -> (prices: [Double], opens: [Double]) {
    var prices = names.map { _ in 1 + Double(rng.next() % 100_000) / 100 }
    // The 24h open of each symbol: fixed, so the 24h change moves with the price, as it does.
    var opens = prices
    for s in names.indices {
      var p = prices[s]
      for c in 0..<options.candles {
        let open = p
        p *= 1 + (Double(rng.next() % 2001) - 1000) / 100_000
        body(
          .kline(
            KlineEvent(
              symbol: names[s], eventTime: Self.t0, interval: "1m",
              openTime: Self.t0 - Int64(options.candles - c) * 60_000, open: open,
              high: max(open, p) * 1.001, low: min(open, p) * 0.999, close: p,
              volume: 100 + Double(rng.next() % 1000), isClosed: true)))
      }
      prices[s] = p
      opens[s] = p / (1 + (Double(rng.next() % 3001) - 1000) / 10_000)
      body(.ticker(ticker(names[s], Self.t0, p, open: opens[s], &rng)))
    }
    return (prices, opens)
  }

  /// The market for `cycles` cycles in which a `churn` share of the symbols changes per cycle;
  /// the same seed gives the same events.
  func market(churn: Double, cycles: Int, seed: UInt64 = 7) -> SyntheticMarket {
    var rng = SplitMix64(seed: seed)
    let n = options.symbols
    let names = symbolNames()
    var warmup: [MarketEvent] = []
    warmup.reserveCapacity(n * (options.candles + 1))
    let start = self.warmup(names, &rng) { warmup.append($0) }
    var prices = start.prices
    let opens = start.opens
    let perCycle = min(n, max(1, Int((Double(n) * churn).rounded())))
    // Each cycle changes `perCycle` distinct symbols: a window of a fixed random order of the
    // symbols, moving on by `perCycle` every cycle.
    var order = Array(0..<n)
    for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
    var result: [[MarketEvent]] = []
    var cursor = 0
    for c in 0..<cycles {
      let time = Self.t0 + Int64(c + 1) * 1000
      var events: [MarketEvent] = []
      events.reserveCapacity(perCycle * 2)
      for _ in 0..<perCycle {
        let s = order[cursor % n]
        cursor += 1
        prices[s] *= 1 + (Double(rng.next() % 2001) - 1000) / 50_000
        let p = prices[s]
        events.append(.ticker(ticker(names[s], time, p, open: opens[s], &rng)))
        events.append(
          .kline(
            KlineEvent(
              symbol: names[s], eventTime: time, interval: "1m", openTime: Self.t0, open: p * 0.99,
              high: p * 1.01, low: p * 0.98, close: p, volume: 500 + Double(rng.next() % 5000),
              isClosed: false)))
      }
      result.append(events)
    }
    return SyntheticMarket(warmup: warmup, cycles: result)
  }

  private func ticker(
    _ symbol: String, _ time: Int64, _ p: Double, open: Double, _ rng: inout SplitMix64
  ) -> TickerEvent {
    var f = TickerFields()
    f.price = p
    f.open = open
    f.high = max(p, open) * 1.02
    f.low = min(p, open) * 0.98
    f.volume = 10_000 + Double(rng.next() % 1_000_000)
    f.quoteVolume = f.volume * p
    f.change = p - open
    f.changePct = 100 * (p - open) / open
    f.vwap = (p + open) / 2
    f.bid = p * 0.9998
    f.ask = p * 1.0002
    return TickerEvent(symbol: symbol, eventTime: time, isMini: false, fields: f)
  }
}

/// Delivers a synthetic market to the engine: the warm-up as one batch, then one batch per
/// cycle, then the end.
struct SyntheticFeed: Feed {
  let market: SyntheticMarket

  func run(into queue: FeedQueue, stop: StopFlag) {
    var warm = FeedBatch()
    warm.events = market.warmup
    queue.push(.batch(warm), unless: stop)
    for events in market.cycles {
      var b = FeedBatch()
      b.events = events
      if !queue.push(.batch(b), unless: stop) { return }
    }
    queue.push(.end, unless: stop)
  }
}
