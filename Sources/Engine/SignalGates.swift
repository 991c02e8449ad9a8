import Evaluation
import Tracking

/// What the profiler measured of one strategy so far: its calls, and one call in
/// `Worker.profileEvery` timed (every call, once its calls take `Worker.timeEveryCallAbove`
/// ns or more). The time per call is the timed calls' mean without the slowest tenth (calls
/// a preempted thread made look slow; see `CallTimes`): a sample of the calls spread over the
/// run, whose error is about the spread of the strategy's call times over the square root of
/// the timed calls. The time in total is that mean times the calls.
public struct StrategyProfile: Sendable, Equatable {
  public var calls = 0
  public var errors = 0
  var times = CallTimes()

  public init() {}

  /// Calls timed.
  public var timedCalls: Int { times.total }

  /// Estimated nanoseconds per call (0 before any call was timed).
  public var nanosPerCall: Double { times.trimmedMean }

  /// Estimated seconds spent in the strategy's calls.
  public var seconds: Double { nanosPerCall * Double(calls) / 1e9 }
}

extension CycleEngine {
  /// Brings the gates in line with the loaded strategies: a gate for each gated strategy
  /// (its settings updated), none for the others. A strategy becoming gated starts with its
  /// printed matches entered; one ceasing to be gated forgets its pending symbols (their
  /// results are cleared, so the next evaluation enters them at once).
  func syncGates() {
    var next: [String: SignalGate] = [:]
    for (k, info) in strategies.enumerated() {
      if info.isGated {
        var gate =
          gates[info.id] ?? Self.gate(startingFrom: book.matches(strategy: k), info: info)
        gate.confirmMs = SignalGate.milliseconds(info.confirmS)
        gate.cooldownMs = SignalGate.milliseconds(info.cooldownS)
        next[info.id] = gate
      } else if let old = gates[info.id] {
        for symbol in old.pending.keys { book.set(strategy: k, symbol: symbol, matched: false) }
      }
    }
    gates = next
  }

  private static func gate(startingFrom matches: [Int32], info: StrategyInfo) -> SignalGate {
    var gate = SignalGate(confirmS: 0, cooldownS: 0)
    for symbol in matches {
      _ = gate.result(symbol: symbol, matched: true, price: 0, info: nil, now: .min)
    }
    _ = gate.fire(now: .min)
    gate.confirmMs = SignalGate.milliseconds(info.confirmS)
    gate.cooldownMs = SignalGate.milliseconds(info.cooldownS)
    return gate
  }

  /// Enters the gated strategies' pending symbols due at `now` (strategies being disabled
  /// excepted), appending to `resolved` and their store indices to `symbols`.
  func fireGates(
    now: Int64, disabling: Set<Int>, into resolved: inout [ResolvedDiff],
    symbols: inout [Int32]
  ) {
    guard !gates.isEmpty else { return }
    let names = store.symbols
    for (k, info) in strategies.enumerated() where info.isGated && !disabling.contains(k) {
      guard let due = gates[info.id]?.nextDue, due <= now,
        let enters = gates[info.id]?.fire(now: now)
      else { continue }
      for e in enters {
        symbols.append(e.symbol)
        resolved.append(
          ResolvedDiff(
            strategy: info.id, symbol: names.name(at: e.symbol), isEnter: true, price: e.price,
            info: e.info))
      }
    }
  }

  /// Adds a worker's profile of its calls to the strategies' totals.
  func recordProfile(_ report: WorkerReport) {
    for (k, calls) in report.callsPerStrategy.enumerated() where k < strategies.count {
      guard calls > 0 else { continue }
      var p = profiles[strategies[k].id] ?? StrategyProfile()
      p.calls += calls
      if k < report.callTimes.count { p.times.add(report.callTimes[k]) }
      p.errors += report.errors[k]?.count ?? 0
      profiles[strategies[k].id] = p
    }
  }

  /// Per loaded strategy, in id order, what the profiler measured (cycle thread, or after
  /// ``run(feed:)`` returned).
  public var strategyProfiles: [(id: String, profile: StrategyProfile)] {
    strategies.map { ($0.id, profiles[$0.id] ?? StrategyProfile()) }
  }
}
