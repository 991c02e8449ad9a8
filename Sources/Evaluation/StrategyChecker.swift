import Tracking

/// `engine check DIR`: compiles every strategy in a scratch state and calls its filter once
/// on a synthetic symbol, so runtime errors on ordinary data show up before going live.
public enum StrategyChecker {
  /// One `file:line: message` (or `file: message`) per problem; empty when all is well.
  /// Plugins are compiled and run once each (through `require`), then every strategy.
  public static func check(
    directory: String, plugins: String = "Plugins", maxCandles: Int = 500,
    limits: SandboxLimits = SandboxLimits()
  ) throws(EngineError) -> (checked: Int, problems: [String]) {
    let code = try CodeSet.load(strategies: directory, plugins: plugins)
    return check(
      strategies: code.strategies, plugins: code.plugins, maxCandles: maxCandles, limits: limits)
  }

  /// The same check on sources already in memory (strategies in the order given).
  public static func check(
    strategies: [StrategySource], plugins: [StrategySource] = [], maxCandles: Int = 500,
    limits: SandboxLimits = SandboxLimits()
  ) -> (checked: Int, problems: [String]) {
    let code = CodeSet(strategies: strategies, plugins: plugins)
    var problems: [String] = []
    for plugin in code.plugins {
      let probe = StrategySource(
        id: "check", path: plugin.path,
        source: "require(\"\(plugin.id)\") return { filter = function() return false end }")
      do {
        let runtime = try StrategyRuntime(
          store: MarketStore(maxSymbols: 1, maxCandles: 1), limits: limits)
        try runtime.setPlugins(code.plugins)
        _ = try runtime.compile(probe)
      } catch {
        problems.append(error.description)
      }
    }
    let sources = code.strategies
    for source in sources {
      let store = syntheticStore(for: source, maxCandles: maxCandles)
      do {
        let runtime = try StrategyRuntime(store: store, limits: limits)
        try runtime.setPlugins(code.plugins)
        let compiled = try runtime.compile(source)
        runtime.install([compiled])
        runtime.prepareView(0)
        if case .failed(let message) = runtime.evaluate(0, symbol: 0) {
          problems.append(message.hasPrefix(source.path) ? message : "\(source.path): \(message)")
        }
      } catch {
        problems.append(error.description)
      }
    }
    // One line per problem: a message with line breaks (`error("a\nb")`) is joined.
    let lines = problems.map { $0.split(whereSeparator: \.isNewline).joined(separator: " ") }
    return (sources.count + code.plugins.count, lines)
  }

  /// A store with one symbol, `TESTUSDT`: a ticker and `maxCandles` 1m candles of a gentle
  /// random-looking walk (plus the same in every interval the strategy's source mentions).
  static func syntheticStore(for source: StrategySource, maxCandles: Int) -> MarketStore {
    let store = MarketStore(maxSymbols: 1, maxCandles: maxCandles)
    var intervals = ["1m"]
    for candidate in [
      "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1s",
    ]
    where source.source.contains("\"\(candidate)\"") || source.source.contains("'\(candidate)'") {
      intervals.append(candidate)
    }
    let t0: Int64 = 1_700_000_000_000
    var price = 100.0
    for interval in intervals {
      price = 100
      for i in 0..<maxCandles {
        let wave = Double((i * 7919) % 13) - 6
        let open = price
        price = max(1, price * (1 + wave / 1000))
        _ = store.apply(
          .kline(
            KlineEvent(
              symbol: "TESTUSDT", eventTime: t0, interval: interval,
              openTime: t0 + Int64(i) * 60_000,
              open: open, high: max(open, price) * 1.002, low: min(open, price) * 0.998,
              close: price,
              volume: 1000 + Double((i * 31) % 17) * 50, isClosed: i < maxCandles - 1)))
      }
    }
    var f = TickerFields()
    f.price = price
    f.open = 100
    f.high = price * 1.05
    f.low = price * 0.95
    f.volume = 1_000_000
    f.quoteVolume = 100_000_000
    f.change = price - 100
    f.changePct = price - 100
    f.vwap = price
    f.bid = price * 0.9999
    f.ask = price * 1.0001
    _ = store.apply(
      .ticker(TickerEvent(symbol: "TESTUSDT", eventTime: t0, isMini: false, fields: f)))
    return store
  }

  /// The kline intervals the strategies of `code` declare (compiling them in a scratch
  /// state; a strategy that does not compile is skipped), sorted; `["1m"]` when none.
  public static func timeframes(of code: CodeSet) -> [String] {
    let store = MarketStore(maxSymbols: 1, maxCandles: 1)
    guard let runtime = try? StrategyRuntime(store: store, limits: SandboxLimits()),
      (try? runtime.setPlugins(code.plugins)) != nil
    else { return ["1m"] }
    var set = Set<String>()
    for s in code.strategies {
      if let compiled = try? runtime.compile(s) { set.formUnion(compiled.info.timeframes) }
    }
    return set.isEmpty ? ["1m"] : set.sorted()
  }
}
