import EngineSettings
import Engine
import Evaluation

/// Section `strategies`: ns per evaluation of each strategy, end to end (apply, tracking,
/// evaluation, diffs), with one worker and every symbol changing every cycle. Each strategy
/// runs as three copies, as the reference rows run three filters per changed symbol: on both
/// sides of a ratio, one data change is shared by three evaluations.
extension Benchmark {
  /// Built-in reference filters, measured like the strategies: `floor` does nothing, `ticker`
  /// reads two ticker fields (the shape of most screeners), `rsi` asks `ta.rsi` of the 1m
  /// closes.
  static let referenceFilters: [(id: String, source: String)] = [
    ("floor", "return { filter = function(s) return false end }"),
    (
      "ticker",
      "return { filter = function(s) return s.change_pct > 5 and s.quote_volume > 1e6 end }"
    ),
    (
      "rsi",
      """
      return { timeframes = { "1m" }, min_candles = 15, filter = function(s)
        local r = ta.rsi(s.klines["1m"].close, 14)
        return r ~= nil and r < 30
      end }
      """
    ),
  ]

  /// Each ratio of ``Results/targetRatios``: (reference filter, reference row, key).
  static let ratios = [
    ("ticker", "lua_args_ticker", "ticker_vs_lua_args"),
    ("rsi", "lua_args_rsi", "rsi_vs_lua_args"),
    ("rsi", "lua_args_ticker", "rsi_vs_lua_args_ticker"),
  ]

  /// Fills the reference filters, the reference rows, their ratios and the strategies' costs.
  ///
  /// Each repeat measures the reference filters and then the reference rows, and each ratio is
  /// the median of the per-repeat ratios: on a shared machine load comes and goes over
  /// seconds, and a ratio of two figures taken far apart would carry it.
  func measureStrategies(
    _ code: CodeSet, _ market: SyntheticMarket, into results: inout Results
  ) throws(EngineError) {
    var samples: [String: [StrategyCost]] = [:]
    var rows: [[String: Double]] = []
    var ratioSamples: [String: [Double]] = [:]
    var profilerSamples: [String: [Double]] = [:]
    for _ in 0..<max(1, options.repeats) {
      var repeatCosts: [String: Double] = [:]
      for (id, source) in Self.referenceFilters {
        let s = StrategySource(id: id, path: "\(id).lua", source: source)
        let three = copies(s, CodeSet(strategies: [s], plugins: code.plugins))
        var cost = try nanosPerEval(market, code: three)
        cost.id = id
        samples[id, default: []].append(cost)
        repeatCosts[id] = cost.nanosPerEval
        // The same filter with the per-strategy profile off, right after: its cost as a ratio.
        let unprofiled = try nanosPerEval(market, code: three, profiling: false)
        if unprofiled.nanosPerEval > 0 {
          profilerSamples[id, default: []].append(cost.nanosPerEval / unprofiled.nanosPerEval)
        }
      }
      let row = measureReferenceRows(market)
      rows.append(row)
      for (filter, rowKey, key) in Self.ratios {
        if let f = repeatCosts[filter], let r = row[rowKey], r > 0 {
          ratioSamples[key, default: []].append(f / r)
        }
      }
    }
    var reference: [String: Double] = [:]
    var referenceCosts: [StrategyCost] = []
    for (id, _) in Self.referenceFilters {
      guard let cost = samples[id].map(Self.median) else { continue }
      reference[id] = cost.nanosPerEval
      referenceCosts.append(cost)
    }
    results.reference = reference
    results.referenceCosts = referenceCosts
    var baseline: [String: Double] = [:]
    for key in Set(rows.flatMap(\.keys)) {
      baseline[key] = Self.median(rows.compactMap { $0[key] })
    }
    results.baseline = baseline
    results.targetRatios = ratioSamples.mapValues { Self.median($0) }
    results.profilerRatios = profilerSamples.mapValues { Self.median($0) }
    results.floorNanosPerEval = reference["floor"]
    var costs: [StrategyCost] = []
    for s in code.strategies {
      var cost = try medianNanosPerEval(market, code: copies(s, code))
      cost.id = s.id
      costs.append(cost)
    }
    results.strategies = costs
  }

  /// Three copies of `strategy` (ids `id_1`…`id_3`), with the plugins of `code`.
  func copies(_ strategy: StrategySource, _ code: CodeSet) -> CodeSet {
    CodeSet(
      strategies: (1...3).map {
        StrategySource(id: "\(strategy.id)_\($0)", path: strategy.path, source: strategy.source)
      }, plugins: code.plugins)
  }

  /// Median over `repeats` runs of the process CPU time per evaluation. CPU time, not wall
  /// time: with one worker the threads take turns (feed, apply, evaluate), so the two agree
  /// on an idle machine, but only CPU time leaves out the waits for a core that other
  /// processes on a shared machine cause.
  func medianNanosPerEval(_ market: SyntheticMarket, code: CodeSet) throws(EngineError)
    -> StrategyCost
  {
    var samples: [StrategyCost] = []
    for _ in 0..<max(1, options.repeats) {
      samples.append(try nanosPerEval(market, code: code))
    }
    return Self.median(samples)
  }

  /// One run's cost per evaluation, split by thread role.
  func nanosPerEval(_ market: SyntheticMarket, code: CodeSet, profiling: Bool = true)
    throws(EngineError) -> StrategyCost
  {
    let r = try runEngine(market, code: code, workers: 1, mode: .changed, profiling: profiling)
    let evaluations = Double(max(1, r.summary.symbolEvaluations * max(1, code.strategies.count)))
    return StrategyCost(
      id: "", nanosPerEval: r.cpuSeconds * 1e9 / evaluations,
      applyNanosPerEval: r.applySeconds * 1e9 / evaluations,
      evaluateNanosPerEval: r.evaluateSeconds * 1e9 / evaluations,
      closeNanosPerEval: r.closeSeconds * 1e9 / evaluations)
  }

  /// The sample with the median total cost.
  static func median(_ samples: [StrategyCost]) -> StrategyCost {
    let sorted = samples.sorted { $0.nanosPerEval < $1.nanosPerEval }
    return sorted[sorted.count / 2]
  }

  /// The upper median; NaN when there is no value.
  static func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
  }
}
