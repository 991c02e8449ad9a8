import Foundation
import Scoring
import Testing

/// Each figure on a hand-made market whose answer is worked out by hand.
///
/// The market: A ticks at 500 (100), 1500 (110), 2500 (90), 3500 (105); B at 0 (50),
/// 2000 (55), 5000 (60), which is the file's last event. One enter of A at t = 1000 with
/// p0 = 100.
@Suite("Scorer figures")
struct ScorerTests {
  let market = PriceIndex(events: [
    Market.ticker("B", 0, 50), Market.ticker("A", 500, 100), Market.ticker("A", 1500, 110),
    Market.ticker("B", 2000, 55), Market.ticker("A", 2500, 90), Market.ticker("A", 3500, 105),
    Market.ticker("B", 5000, 60),
  ])

  func score(
    _ diffs: [RecordedDiff], horizons: String, strategies: [String] = ["s"],
    prices: PriceIndex? = nil
  ) -> ScoreReport {
    Scorer(horizons: Market.horizons(horizons)).score(
      diffs: diffs, prices: prices ?? market, strategies: strategies)
  }

  @Test("r, best and worst excursion, and excess over the market at two horizons")
  func figuresOfOneSignal() throws {
    let report = score([Market.enter("s", "A", 1000, 100)], horizons: "2s,3s")
    let s = try #require(report.strategies.first)
    #expect(s.id == "s" && s.signals == 1 && s.open == 0 && s.skipped == 0)
    // 2s: p_h = A's last price at or before 3000 = 90; over (1000, 3000] A was 110 then 90.
    // Baseline (1000 → 3000): A 100 → 90 (-10 %), B 50 → 55 (+10 %): mean 0.
    let two = s.horizons[0]
    #expect(two.n == 1)
    #expect(close(two.mean, -0.1) && close(two.median, -0.1))
    #expect(two.hitRate == 0)
    #expect(close(two.mfe, 0.1) && close(two.mae, -0.1))
    #expect(close(two.excessMean, -0.1))
    // 3s: p_h = 105 (at 3500); (1000, 4000] saw 110, 90, 105.
    // Baseline (1000 → 4000): A +5 %, B +10 %: 7.5 %.
    let three = s.horizons[1]
    #expect(close(three.mean, 0.05) && three.hitRate == 1)
    #expect(close(three.mfe, 0.1) && close(three.mae, -0.1))
    #expect(close(three.excessMean, 0.05 - 0.075))
  }

  @Test("a horizon past the file's last event is open, counted apart from n")
  func horizonPastTheEnd() throws {
    // t + 4s = 5000 is the last event (it fits); t + 5s = 6000 does not.
    let report = score([Market.enter("s", "A", 1000, 100)], horizons: "4s,5s")
    let s = try #require(report.strategies.first)
    #expect(s.horizons[0].n == 1 && s.horizons[0].open == 0)
    #expect(s.horizons[1].n == 0 && s.horizons[1].open == 1)
    #expect(s.horizons[1].mean == nil && s.horizons[1].hitRate == nil)
    #expect(s.open == 1 && s.signals == 1)
  }

  @Test("a symbol whose ticker never moves: r, mfe and mae are 0 and the hit rate is 0")
  func flatSymbol() throws {
    let prices = PriceIndex(events: [
      Market.ticker("C", 0, 10), Market.ticker("C", 1000, 10), Market.ticker("C", 2000, 10),
      Market.ticker("C", 9000, 10),
    ])
    let report = score(
      [Market.enter("s", "C", 1000, 10), Market.enter("s", "C", 3000, 10)], horizons: "1s,5s",
      prices: prices)
    let s = try #require(report.strategies.first)
    for h in s.horizons {
      #expect(h.n == 2)
      #expect(h.mean == 0 && h.median == 0 && h.mfe == 0 && h.mae == 0 && h.excessMean == 0)
      #expect(h.hitRate == 0)
    }
  }

  @Test("an enter with price 0, or of a symbol with no ticker, is skipped and counted")
  func skipsUnscorable() throws {
    let report = score(
      [
        Market.enter("s", "A", 1000, 0), Market.enter("s", "Z", 1000, 5),
        Market.enter("s", "A", 2000, .nan), Market.enter("s", "A", 3000, 90),
      ], horizons: "1s")
    let s = try #require(report.strategies.first)
    #expect(s.signals == 4 && s.skipped == 3)
    #expect(s.horizons[0].n == 1)
    // The one scored: 90 → 105 (A at 3500, the last price at or before 4000).
    #expect(close(s.horizons[0].mean, 105.0 / 90 - 1))
  }

  @Test("median and hit rate over several signals; mean match time over ended matches only")
  func severalSignals() throws {
    let diffs = [
      Market.enter("s", "A", 1000, 100),  // 2s: 90 → -10 %
      Market.enter("s", "B", 1000, 50),  // 2s: 55 → +10 %
      Market.exit("s", "A", 2000, 110),  // A matched for 1 s
      Market.enter("s", "A", 3000, 90),  // 2s: 105 → +16.67 %
      Market.exit("s", "B", 4000, 55),  // B matched for 3 s
      // A's second match is still open at the end: left out of the mean.
    ]
    let report = score(diffs, horizons: "2s")
    let s = try #require(report.strategies.first)
    let h = s.horizons[0]
    #expect(h.n == 3)
    let r = [-0.1, 0.1, 105.0 / 90 - 1]
    #expect(close(h.mean, r.reduce(0, +) / 3))
    #expect(close(h.median, 0.1))
    #expect(close(h.hitRate, 2.0 / 3))
    #expect(s.meanMatchSeconds == 2 && s.endedMatches == 2)
  }

