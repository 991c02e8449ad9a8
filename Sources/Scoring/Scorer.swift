import Tracking

/// Scores a replay's enter signals against the prices that followed them.
///
/// For an enter of symbol S at time t (the diff's `time`) with price p0 (the diff's
/// `price`), and a horizon h:
/// - the signal is *open* when the file holds no event (of any symbol) at or after t + h;
/// - otherwise p_h is S's last ticker price at or before t + h, and r = p_h / p0 − 1;
/// - its best and worst excursions are the highest and lowest ticker price of S in
///   (t, t + h] relative to p0 (when S has no ticker there, the price held over the span,
///   p_h), so worst ≤ r ≤ best;
/// - the baseline at (t, h) is the mean of p(t + h) / p(t) − 1 over every symbol with a
///   positive price at or before t (p(x): its last price at or before x), and the signal's
///   excess is r minus it.
///
/// An enter whose price is not positive, or whose symbol has no price at or before t, is
/// skipped and counted. A match's time runs from its enter to its exit; matches still open
/// when the file ends have no exit and are left out of the mean.
public struct Scorer: Sendable {
  public var horizons: [Horizon]

  /// - Parameter horizons: shortest first (as ``Horizon/parseList(_:)`` returns them).
  public init(horizons: [Horizon]) {
    self.horizons = horizons.sorted { $0.milliseconds < $1.milliseconds }
  }

  /// The report of `diffs` (in the order the engine wrote them) over `prices`. `strategies`
  /// are the loaded strategies' ids: each gets a row, signals or not; a strategy that only
  /// appears in `diffs` gets one too.
  public func score(diffs: [RecordedDiff], prices: PriceIndex, strategies: [String]) -> ScoreReport
  {
    var byStrategy: [String: [RecordedDiff]] = [:]
    for d in diffs { byStrategy[d.strategy, default: []].append(d) }
    let ids = Set(strategies).union(byStrategy.keys).sorted {
      $0.utf8.lexicographicallyPrecedes($1.utf8)
    }
    var baseline = Baseline(prices: prices)
    var scores: [StrategyScore] = []
    for id in ids {
      scores.append(score(id, byStrategy[id] ?? [], prices: prices, baseline: &baseline))
    }
    return ScoreReport(
      horizons: horizons, strategies: scores, firstEventTime: prices.firstEventTime,
      lastEventTime: prices.lastEventTime)
  }

  private func score(
    _ id: String, _ diffs: [RecordedDiff], prices: PriceIndex, baseline: inout Baseline
  ) -> StrategyScore {
    var result = StrategyScore(id: id)
    var scores = horizons.map { _ in HorizonScore() }
    var entered: [String: Int64] = [:]
    var matchSeconds: [Double] = []
    let end = prices.lastEventTime ?? .min
    for d in diffs {
      guard d.isEnter else {
        if let since = entered.removeValue(forKey: d.symbol) {
          matchSeconds.append(Double(d.time - since) / 1000)
        }
        continue
      }
      entered[d.symbol] = d.time
      result.signals += 1
      let t = d.time
      let p0 = d.price
      guard p0 > 0, p0.isFinite, let series = prices.prices(of: d.symbol),
        series.price(atOrBefore: t) != nil
      else {
        result.skipped += 1
        continue
      }
      // The horizons are nested spans (t, t + h]: one scan, extended horizon by horizon.
      var scan = series.firstIndex(after: t)
      var high = -Double.infinity
      var low = Double.infinity
      for (k, h) in horizons.enumerated() {
        let (until, overflow) = t.addingReportingOverflow(h.milliseconds)
        guard !overflow, until <= end else {
          scores[k].open += 1
          continue
        }
        let stop = series.firstIndex(after: until)
        while scan < stop {
          high = max(high, series.prices[scan])
          low = min(low, series.prices[scan])
          scan += 1
        }
        let ph = series.prices[stop - 1]
        let r = ph / p0 - 1
        let best = (high.isFinite ? high : ph) / p0 - 1
        let worst = (low.isFinite ? low : ph) / p0 - 1
        let excess = r - baseline.meanReturn(from: t, to: until)
        scores[k].samples.append(
          ScoredSignal(time: t, symbol: d.symbol, r: r, excess: excess, best: best, worst: worst))
      }
    }
    for k in scores.indices { summarize(&scores[k]) }
    result.open = scores.last?.open ?? 0
    result.horizons = scores
    result.endedMatches = matchSeconds.count
    result.meanMatchSeconds = Statistics.mean(matchSeconds)
    return result
  }

  private func summarize(_ score: inout HorizonScore) {
    let r = score.samples.map(\.r)
    score.n = r.count
    score.mean = Statistics.mean(r)
    score.median = Statistics.median(r)
    score.hitRate = Statistics.shareAboveZero(r)
    score.mfe = Statistics.mean(score.samples.map(\.best))
    score.mae = Statistics.mean(score.samples.map(\.worst))
    score.excessMean = Statistics.mean(score.samples.map(\.excess))
  }
}

/// The market's equal-weight mean forward return over (t, t + h], computed once per span.
struct Baseline {
  private let series: [PriceSeries]
  private var cache: [Span: Double] = [:]

  private struct Span: Hashable {
    var from: Int64
    var to: Int64
  }

  init(prices: PriceIndex) {
    series = prices.allSeries
  }

  /// The mean of p(to) / p(from) − 1 over the symbols with a positive price at or before
  /// `from`; 0 when there is none (then the excess is r itself).
  mutating func meanReturn(from: Int64, to: Int64) -> Double {
    let span = Span(from: from, to: to)
    if let known = cache[span] { return known }
    var returns: [Double] = []
    for s in series {
      guard let start = s.price(atOrBefore: from), start > 0,
        let finish = s.price(atOrBefore: to)
      else { continue }
      returns.append(finish / start - 1)
    }
    let mean = Statistics.mean(returns) ?? 0
    cache[span] = mean
    return mean
  }
}
