import Engine

/// Formats every diff as the stdout writer would (the cost a real run pays) and counts the
/// bytes; with `measureFull`, also what full per-cycle match lists would have cost. That
/// bookkeeping is the bench's, not the engine's, so timed runs leave it off.
final class MeasuringSink: DiffSink {
  var diffBytes = 0
  var fullBytes = 0
  var measureFull = false
  private var matches: [String: Set<String>] = [:]
  private var lastPrice: [String: Double] = [:]
  private var buffer: [UInt8] = []
  /// A diff of this run, the starting value of the full-list rows: `ResolvedDiff` has no
  /// public initializer, and every field of a row is set before it is written.
  private var rowTemplate: ResolvedDiff?

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
    if rowTemplate == nil { rowTemplate = diffs.first }
    // No diff yet means no match yet: the full list is empty.
    guard var row = rowTemplate else { return }
    buffer.removeAll(keepingCapacity: true)
    for (strategy, symbols) in matches {
      for symbol in symbols {
        row.strategy = strategy
        row.symbol = symbol
        row.isEnter = true
        row.price = lastPrice[symbol] ?? 0
        row.info = nil
        JSONLinesWriter.append(row, cycle: cycle, time: time, to: &buffer)
      }
    }
    fullBytes += buffer.count
  }
}
