import EngineSettings
import Engine
import Evaluation
import Foundation
import Support

#if canImport(Glibc)
  import Glibc
#endif

/// What one run of the engine measured, over its measured cycles only.
struct RunFigures {
  var wallSeconds: Double
  /// CPU time of the whole process.
  var cpuSeconds: Double
  var summary: RunSummary
  /// Per measured cycle, cycle close to last diff written.
  var latencies: [UInt64]
  var sink: MeasuringSink
  /// CPU time of the cycle thread applying events.
  var applySeconds: Double
  /// CPU time of the workers evaluating.
  var evaluateSeconds: Double
  /// CPU time of the cycle thread closing cycles.
  var closeSeconds: Double
}

extension Benchmark {
  /// Runs the real engine (feed thread, cycle thread, workers) over `market` and times the
  /// measured cycles: the first cycle holds the warm-up, so measuring starts when it closes.
  ///
  /// Batch mode is off (`batchThreshold` 1) unless asked for: its yields hand the core to
  /// whatever else runs on a shared machine, which would blur every other figure; its own
  /// cost is measured apart (section `batch`).
  func runEngine(
    _ market: SyntheticMarket, code: CodeSet, workers: Int, mode: TrackingMode,
    batchThreshold: Double = 1, measureFull: Bool = false, profiling: Bool = true
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
    engine.profiling = profiling
    // Written by the cycle observer on the cycle thread, read after `run` returns.
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
        measuring = true
        wallStart = MonotonicClock.seconds()
        cpuStart = Self.processCPUSeconds()
        startSummary = status.totals
        applyStart = engine.applyCPUSeconds
        evaluateStart = engine.evaluateCPUSeconds
        closeStart = engine.closeCPUSeconds
      }
    }
    try engine.start(code: code)
    var summary = try engine.run(feed: SyntheticFeed(market: market))
    let wall = MonotonicClock.seconds() - wallStart
    let cpu = Self.processCPUSeconds() - cpuStart
    summary.filterCalls -= startSummary.filterCalls
    summary.symbolEvaluations -= startSummary.symbolEvaluations
    summary.symbolCycles -= startSummary.symbolCycles
    summary.cycles -= startSummary.cycles
    summary.diffs -= startSummary.diffs
    if ProcessInfo.processInfo.environment["ENGINE_BENCH_DEBUG"] != nil {
      StandardError.line(
        "bench run: mode \(mode) workers \(workers) cycles \(summary.cycles) symbol evals \(summary.symbolEvaluations) calls \(summary.filterCalls) diffs \(summary.diffs) wall \(wall) cpu \(cpu)"
      )
    }
    return RunFigures(
      wallSeconds: wall, cpuSeconds: cpu, summary: summary, latencies: latencies, sink: sink,
      applySeconds: engine.applyCPUSeconds - applyStart,
      evaluateSeconds: engine.evaluateCPUSeconds - evaluateStart,
      closeSeconds: engine.closeCPUSeconds - closeStart)
  }

  /// CPU time of the whole process, all threads.
  static func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }
}
