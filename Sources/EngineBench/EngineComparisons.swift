import EngineSettings
import Engine
import Evaluation
import Histogram

/// Sections `tracking`, `scaling` and `batch`: the engine run twice over the same market in two
/// configurations, back to back, so that the figures compare as a ratio.
extension Benchmark {
  /// Tracking A/B: CPU per cycle evaluating the changed symbols against every symbol, with one
  /// worker, at 10% churn (`churn_10`) and at 100% (`churn_100`, the market `full`). Also the
  /// latency and the result size at 10% churn.
  func measureTracking(
    _ code: CodeSet, _ full: SyntheticMarket, into results: inout Results
  ) throws(EngineError) {
    let tenth = market(churn: 0.1, cycles: options.cycles * 3)
    var tracking: [String: TrackingCost] = [:]
    var latencies: [UInt64] = []
    for (name, m) in [("churn_10", tenth), ("churn_100", full)] {
      let changed = try runEngine(m, code: code, workers: 1, mode: .changed)
      let all = try runEngine(m, code: code, workers: 1, mode: .all)
      let c = changed.cpuSeconds * 1000 / Double(max(1, changed.summary.cycles))
      let a = all.cpuSeconds * 1000 / Double(max(1, all.summary.cycles))
      tracking[name] = TrackingCost(
        changedCPUMilliseconds: c, allCPUMilliseconds: a, ratio: c / max(a, 1e-9))
      if name == "churn_10" {
        latencies = changed.latencies
        // Result size, in a run of its own: its bookkeeping is not the engine's cost.
        let sized = try runEngine(m, code: code, workers: 1, mode: .changed, measureFull: true)
        let d = Double(sized.sink.diffBytes)
        let f = Double(sized.sink.fullBytes)
        results.resultBytes = ["diffs": d, "full": f, "ratio": d / max(f, 1)]
      }
    }
    results.tracking = tracking
    var histogram = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
    for l in latencies { _ = histogram.record(max(1, l)) }
    results.latencyMilliseconds = [
      "p50": Double(histogram.valueAtPercentile(50)) / 1e6,
      "p99": Double(histogram.valueAtPercentile(99)) / 1e6,
      "max": Double(histogram.max) / 1e6,
    ]
  }

  /// Evaluations per second (wall time) with one worker and with `workers`.
  func measureScaling(_ code: CodeSet, _ full: SyntheticMarket) throws(EngineError)
    -> [String: Double]
  {
    let one = try runEngine(full, code: code, workers: 1, mode: .changed)
    let many = try runEngine(full, code: code, workers: options.workers, mode: .changed)
    let perSecond1 = Double(one.summary.filterCalls) / one.wallSeconds
    let perSecondN = Double(many.summary.filterCalls) / many.wallSeconds
    return [
      "workers": Double(options.workers), "evals_per_s_1": perSecond1,
      "evals_per_s_n": perSecondN, "speedup": perSecondN / perSecond1,
    ]
  }

  /// Wall time per cycle with batch mode forced on (threshold 0) and off (threshold 1).
  func measureBatch(_ code: CodeSet, _ full: SyntheticMarket) throws(EngineError)
    -> [String: Double]
  {
    let batched = try runEngine(
      full, code: code, workers: options.workers, mode: .changed, batchThreshold: 0)
    let single = try runEngine(
      full, code: code, workers: options.workers, mode: .changed, batchThreshold: 1)
    return [
      "batched_ms": batched.wallSeconds * 1000 / Double(max(1, batched.summary.cycles)),
      "single_pass_ms": single.wallSeconds * 1000 / Double(max(1, single.summary.cycles)),
    ]
  }
}
