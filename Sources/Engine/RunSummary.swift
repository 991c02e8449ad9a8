/// Counters of a run, printed as the replay summary and used by tests and benchmarks.
public struct RunSummary: Sendable, Equatable {
  public var linesRead = 0
  public var bytesRead = 0
  public var eventsApplied = 0
  public var linesSkipped = 0
  public var unknownEvents = 0
  public var klinesIgnored = 0
  public var symbolsRejected = 0
  /// Cycles closed (including those with nothing to evaluate).
  public var cycles = 0
  /// Symbols evaluated, summed over cycles (one per symbol per cycle, whatever the number
  /// of strategies).
  public var symbolEvaluations = 0
  /// Known symbols summed over cycles: what `--tracking all` would evaluate.
  public var symbolCycles = 0
  /// Filter calls (one per strategy per evaluable symbol).
  public var filterCalls = 0
  public var batchCycles = 0
  public var diffs = 0
  public var filterErrors = 0
  public var deferred = 0
  /// Hot reloads applied, and strategies disabled for failing.
  public var reloads = 0
  public var disabledStrategies = 0
  public var firstProblems: [String] = []
  public var wallSeconds = 0.0

  public init() {}

  /// Share of symbol evaluations skipped compared with evaluating every known symbol every cycle.
  public var skippedShare: Double {
    symbolCycles == 0 ? 0 : 1 - Double(symbolEvaluations) / Double(symbolCycles)
  }

  /// The summary printed on stderr at the end of a replay.
  public var text: String {
    func pct(_ x: Double) -> String {
      let v = (x * 1000).rounded() / 10
      return "\(v)%"
    }
    var lines: [String] = []
    lines.append(
      "summary: \(eventsApplied) events applied from \(linesRead) lines (\(bytesRead) bytes) in "
        + "\(String(format3(wallSeconds))) s")
    var skipped = "lines skipped: \(linesSkipped)"
    if !firstProblems.isEmpty { skipped += " (first: \(firstProblems.joined(separator: "; ")))" }
    lines.append(skipped)
    lines.append(
      "unknown events: \(unknownEvents), older klines ignored: \(klinesIgnored), "
        + "events of untracked symbols: \(symbolsRejected)")
    lines.append(
      "cycles: \(cycles), batch-mode cycles: \(batchCycles), symbol evaluations: "
        + "\(symbolEvaluations) of \(symbolCycles) symbol-cycles, skipped: \(pct(skippedShare))")
    lines.append(
      "filter calls: \(filterCalls), filter errors: \(filterErrors), diffs: \(diffs), "
        + "deferred by rate limit: \(deferred)")
    if wallSeconds > 0 {
      lines.append(
        "rates: \(Int(Double(eventsApplied) / wallSeconds)) events/s applied, "
          + "\(Int(Double(filterCalls) / wallSeconds)) filter calls/s")
    }
    return lines.map { $0 + "\n" }.joined()
  }

  private func format3(_ x: Double) -> String { "\((x * 1000).rounded() / 1000)" }
}
