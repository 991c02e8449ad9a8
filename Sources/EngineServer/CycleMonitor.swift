// The performance monitor: per-cycle samples, rates, and each tracking mode's cost per cycle.

import Engine
import Foundation
import Synchronization

/// One closed cycle, as the dashboard charts it.
public struct CycleSample: Sendable, Codable, Equatable {
  public var cycle: Int64
  /// Wall-clock time the cycle closed, ms since the epoch.
  public var wall: Int64
  public var known: Int
  public var changed: Int
  public var evaluated: Int
  public var filterCalls: Int
  public var diffs: Int
  public var batch: Bool
  public var mode: String
  public var latencyMs: Double
  public var swapMs: Double
  /// Share of symbol evaluations skipped since the start (cumulative).
  public var efficiency: Double
  /// Share skipped in this cycle (1 - evaluated / known).
  public var cycleSkipped: Double
  /// Over the last few seconds of wall-clock time.
  public var evaluationsPerSecond: Double
  public var filterCallsPerSecond: Double
  public var symbolsChangedPerSecond: Double
}

/// Cost per cycle of one tracking mode, for the live A/B comparison.
public struct ModeCost: Sendable, Codable, Equatable {
  public var cycles = 0
  /// Averages over every cycle run in this mode.
  public var avgLatencyMs = 0.0
  public var avgEvaluations = 0.0
  public var avgFilterCalls = 0.0
  /// Exponentially weighted (α = 0.2) recent averages.
  public var recentLatencyMs = 0.0
  public var recentEvaluations = 0.0
  public var recentFilterCalls = 0.0
  public var lastCycle: Int64?

  mutating func add(latencyMs: Double, evaluations: Int, calls: Int, cycle: Int64) {
    cycles += 1
    let n = Double(cycles)
    avgLatencyMs += (latencyMs - avgLatencyMs) / n
    avgEvaluations += (Double(evaluations) - avgEvaluations) / n
    avgFilterCalls += (Double(calls) - avgFilterCalls) / n
    let a = cycles == 1 ? 1.0 : 0.2
    recentLatencyMs += a * (latencyMs - recentLatencyMs)
    recentEvaluations += a * (Double(evaluations) - recentEvaluations)
    recentFilterCalls += a * (Double(calls) - recentFilterCalls)
    lastCycle = cycle
  }
}

/// Cumulative counters of one strategy, and what the profiler measured of it.
public struct StrategyTotals: Sendable, Codable, Equatable {
  public var filterCalls = 0
  public var errors = 0
  /// Its time per call, and in total, as the profiler measured them (see `StrategyProfile`).
  public var nsPerCall = 0.0
  public var cpuSeconds = 0.0
  /// Its share of every strategy's measured time.
  public var costShare = 0.0
}

/// Collects ``CycleStatus`` reports (on the cycle thread) for the dashboard and `/status`.
public final class CycleMonitor: Sendable {
  private struct State {
    var history: [CycleSample] = []
    var window: [(wall: Double, evaluations: Int, calls: Int, changed: Int)] = []
    var changedTotal = 0
    var modes: [String: ModeCost] = [:]
    var strategies: [String: StrategyTotals] = [:]
    var strategyOrder: [String] = []
    var last: CycleStatus?
    var firstCycle: Int64?
    var gaps = 0
  }

  private let state = Mutex(State())
  public let historyCapacity: Int
  public let started = Date()

  public init(historyCapacity: Int = 300) { self.historyCapacity = historyCapacity }

  /// Records one cycle and returns its sample.
  @discardableResult
  public func record(_ status: CycleStatus, wall: Date = Date()) -> CycleSample {
    state.withLock { s in
      if let previous = s.last, status.cycle != previous.cycle + 1 { s.gaps += 1 }
      if s.firstCycle == nil { s.firstCycle = status.cycle }
      let now = wall.timeIntervalSince1970
      s.changedTotal += status.changedSymbols
      s.window.append(
        (now, status.totals.symbolEvaluations, status.totals.filterCalls, s.changedTotal))
      while let first = s.window.first, now - first.wall > 5, s.window.count > 2 {
        s.window.removeFirst()
      }
      var rates = (0.0, 0.0, 0.0)
      if let first = s.window.first, let last = s.window.last, last.wall > first.wall {
        let dt = last.wall - first.wall
        rates = (
          Double(last.evaluations - first.evaluations) / dt,
          Double(last.calls - first.calls) / dt,
          Double(last.changed - first.changed) / dt
        )
      }
      let latencyMs = Double(status.latencyNanos) / 1e6
      let sample = CycleSample(
        cycle: status.cycle, wall: Int64(now * 1000), known: status.knownSymbols,
        changed: status.changedSymbols, evaluated: status.evaluatedSymbols,
        filterCalls: status.filterCalls, diffs: status.diffs, batch: status.batchMode,
        mode: status.trackingMode.rawValue, latencyMs: latencyMs,
        swapMs: Double(status.swapNanos) / 1e6, efficiency: status.totals.skippedShare,
        cycleSkipped: status.knownSymbols == 0
          ? 0 : 1 - Double(status.evaluatedSymbols) / Double(status.knownSymbols),
        evaluationsPerSecond: rates.0, filterCallsPerSecond: rates.1,
        symbolsChangedPerSecond: rates.2)
      s.history.append(sample)
      if s.history.count > historyCapacity {
        s.history.removeFirst(s.history.count - historyCapacity)
      }
      s.modes[status.trackingMode.rawValue, default: ModeCost()].add(
        latencyMs: latencyMs, evaluations: status.evaluatedSymbols, calls: status.filterCalls,
        cycle: status.cycle)
      let totalSeconds = status.strategyProfiles.reduce(0.0) { $0 + $1.seconds }
      for (k, id) in status.strategyIDs.enumerated() {
        let calls = k < status.strategyCalls.count ? status.strategyCalls[k] : 0
        let errors = k < status.strategyErrors.count ? status.strategyErrors[k] : 0
        var t = s.strategies[id] ?? StrategyTotals()
        t.filterCalls += calls
        t.errors += errors
        if k < status.strategyProfiles.count {
          let p = status.strategyProfiles[k]
          t.nsPerCall = p.nanosPerCall
          t.cpuSeconds = p.seconds
          t.costShare = totalSeconds > 0 ? p.seconds / totalSeconds : 0
        }
        s.strategies[id] = t
      }
      s.strategyOrder = status.strategyIDs
      s.last = status
      return sample
    }
  }

  public var history: [CycleSample] { state.withLock { $0.history } }
  public var modes: [String: ModeCost] { state.withLock { $0.modes } }
  public var strategies: [String: StrategyTotals] { state.withLock { $0.strategies } }
  public var strategyIDs: [String] { state.withLock { $0.strategyOrder } }
  public var last: CycleStatus? { state.withLock { $0.last } }
  /// Times a cycle number was not the previous one plus one. Not necessarily a loss: a feed
  /// step with no event at all closes no cycle.
  public var cycleGaps: Int { state.withLock { $0.gaps } }
  public var uptimeSeconds: Double { Date().timeIntervalSince(started) }
}
