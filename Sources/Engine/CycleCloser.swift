import EngineSettings
import Evaluation
import Feeds
import Foundation
import LuaKit
import Support
import Synchronization
import Tracking

#if canImport(Glibc)
  import Glibc
#endif

extension CycleEngine {
  func notifyObservers(_ status: CycleStatus) {
    for observer in cycleObservers { observer(status) }
  }

  /// Evaluates the cycle `cycle` and writes its diffs.
  func closeCycle(_ cycle: Int64) {
    let cpuBegan = MonotonicClock.threadCPUSeconds()
    inlineEvaluateSeconds = 0
    defer {
      closeCPUSeconds += MonotonicClock.threadCPUSeconds() - cpuBegan - inlineEvaluateSeconds
    }
    let began = MonotonicClock.nanos()
    cycleStarted = began
    swapNanos = 0
    lastCalls = []
    lastErrors = []
    let now = (cycle &+ 1) &* Int64(settings.cycleMs)
    applyPendingReload(now: now)
    summary.cycles += 1
    let known = store.symbolCount
    summary.symbolCycles += known
    let count = updates.updateCount
    guard
      count != lastUpdateCount || pendingDeferred || !fullEvaluation.isEmpty
        || !pendingExits.isEmpty
    else {
      // Nothing to evaluate; gated strategies' timers due now still fire.
      var fired: [ResolvedDiff] = []
      var symbols: [Int32] = []
      fireGates(now: now, disabling: [], into: &fired, symbols: &symbols)
      if !fired.isEmpty {
        diffOrder.sort(&fired, symbols: symbols, in: store)
        sink.write(cycle: cycle, time: now, diffs: fired)
        summary.diffs += fired.count
      }
      report(
        cycle, known: known, changed: 0, evaluated: 0, calls: 0, diffs: fired.count, batch: false)
      return
    }
    lastUpdateCount = count
    indices.removeAll(keepingCapacity: true)
    let swapBegan = MonotonicClock.nanos()
    updates.swapAndDrain(into: &indices)
    swapNanos = MonotonicClock.nanos() - swapBegan
    let changed = indices.count
    var toEvaluate: [Int32] = []
    toEvaluate.reserveCapacity(trackingMode == .all ? known : changed)
    pendingDeferred = false
    if trackingMode == .all {
      var changedSet = indices.makeIterator()
      var nextChanged = changedSet.next()
      for s in 0..<Int32(known) {
        let isChanged = nextChanged == s
        if isChanged { nextChanged = changedSet.next() }
        if limiter.allows(s, at: now) {
          toEvaluate.append(s)
        } else if isChanged {
          deferSymbol(s)
        }
      }
    } else {
      for s in indices {
        if limiter.allows(s, at: now) { toEvaluate.append(s) } else { deferSymbol(s) }
      }
    }
    for s in toEvaluate { limiter.recordEvaluation(s, at: now) }
    let batchMode = Double(changed) > settings.batchThreshold * Double(known)

    // Strategies reloaded since the last cycle are evaluated on every symbol, the others on
    // the changed ones; disabled strategies on none.
    let enabled = strategies.indices.filter { !health.isDisabled(strategies[$0].id) }
    let regular = enabled.filter { !fullEvaluation.contains($0) }
    let reloaded = enabled.filter { fullEvaluation.contains($0) }
    fullEvaluation.removeAll()
    var reports = dispatch(
      toEvaluate, strategies: regular.count == strategies.count ? nil : regular,
      batchMode: batchMode)
    if !reloaded.isEmpty {
      reports += dispatch(
        Array(0..<Int32(known)), strategies: reloaded, batchMode: batchMode, reevaluation: true)
    }
    if stopFlag.isRaised, reports.contains(where: \.interrupted) { return }

    var diffs: [DiffRecord] = []
    var calls = 0
    var callsPerStrategy = Array(repeating: 0, count: strategies.count)
    var errors: [Int: StrategyErrors] = [:]
    for r in reports {
      diffs.append(contentsOf: r.diffs)
      calls += r.filterCalls
      for (k, n) in r.callsPerStrategy.enumerated() where k < callsPerStrategy.count {
        callsPerStrategy[k] += n
      }
      recordProfile(r)
      for (k, e) in r.errors {
        errors[k] = errors[k].map { $0.merged(with: e) } ?? e
      }
    }
    let disabling = health.strategiesToDisable(
      calls: callsPerStrategy, errors: errors, ids: strategies.map(\.id),
      limit: settings.maxFailingCycles)
    lastCalls = callsPerStrategy
    lastErrors = strategies.indices.map { errors[$0]?.count ?? 0 }
    let names = store.symbols
    var resolved = pendingExits
    // The symbol index of each resolved diff where known (-1: look the name up to sort).
    var symbolOf = [Int32](repeating: -1, count: resolved.count)
    pendingExits.removeAll()
    resolved.reserveCapacity(resolved.count + diffs.count)
    symbolOf.reserveCapacity(resolved.count + diffs.count)
    for d in diffs where disabling.isEmpty || !disabling.contains(Int(d.strategy)) {
      let k = Int(d.strategy)
      book.set(strategy: k, symbol: d.symbol, matched: d.isEnter)
      var printed = d
      if strategies[k].isGated {
        // The gate decides what is printed: exits now, enters when confirmed.
        guard
          let exit = gates[strategies[k].id]?.result(
            symbol: d.symbol, matched: d.isEnter, price: d.price, info: d.info, now: now)
        else { continue }
        printed = exit
      }
      symbolOf.append(printed.symbol)
      resolved.append(
        ResolvedDiff(
          strategy: strategies[k].id, symbol: names.name(at: printed.symbol),
          isEnter: printed.isEnter, price: printed.price, info: printed.info))
    }
    fireGates(now: now, disabling: disabling, into: &resolved, symbols: &symbolOf)
    for k in disabling.sorted() {
      let exiting = exits(of: k, now: now)
      resolved += exiting
      symbolOf += Array(repeating: -1, count: exiting.count)
      health.disable(strategies[k].id)
      summary.disabledStrategies += 1
      let message = errors[k]?.firstMessage ?? ""
      log(
        "strategy \(strategies[k].id): disabled after \(settings.maxFailingCycles) cycles failing on "
          + "most symbols (last error: \(message)); it stays off until its file changes")
    }
    diffOrder.sort(&resolved, symbols: symbolOf, in: store)
    sink.write(cycle: cycle, time: now, diffs: resolved)
    summary.symbolEvaluations += toEvaluate.count
    summary.filterCalls += calls
    summary.diffs += resolved.count
    if batchMode { summary.batchCycles += 1 }
    reportErrors(errors)
    report(
      cycle, known: known, changed: changed, evaluated: toEvaluate.count, calls: calls,
      diffs: resolved.count, batch: batchMode)
  }