  @Test("the median of an even count is the mean of the middle two")
  func evenMedian() throws {
    let report = score(
      [Market.enter("s", "A", 1000, 100), Market.enter("s", "B", 1000, 50)], horizons: "2s")
    #expect(close(report.strategies[0].horizons[0].median, 0))
  }

  @Test("the baseline averages every symbol priced at t; a symbol first priced later is left out")
  func baselineMembers() throws {
    // D is first priced at 1500, after t = 1000: not in the baseline of (1000, 3000].
    let prices = PriceIndex(events: [
      Market.ticker("A", 0, 100), Market.ticker("B", 0, 100), Market.ticker("D", 1500, 100),
      Market.ticker("A", 2000, 102), Market.ticker("B", 2000, 106), Market.ticker("D", 2000, 200),
      Market.kline("A", 3000),
    ])
    let report = score([Market.enter("s", "A", 1000, 100)], horizons: "2s", prices: prices)
    let h = report.strategies[0].horizons[0]
    #expect(close(h.mean, 0.02))
    #expect(close(h.excessMean, 0.02 - 0.04))
  }

  @Test("a kline event stretches the file's end (any event counts); klines give no price")
  func klinesCountForTheEnd() throws {
    let prices = PriceIndex(events: [
      Market.ticker("A", 0, 100), Market.ticker("A", 1000, 100), Market.kline("A", 70_000),
    ])
    let report = score([Market.enter("s", "A", 1000, 100)], horizons: "1m,2m", prices: prices)
    #expect(report.strategies[0].horizons[0].n == 1)
    #expect(report.strategies[0].horizons[0].mean == 0)
    #expect(report.strategies[0].horizons[1].open == 1)
  }

  @Test("every loaded strategy gets a row, fired or not, in id order; unknown ones too")
  func everyStrategy() {
    let report = score(
      [Market.enter("zeta", "A", 1000, 100), Market.enter("extra", "A", 1000, 100)],
      horizons: "1s", strategies: ["zeta", "alpha"])
    #expect(report.strategies.map(\.id) == ["alpha", "extra", "zeta"])
    #expect(report.strategies[0].signals == 0 && report.strategies[0].horizons[0].n == 0)
    #expect(report.strategies[0].meanMatchSeconds == nil)
  }

  @Test("tickers out of time order in the file are put in order (ties keep file order)")
  func outOfOrderPrices() {
    let prices = PriceIndex(events: [
      Market.ticker("A", 2000, 120), Market.ticker("A", 0, 100), Market.ticker("A", 2000, 130),
      Market.ticker("A", 1000, 100),
    ])
    let series = prices.prices(of: "A")
    #expect(series?.times == [0, 1000, 2000, 2000])
    #expect(series?.price(atOrBefore: 2500) == 130)
    #expect(series?.price(atOrBefore: 999) == 100)
    #expect(series?.price(atOrBefore: -1) == nil)
    #expect(prices.lastEventTime == 2000 && prices.firstEventTime == 0)
  }
}

@Suite("Reading prices from a replay file")
struct PriceFileTests {
  @Test(
    "tickers, mini tickers, arrays and envelopes give prices; klines only the end; bad lines skip")
  func loadsEveryTickerForm() throws {
    let lines = [
      #"{"e":"24hrTicker","E":1000,"s":"AAA","c":"10.5"}"#,
      #"{"stream":"!miniTicker@arr","data":[{"e":"24hrMiniTicker","E":2000,"s":"AAA","c":"11","o":"1","h":"1","l":"1","v":"1","q":"1"},{"e":"24hrMiniTicker","E":2000,"s":"BBB","c":"3","o":"1","h":"1","l":"1","v":"1","q":"1"}]}"#,
      "{not json",
      "",
      #"{"stream":"aaa@kline_1m","data":{"e":"kline","E":9000,"s":"AAA","k":{"t":0,"i":"1m","o":"1","h":"1","l":"1","c":"99","v":"1"}}}"#,
    ]
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
      "engine-prices-\(UUID().uuidString).jsonl"
    ).path
    try (lines.joined(separator: "\r\n") + "\n").write(
      toFile: path, atomically: true, encoding: .utf8)
    let index = try PriceIndex.load(path: path)
    #expect(index.symbols == ["AAA", "BBB"])
    #expect(index.prices(of: "AAA")?.times == [1000, 2000])
    #expect(index.prices(of: "AAA")?.prices == [10.5, 11])
    #expect(index.prices(of: "BBB")?.price(atOrBefore: 5000) == 3)
    #expect(index.firstEventTime == 1000 && index.lastEventTime == 9000)
    #expect(throws: PriceIndexError.self) { try PriceIndex.load(path: path + ".missing") }
  }
}
