import Scoring
import Testing
import Tracking

/// A small deterministic random generator (SplitMix64), so a failing case can be replayed.
struct SeededRandom: RandomNumberGenerator {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

@Suite("Scorer properties on random markets")
struct ScorePropertyTests {
  /// A random market of a few symbols over `span` ms, and random enters and exits on it.
  static func market(seed: UInt64) -> (PriceIndex, [RecordedDiff]) {
    var random = SeededRandom(state: seed)
    let symbols = ["A", "B", "C", "D"]
    var events: [MarketEvent] = []
    var time: Int64 = 0
    var price = Dictionary(uniqueKeysWithValues: symbols.map { ($0, 100.0) })
    for _ in 0..<Int.random(in: 20...200, using: &random) {
      time += Int64.random(in: 0...5000, using: &random)
      let s = symbols.randomElement(using: &random) ?? "A"
      price[s, default: 100] *= Double.random(in: 0.97...1.03, using: &random)
      events.append(Market.ticker(s, time, price[s, default: 100]))
    }
    var diffs: [RecordedDiff] = []
    var cycle: Int64 = 1000
    while cycle < time {
      let s = symbols.randomElement(using: &random) ?? "A"
      let isEnter = Bool.random(using: &random)
      let p =
        Int.random(in: 0..<20, using: &random) == 0
        ? 0 : Double.random(in: 50...150, using: &random)
      diffs.append(
        RecordedDiff(
          strategy: "s\(Int.random(in: 0..<3, using: &random))", symbol: s, time: cycle,
          isEnter: isEnter, price: p))
      cycle += 1000 * Int64.random(in: 1...20, using: &random)
    }
    return (PriceIndex(events: events), diffs)
  }

  @Test("n is the number of scorable enters whose horizon fits in the file", arguments: 0..<40)
  func nCountsEntersThatFit(seed: UInt64) throws {
    let (prices, diffs) = Self.market(seed: seed)
    let horizons = try Horizon.parseList("1s,5s,30s,1m")
    let report = Scorer(horizons: horizons).score(diffs: diffs, prices: prices, strategies: [])
    let end = try #require(prices.lastEventTime)
    for s in report.strategies {
      let enters = diffs.filter { $0.strategy == s.id && $0.isEnter }
      let scorable = enters.filter {
        $0.price > 0 && prices.prices(of: $0.symbol)?.price(atOrBefore: $0.time) != nil
      }
      #expect(s.signals == enters.count)
      #expect(s.skipped == enters.count - scorable.count)
      for (k, h) in horizons.enumerated() {
        let fits = scorable.filter { $0.time + h.milliseconds <= end }.count
        #expect(s.horizons[k].n == fits, "seed \(seed) \(s.id) \(h.label)")
        #expect(s.horizons[k].open == scorable.count - fits)
        // Invariants of every scored signal: worst ≤ r ≤ best, hit rate within 0...1.
        for x in s.horizons[k].samples {
          #expect(x.worst <= x.r + 1e-12 && x.r <= x.best + 1e-12)
        }
        if let hit = s.horizons[k].hitRate { #expect((0...1).contains(hit)) }
      }
    }
  }

  @Test("the report is the same bytes every run (no dependence on dictionary order)")
  func deterministic() {
    let (prices, diffs) = Self.market(seed: 7)
    let scorer = Scorer(horizons: Market.horizons("1s,1m"))
    let first = scorer.score(diffs: diffs, prices: prices, strategies: ["x"]).json
    for _ in 0..<5 {
      let rebuilt = PriceIndex(events: Self.events(of: prices))
      #expect(scorer.score(diffs: diffs, prices: rebuilt, strategies: ["x"]).json == first)
    }
  }

  /// The index's prices back as events, symbol by symbol in a shuffled order.
  static func events(of index: PriceIndex) -> [MarketEvent] {
    var out: [MarketEvent] = []
    for symbol in index.symbols.shuffled() {
      guard let s = index.prices(of: symbol) else { continue }
      for (t, p) in zip(s.times, s.prices) { out.append(Market.ticker(symbol, t, p)) }
    }
    if let end = index.lastEventTime { out.append(Market.kline("A", end)) }
    return out
  }
}
