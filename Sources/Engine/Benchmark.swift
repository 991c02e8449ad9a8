import Feeds
import Foundation
import Histogram
import Tracking
import Support
import Evaluation
import EngineSettings

#if canImport(Glibc)
  import Glibc
#endif

/// `engine bench`: measures the engine on simulated data, side by side in one run, so the
/// figures are ratios a noisy shared machine can still compare.
public struct Benchmark {
  public struct Options: Sendable {
    public var strategies: String = "Strategies"
    public var plugins: String = "Plugins"
    public var symbols: Int = 2000
    /// Cycles per measured run.
    public var cycles: Int = 30
    /// Repeats of each per-strategy measurement (the median is kept).
    public var repeats: Int = 3
    public var workers: Int = max(2, ProcessInfo.processInfo.activeProcessorCount)
    public var candles: Int = 500
    /// Sections to run (all when empty): see ``Benchmark/sections``.
    public var only: Set<String> = []
    public init() {}
  }

  public let options: Options
  public init(_ options: Options) { self.options = options }

  // MARK: Results

  public struct StrategyCost: Sendable, Codable {
    public var id: String
    public var ns_per_eval: Double
    /// Of `ns_per_eval`: the cycle thread applying the data change, and the worker
    /// evaluating (the rest is the feed, cycle bookkeeping and diff output).
    public var apply_ns_per_eval: Double?
    public var evaluate_ns_per_eval: Double?
    /// The cycle thread closing cycles: dispatch, diff resolution and output.
    public var close_ns_per_eval: Double?
  }
  public struct TrackingCost: Sendable, Codable {
    public var changed_cpu_ms: Double
    public var all_cpu_ms: Double
    public var ratio: Double
  }
  /// What one bench run measured; a section left out with `--only` is nil (and absent from
  /// the JSON).
  public struct Results: Sendable, Codable {
    public var symbols: Int
    public var cycles: Int
    public var strategies: [StrategyCost]?
    public var floor_ns_per_eval: Double?
    /// ns per evaluation of the built-in reference filters (``referenceFilters``).
    public var reference: [String: Double]?
    /// The reference filters' costs with their apply/evaluate split (ids as in `reference`).
    public var reference_costs: [StrategyCost]?
    /// The reference rows of issue 5's table measured in this run (``measureBaselines(_:)``):
    /// `native_ticker`, `lua_args_ticker`, `native_rsi`, `lua_args_rsi`, ns per evaluation.
    public var baseline: [String: Double]?
    /// The engine's reference filters over those rows (same run): `ticker_vs_lua_args`
    /// (target <= 2.0: "2x the Lua call floor"); `rsi_vs_lua_args_ticker` (target <= 2.69: the
    /// 250 ns target over the table's 93 for the Lua-with-arguments row, which this run's
    /// `lua_args_ticker` reproduces: the target scaled to this machine's speed);
    /// `rsi_vs_lua_args` (250 over the table's 130 = 1.92, stricter than the target: this
    /// run's RSI row costs what its ticker row does, the table's cost 37 ns more).
    public var target_ratios: [String: Double]?
    public var tracking: [String: TrackingCost]?
    public var scaling: [String: Double]?
    public var batch: [String: Double]?
    public var ingest: [String: Double]?
    public var latency_ms: [String: Double]?
    public var memory: [String: Double]?
    public var result_bytes: [String: Double]?
  }