  func deferSymbol(_ symbol: Int32) {
    updates.mark(Int(symbol))
    pendingDeferred = true
    summary.deferred += 1
  }

  func report(
    _ cycle: Int64, known: Int, changed: Int, evaluated: Int, calls: Int, diffs: Int, batch: Bool
  ) {
    guard !cycleObservers.isEmpty else { return }
    notifyObservers(
      CycleStatus(
        cycle: cycle, knownSymbols: known, changedSymbols: changed, evaluatedSymbols: evaluated,
        filterCalls: calls, diffs: diffs, batchMode: batch, trackingMode: trackingMode,
        latencyNanos: MonotonicClock.nanos() - cycleStarted, swapNanos: swapNanos,
        strategyIDs: strategies.map(\.id),
        strategyCalls: lastCalls.isEmpty ? strategies.map { _ in 0 } : lastCalls,
        strategyErrors: lastErrors.isEmpty ? strategies.map { _ in 0 } : lastErrors,
        strategyProfiles: strategies.map { profiles[$0.id] ?? StrategyProfile() },
        totals: summary))
  }

  /// Hands `symbols` to the workers, which take them in chunks (``SymbolQueue``), and waits
  /// for all reports. `strategies`: indices to evaluate (nil: all).
  func dispatch(
    _ symbols: [Int32], strategies: [Int]?, batchMode: Bool, reevaluation: Bool = false
  ) -> [WorkerReport] {
    guard !symbols.isEmpty else { return [] }
    // Chunks: batches in batch mode; else at most `defaultChunk`, and small enough that every
    // worker gets some (4 chunks per worker) when few symbols changed.
    let chunk =
      batchMode
      ? settings.batchSize
      : min(SymbolQueue.defaultChunk, max(1, symbols.count / (4 * workers.count)))
    let queue = SymbolQueue(symbols, chunk: chunk)
    // No more workers than chunks; worker 0 (inline, the cycle thread) always takes part,
    // and runs when its `wait` comes, after the others have their jobs.
    let chunks = (symbols.count + queue.chunk - 1) / queue.chunk
    let used = Array(workers.prefix(max(1, min(workers.count, chunks))))
    for w in used {
      w.send(
        .evaluate(
          WorkerJob(
            queue: queue, batchMode: batchMode, strategies: strategies,
            reevaluation: reevaluation)))
    }
    let reports = used.map { $0.wait() }
    if let first = reports.first { luaMemoryPerWorker = first.luaMemory }
    for r in reports {
      evaluateCPUSeconds += r.cpuSeconds
      if r.onCallerThread { inlineEvaluateSeconds += r.cpuSeconds }
    }
    return reports
  }
}
