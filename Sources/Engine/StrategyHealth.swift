import Evaluation
import Support
import Tracking

/// Which strategies fail too often to keep running, and when each was last reported.
///
/// A strategy failing on more than half its calls for `sandbox.max_failing_cycles` evaluated
/// cycles in a row is disabled until its file changes (its matches exit); errors are
/// reported at most once per ``reportInterval`` per strategy, so a strategy failing on
/// every symbol does not flood the log.
struct StrategyHealthState {
  /// Seconds between two reports of the same strategy's errors.
  static let reportInterval = 10.0
  /// Strategies disabled, by id, until their file changes.
  private(set) var disabled: Set<String> = []
  private var failingCycles: [String: Int] = [:]
  private var lastReport: [String: Double] = [:]

  func isDisabled(_ id: String) -> Bool { disabled.contains(id) }

  /// Counts this cycle's calls and errors per strategy (`ids[k]` is strategy `k`'s id); returns
  /// the strategies to disable now (`limit` failing cycles in a row; 0: never).
  mutating func strategiesToDisable(
    calls: [Int], errors: [Int: StrategyErrors], ids: [String], limit: Int
  ) -> Set<Int> {
    guard limit > 0 else { return [] }
    var result: Set<Int> = []
    for (k, n) in calls.enumerated() where n > 0 {
      let id = ids[k]
      if (errors[k]?.count ?? 0) * 2 > n {
        failingCycles[id, default: 0] += 1
        if failingCycles[id, default: 0] >= limit { result.insert(k) }
      } else {
        failingCycles[id] = 0
      }
    }
    return result
  }

  mutating func disable(_ id: String) { disabled.insert(id) }

  /// A changed file starts its strategy afresh.
  mutating func forgive(_ id: String) {
    disabled.remove(id)
    failingCycles[id] = nil
  }

  /// Whether strategy `id`'s errors may be reported at `now` (monotonic seconds); if so,
  /// the report is counted.
  mutating func mayReport(_ id: String, now: Double) -> Bool {
    if let last = lastReport[id], now - last < Self.reportInterval { return false }
    lastReport[id] = now
    return true
  }
}

extension CycleEngine {
  /// `exit` diffs for every symbol strategy `k` has entered, clearing its matches (`now`:
  /// the cycle's end, for a gated strategy's cooldown).
  func exits(of k: Int, now: Int64) -> [ResolvedDiff] {
    let id = strategies[k].id
    let raw = book.matches(strategy: k)
    for symbol in raw { book.set(strategy: k, symbol: symbol, matched: false) }
    let entered = gates[id]?.exitAll(now: now) ?? raw
    return entered.map { symbol in
      ResolvedDiff(
        strategy: id, symbol: store.symbols.name(at: symbol), isEnter: false,
        price: store.ticker(symbol).fields.price, info: nil)
    }
  }

  /// One line per failing strategy, at most every ``StrategyHealthState/reportInterval``.
  func reportErrors(_ errors: [Int: StrategyErrors]) {
    guard !errors.isEmpty else { return }
    let now = MonotonicClock.seconds()
    for (k, e) in errors.sorted(by: { $0.key < $1.key }) {
      summary.filterErrors += e.count
      let id = strategies[k].id
      guard health.mayReport(id, now: now) else { continue }
      log(
        "strategy \(id): \(e.firstMessage) (failed on \(e.count) symbol\(e.count == 1 ? "" : "s") "
          + "this cycle; counts as no match; next report of this strategy in 10 s at the earliest)")
    }
  }
}