  /// Built-in reference filters, measured like the strategies: `floor` does nothing, `ticker`
  /// reads two ticker fields (the shape of most screeners), `rsi` asks `ta.rsi` of the 1m
  /// closes.
  static let referenceFilters: [(String, String)] = [
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

  /// The sections of a bench run, in order (`--only` picks some).
  public static let sections = ["strategies", "tracking", "scaling", "batch", "ingest", "memory"]

  func wants(_ section: String) -> Bool { options.only.isEmpty || options.only.contains(section) }

  // MARK: Synthetic market

  /// Pre-built events: a warm-up (a ticker and `candles` 1m candles per symbol) and, per
  /// cycle, a ticker and a kline update for a rotating `churn` share of the symbols.
  struct Market {
    var warmup: [MarketEvent]
    var cycles: [[MarketEvent]]
  }

  static let t0: Int64 = 1_732_400_000_000

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

  func market(churn: Double, cycles: Int, seed: UInt64 = 7) -> Market {
    var rng = SplitMix64(seed: seed)
    let n = options.symbols
    let names = (0..<n).map { "S\($0)USDT" }
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
    return Market(warmup: warmup, cycles: result)
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

  /// Delivers pre-built events: the warm-up, then one batch per cycle, then the end.
  struct EventFeed: Feed {
    let market: Market
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

  /// Formats every diff as the stdout writer would (the cost a real run pays) and counts the
  /// bytes; with `measureFull`, also what full per-cycle match lists would have cost (that
  /// bookkeeping is bench-only, so timed runs leave it off).
  final class MeasuringSink: DiffSink {
    var diffBytes = 0
    var fullBytes = 0
    var matches: [String: Set<String>] = [:]
    var lastPrice: [String: Double] = [:]
    var measureFull = false
    var buffer: [UInt8] = []
    func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff]) {
      buffer.removeAll(keepingCapacity: true)
      JSONLinesWriter.append(diffs, cycle: cycle, time: time, to: &buffer)
      diffBytes += buffer.count
      guard measureFull else { return }
      for d in diffs {
        if d.isEnter {
          matches[d.strategy, default: []].insert(d.symbol)
        } else {
          matches[d.strategy]?.remove(d.symbol)
        }
        lastPrice[d.symbol] = d.price
      }
      buffer.removeAll(keepingCapacity: true)
      for (strategy, symbols) in matches {
        for symbol in symbols {
          JSONLinesWriter.append(
            ResolvedDiff(
              strategy: strategy, symbol: symbol, isEnter: true, price: lastPrice[symbol] ?? 0,
              info: nil), cycle: cycle, time: time, to: &buffer)
        }
      }
      fullBytes += buffer.count
    }
  }

  struct RunFigures {
    var wallSeconds: Double
    var cpuSeconds: Double
    var summary: RunSummary
    var latencies: [UInt64]
    var sink: MeasuringSink
    var luaMemory: Int
    /// CPU time of the measured cycles applying events (cycle thread) and evaluating (workers).
    var applySeconds: Double
    var evaluateSeconds: Double
    var closeSeconds: Double
  }

  /// Runs the real engine (feed thread, cycle thread, workers) over `market`; times only the
  /// measured cycles (the warm-up cycle is excluded by subtracting a warm-up-only run).
  /// Batch mode is off (`batchThreshold` 1) unless asked for: its yields hand the core to
  /// whatever else runs on a shared machine, which would blur every other figure; its own
  /// cost is measured apart (`batch`).
  func run(
    _ market: Market, code: CodeSet, workers: Int, mode: TrackingMode, batchThreshold: Double = 1,
    measureFull: Bool = false
  ) throws(EngineError) -> RunFigures {
    var settings = Settings()
    settings.workers = workers
    settings.trackingMode = mode
    settings.batchThreshold = batchThreshold
    settings.maxSymbols = max(4096, options.symbols)
    settings.maxCandles = options.candles
    settings.minUpdateIntervalMs = 0
    let sink = MeasuringSink()
    sink.measureFull = measureFull
    let engine = CycleEngine(settings: settings, sink: sink, live: false)
    engine.log = { _ in }
    nonisolated(unsafe) var latencies: [UInt64] = []
    nonisolated(unsafe) var measuring = false
    nonisolated(unsafe) var wallStart = 0.0
    nonisolated(unsafe) var cpuStart = 0.0
    nonisolated(unsafe) var startSummary = RunSummary()
    nonisolated(unsafe) var applyStart = 0.0
    nonisolated(unsafe) var evaluateStart = 0.0
    nonisolated(unsafe) var closeStart = 0.0
    engine.addCycleObserver { [unowned engine] status in
      if measuring {
        latencies.append(status.latencyNanos)
      } else {
        // The first cycle holds the warm-up: start measuring after it.
        measuring = true
        wallStart = MonotonicClock.seconds()
        cpuStart = Self.cpu()
        startSummary = status.totals
        applyStart = engine.applyCPUSeconds
        evaluateStart = engine.evaluateCPUSeconds
        closeStart = engine.closeCPUSeconds
      }
    }
    try engine.start(code: code)
    var summary = try engine.run(feed: EventFeed(market: market))
    let wall = MonotonicClock.seconds() - wallStart
    let cpu = Self.cpu() - cpuStart
    summary.filterCalls -= startSummary.filterCalls
    summary.symbolEvaluations -= startSummary.symbolEvaluations
    summary.symbolCycles -= startSummary.symbolCycles
    summary.cycles -= startSummary.cycles
    summary.diffs -= startSummary.diffs
    if ProcessInfo.processInfo.environment["ENGINE_BENCH_DEBUG"] != nil {
      FileHandle.standardError.write(
        Data(
          "bench run: mode \(mode) workers \(workers) cycles \(summary.cycles) symbol evals \(summary.symbolEvaluations) calls \(summary.filterCalls) diffs \(summary.diffs) wall \(wall) cpu \(cpu)\n"
            .utf8))
    }
    return RunFigures(
      wallSeconds: wall, cpuSeconds: cpu, summary: summary, latencies: latencies, sink: sink,
      luaMemory: engine.luaMemoryPerWorker, applySeconds: engine.applyCPUSeconds - applyStart,
      evaluateSeconds: engine.evaluateCPUSeconds - evaluateStart,
      closeSeconds: engine.closeCPUSeconds - closeStart)
  }

  // MARK: The whole bench

  public func run(progress: (String) -> Void = { _ in }) throws(EngineError) -> Results {
    let code = try CodeSet.load(strategies: options.strategies, plugins: options.plugins)
    var results = Results(symbols: options.symbols, cycles: options.cycles)
    if wants("memory") {
      progress("memory")
      results.memory = try measureMemory(code)
    }
    let needsFull = wants("strategies") || wants("tracking") || wants("scaling") || wants("batch")
    let full =
      needsFull ? market(churn: 1.0, cycles: options.cycles) : Market(warmup: [], cycles: [])

    if wants("strategies") {
      // Per strategy: ns per evaluation, end to end (apply, tracking, evaluation, diffs), one
      // worker, every symbol changing every cycle. As in the reference measurements this
      // engine answers to (2000 symbols, 3 filters), each strategy runs as three copies, so a
      // symbol's data change is shared by three evaluations.
      progress("per-strategy cost")
      // Reference filters, the rows of the targets this engine answers to: the call floor,
      // a ticker-only filter, and `ta.rsi(k.close, 14)` over `candles` candles.
      // Repeats interleave the reference filters with issue 5's reference rows (native
      // and Lua-with-arguments calls on the same events), and each target ratio is the
      // median of the per-repeat ratios: on a shared machine, load comes and goes over
      // seconds, and a ratio of two figures taken far apart would carry it.
      var samples: [String: [StrategyCost]] = [:]
      var baselines: [[String: Double]] = []
      // (reference filter, its row, ratio key)
      let targets = [
        ("ticker", "lua_args_ticker", "ticker_vs_lua_args"),
        ("rsi", "lua_args_rsi", "rsi_vs_lua_args"),
        ("rsi", "lua_args_ticker", "rsi_vs_lua_args_ticker"),
      ]
      var ratioSamples: [String: [Double]] = [:]
      for _ in 0..<max(1, options.repeats) {
        var round: [String: Double] = [:]
        for (name, source) in Self.referenceFilters {
          let s = StrategySource(id: name, path: "\(name).lua", source: source)
          var cost = try nanosPerEval(
            full, code: copies(s, CodeSet(strategies: [s], plugins: code.plugins)))
          cost.id = name
          samples[name, default: []].append(cost)
          round[name] = cost.ns_per_eval
        }
        let baseline = measureBaselines(full)
        baselines.append(baseline)
        for (reference, row, key) in targets {
          if let t = round[reference], let b = baseline[row], b > 0 {
            ratioSamples[key, default: []].append(t / b)
          }
        }
      }
      var reference: [String: Double] = [:]
      var referenceCosts: [StrategyCost] = []
      for (name, _) in Self.referenceFilters {
        guard let cost = samples[name].map(Self.median) else { continue }
        reference[name] = cost.ns_per_eval
        referenceCosts.append(cost)
      }
      results.reference = reference
      results.reference_costs = referenceCosts
      var baseline: [String: Double] = [:]
      for key in Set(baselines.flatMap(\.keys)) {
        baseline[key] = Self.median(baselines.compactMap { $0[key] })
      }
      results.baseline = baseline
      results.target_ratios = ratioSamples.mapValues { Self.median($0) }
      results.floor_ns_per_eval = reference["floor"]
      var costs: [StrategyCost] = []
      for s in code.strategies {
        var cost = try medianNanosPerEval(full, code: copies(s, code))
        cost.id = s.id
        costs.append(cost)
      }
      results.strategies = costs
    }

    if wants("tracking") {
      progress("tracking A/B")
      let tenth = market(churn: 0.1, cycles: options.cycles * 3)
      var tracking: [String: TrackingCost] = [:]
      var latencies: [UInt64] = []
      for (name, m) in [("churn_10", tenth), ("churn_100", full)] {
        let changed = try run(m, code: code, workers: 1, mode: .changed)
        let all = try run(m, code: code, workers: 1, mode: .all)
        let c = changed.cpuSeconds * 1000 / Double(max(1, changed.summary.cycles))
        let a = all.cpuSeconds * 1000 / Double(max(1, all.summary.cycles))
        tracking[name] = TrackingCost(changed_cpu_ms: c, all_cpu_ms: a, ratio: c / max(a, 1e-9))
        if name == "churn_10" {
          latencies = changed.latencies
          // Result size, in a run of its own: its bookkeeping is not the engine's cost.
          let sized = try run(m, code: code, workers: 1, mode: .changed, measureFull: true)
          let d = Double(sized.sink.diffBytes)
          let f = Double(sized.sink.fullBytes)
          results.result_bytes = ["diffs": d, "full": f, "ratio": d / max(f, 1)]
        }
      }
      results.tracking = tracking
      var histogram = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
      for l in latencies { _ = histogram.record(max(1, l)) }
      results.latency_ms = [
        "p50": Double(histogram.valueAtPercentile(50)) / 1e6,
        "p99": Double(histogram.valueAtPercentile(99)) / 1e6,
        "max": Double(histogram.max) / 1e6,
      ]
    }

    if wants("scaling") {
      progress("scaling")
      let one = try run(full, code: code, workers: 1, mode: .changed)
      let many = try run(full, code: code, workers: options.workers, mode: .changed)
      let perSecond1 = Double(one.summary.filterCalls) / one.wallSeconds
      let perSecondN = Double(many.summary.filterCalls) / many.wallSeconds
      results.scaling = [
        "workers": Double(options.workers), "evals_per_s_1": perSecond1,
        "evals_per_s_n": perSecondN, "speedup": perSecondN / perSecond1,
      ]
    }

    if wants("batch") {
      progress("batch mode")
      let batched = try run(
        full, code: code, workers: options.workers, mode: .changed, batchThreshold: 0)
      let single = try run(
        full, code: code, workers: options.workers, mode: .changed, batchThreshold: 1)
      results.batch = [
        "batched_ms": batched.wallSeconds * 1000 / Double(max(1, batched.summary.cycles)),
        "single_pass_ms": single.wallSeconds * 1000 / Double(max(1, single.summary.cycles)),
      ]
    }

    if wants("ingest") {
      progress("ingest")
      results.ingest = measureIngest()
    }

    return results
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
  func medianNanosPerEval(_ m: Market, code: CodeSet) throws(EngineError) -> StrategyCost {
    var samples: [StrategyCost] = []
    for _ in 0..<max(1, options.repeats) { samples.append(try nanosPerEval(m, code: code)) }
    return Self.median(samples)
  }

  /// One run's cost per evaluation, split by thread role.
  func nanosPerEval(_ m: Market, code: CodeSet) throws(EngineError) -> StrategyCost {
    let r = try run(m, code: code, workers: 1, mode: .changed)
    let evaluations = Double(max(1, r.summary.symbolEvaluations * max(1, code.strategies.count)))
    return StrategyCost(
      id: "", ns_per_eval: r.cpuSeconds * 1e9 / evaluations,
      apply_ns_per_eval: r.applySeconds * 1e9 / evaluations,
      evaluate_ns_per_eval: r.evaluateSeconds * 1e9 / evaluations,
      close_ns_per_eval: r.closeSeconds * 1e9 / evaluations)
  }

  /// The sample with the median total cost.
  static func median(_ samples: [StrategyCost]) -> StrategyCost {
    let sorted = samples.sorted { $0.ns_per_eval < $1.ns_per_eval }
    return sorted[sorted.count / 2]
  }

  static func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
  }

  /// Parse + apply of Binance JSON from the simulator (tickers and klines, in envelopes),
  /// against Foundation's JSONSerialization on the same bytes.
  func measureIngest() -> [String: Double] {
    var sim = MarketSimulator(
      SimulatorConfig(symbols: options.symbols, seed: 3, historyCandles: 2, startTime: Self.t0))
    var lines = sim.warmup()
    for _ in 0..<20 { lines += sim.nextStep() }
    // Also one `!ticker@arr`-style array of every ticker line, as large messages.
    let bytes = lines.reduce(0) { $0 + $1.utf8.count }
    let store = MarketStore(maxSymbols: max(4096, options.symbols), maxCandles: 500)
    let updates = UpdateBitSet(capacity: max(4096, options.symbols))
    var batcher = MessageBatcher(source: "bench")
    let began = MonotonicClock.seconds()
    var messages = 0
    for var line in lines {
      _ = line.withUTF8 { batcher.add(UnsafeRawBufferPointer($0)) }
      messages += 1
      if messages % 256 == 0 {
        for e in batcher.take().events {
          if case .success(.changed(let s)) = store.apply(e) { updates.mark(Int(s)) }
        }
      }
    }
    for e in batcher.take().events {
      if case .success(.changed(let s)) = store.apply(e) { updates.mark(Int(s)) }
    }
    let seconds = MonotonicClock.seconds() - began
    let foundationBegan = MonotonicClock.seconds()
    var parsed = 0
    for line in lines where (try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil {
      parsed += 1
    }
    let foundationSeconds = MonotonicClock.seconds() - foundationBegan
    // Issue 5 states the target against `JSONDecoder`: typed decoding of the same lines into
    // Codable structs, numbers converted from their strings, as a Foundation-based feed would.
    let decoder = JSONDecoder()
    let decoderBegan = MonotonicClock.seconds()
    var decoded = 0
    func decode<T: Decodable>(_ type: T.Type, _ data: Data, enveloped: Bool) -> T? {
      enveloped
        ? (try? decoder.decode(FoundationEnvelope<T>.self, from: data))?.data
        : try? decoder.decode(T.self, from: data)
    }
    for line in lines {
      let data = Data(line.utf8)
      let enveloped = line.hasPrefix("{\"stream\"")
      if line.contains("\"kline\"") {
        if let k = decode(FoundationKlineEvent.self, data, enveloped: enveloped),
          k.k.numbers.allSatisfy({ $0 != nil })
        {
          decoded += 1
        }
      } else if let t = decode(FoundationTicker.self, data, enveloped: enveloped),
        t.numbers[0] != nil
      {
        decoded += 1
      }
    }
    let decoderSeconds = MonotonicClock.seconds() - decoderBegan
    let mbps = Double(bytes) / 1e6 / seconds
    let foundation = Double(bytes) / 1e6 / foundationSeconds
    let typed = Double(bytes) / 1e6 / decoderSeconds
    return [
      "mb_per_s": mbps, "messages_per_s": Double(messages) / seconds,
      "foundation_jsonserialization_mb_per_s": foundation, "ratio_to_foundation": mbps / foundation,
      "foundation_jsondecoder_mb_per_s": typed, "ratio_to_jsondecoder": mbps / typed,
      "jsondecoder_messages": Double(decoded),
      "bytes": Double(bytes), "messages": Double(parsed),
    ]
  }

  /// Memory, measured first in a run (before the bench's own event arrays exist): one
  /// engine's state built in place (the store with the warm-up market applied, one runtime
  /// per worker with the strategies compiled and a view of every symbol), and the resident
  /// set before and after.
  func measureMemory(_ code: CodeSet) throws(EngineError) -> [String: Double] {
    let before = Self.residentMB()
    let store = MarketStore(maxSymbols: max(4096, options.symbols), maxCandles: options.candles)
    let base = try StrategyRuntime(store: store, limits: SandboxLimits())
    let empty = Double(base.memoryInUse) / 1024
    try base.setPlugins(code.plugins)
    var compiled: [StrategyRuntime.Compiled] = []
    for s in code.strategies { compiled.append(try base.compile(s)) }
    base.install(compiled)
    let withStrategies = Double(base.memoryInUse) / 1024
    // The warm-up market, applied as it is generated.
    var rng = SplitMix64(seed: 7)
    _ = warmup((0..<options.symbols).map { "S\($0)USDT" }, &rng) { _ = store.apply($0) }
    var runtimes = [base]
    for _ in 1..<max(1, options.workers) {
      let r = try StrategyRuntime(store: store, limits: SandboxLimits())
      try r.setPlugins(code.plugins)
      r.install(try code.strategies.map { s throws(EngineError) in try r.compile(s) })
      runtimes.append(r)
    }
    for r in runtimes {
      for s in 0..<Int32(store.symbolCount) { r.prepareView(s) }
    }
    let withViews = Double(base.memoryInUse) / 1024
    let after = Self.residentMB()
    return [
      "flag_bytes_4096": Double(UpdateBitSet(capacity: 4096).flagBytes),
      "lua_state_kb_per_worker": withStrategies,
      "lua_state_empty_kb": empty,
      "lua_state_kb_per_strategy": (withStrategies - empty) / Double(max(1, code.strategies.count)),
      "lua_views_kb_per_symbol": (withViews - withStrategies) / Double(max(1, store.symbolCount)),
      "lua_state_kb_per_worker_with_views": withViews,
      "rss_mb": after,
      "engine_rss_mb": after - before,
      "workers": Double(runtimes.count),
    ]
  }

  static func residentMB() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else {
      return 0
    }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1e6
  }

  static func cpu() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }
}

/// A small deterministic generator for benchmark data.
struct SplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// The simulator's Binance messages as a `JSONDecoder` user would type them (the fields the
/// engine reads; numbers arrive as strings and are converted like the engine's parser does),
/// raw or in a combined-stream envelope.
struct FoundationEnvelope<T: Decodable>: Decodable {
  let stream: String
  let data: T
}

struct FoundationTicker: Decodable {
  let E: Int64
  let s: String
  let c, o, h, l, v, q: String
  let p, P, w, b, a: String?
  var numbers: [Double?] { [c, o, h, l, v, q, p, P, w, b, a].map { $0.flatMap(Double.init) } }
}

struct FoundationKlineEvent: Decodable {
  struct Kline: Decodable {
    let t: Int64
    let i: String
    let o, h, l, c, v: String
    let x: Bool
    var numbers: [Double?] { [o, h, l, c, v].map { Double($0) } }
  }
  let E: Int64
  let s: String
  let k: Kline
}
