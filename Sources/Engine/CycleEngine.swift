import Feeds
import Foundation
import LuaKit
import Synchronization
import Tracking
import Support
import Evaluation
import EngineSettings

#if canImport(Glibc)
  import Glibc
#endif

/// Status of one closed cycle, for the live status line and metrics.
public struct CycleStatus: Sendable {
  public var cycle: Int64
  public var knownSymbols: Int
  public var changedSymbols: Int
  public var evaluatedSymbols: Int
  public var filterCalls: Int
  public var diffs: Int
  public var batchMode: Bool
  /// Tracking mode the cycle ran in.
  public var trackingMode: TrackingMode = .changed
  /// From the start of the cycle's close to its last diff written, in nanoseconds.
  public var latencyNanos: UInt64 = 0
  /// Time to swap the update bit set's halves and drain the read half, in nanoseconds.
  public var swapNanos: UInt64 = 0
  /// Strategy ids, and per strategy this cycle's filter calls and errors (same order).
  public var strategyIDs: [String] = []
  public var strategyCalls: [Int] = []
  public var strategyErrors: [Int] = []
  public var totals: RunSummary
}

/// The engine: groups feed events into cycles, applies them to the store, and at the end of
/// each cycle hands every worker its share of the changed symbols, then writes the diffs.
///
/// Threads: ``run(feed:)`` runs the cycle loop on the calling thread (the store's single
/// writer); the feed runs on a thread of its own; each worker on its own thread with its Lua
/// state. Call ``requestStop()`` from any thread.
public final class CycleEngine: @unchecked Sendable {  // safe: cycle thread only, see below
  // safe: everything mutable below is touched only by the thread inside `run(feed:)`,
  // except `stopFlag`, `trackingMode` and `ring`, which are thread-safe types.
  public let settings: Settings
  public let store: MarketStore
  public let updates: UpdateBitSet
  public let ring: UpdateRing
  private let stopFlag = StopFlag()
  private let mode: Atomic<Int>
  private let sink: DiffSink
  private let live: Bool
  private let book: MatchBook
  /// The workers' states as the watchdog reaches them from its thread.
  private let probes = WorkerProbes()
  private let watchdog = Mutex<CallWatchdog?>(nil)
  /// Strategy ids in worker order, for the watchdog's reports (read on its thread).
  private let idsForReports = Mutex<[String]>([])
  private var workers: [Worker] = []
  private var strategies: [StrategyInfo] = [] {
    didSet { idsForReports.withLock { [ids = strategies.map(\.id)] in $0 = ids } }
  }
  private var limiter: RateLimiter
  private var summary = RunSummary()
  private var lastUpdateCount: UInt64 = 0
  private var pendingDeferred = false
  private var errorReports: [String: Double] = [:]
  private var rejectedReported = 0
  private var indices: [Int32] = []
  private var code = CodeSet(strategies: [])
  private let pendingReload = Mutex<CodeSet?>(nil)
  /// Reload errors already printed (`id`, source), so a bad save is reported once.
  private var reportedReloadErrors: Set<[String]> = []
  /// Strategies disabled for failing too often, until their file changes.
  private var disabled: Set<String> = []
  private var failingCycles: [String: Int] = [:]
  /// Strategy indices to evaluate on every symbol in the next evaluated cycle (reloaded).
  private var fullEvaluation: Set<Int> = []
  /// Exits of removed or disabled strategies, written with the next cycle's diffs.
  private var pendingExits: [ResolvedDiff] = []

  /// Called after every cycle on the cycle thread (status line, metrics), in the order added.
  private var cycleObservers: [(CycleStatus) -> Void] = []

  /// Calls `observer` after every cycle, on the cycle thread. Add observers before ``run(feed:)``.
  public func addCycleObserver(_ observer: @escaping (CycleStatus) -> Void) {
    cycleObservers.append(observer)
  }

  /// Where the engine's one-line reports go (strategy errors, skipped feed lines, untracked
  /// symbols). Called on the cycle thread. Default: stderr.
  public var log: (String) -> Void = { StandardError.line($0) }

  /// - Parameter live: close cycles on wall-clock time too (live feeds); replay closes them
  ///   on event time only, so it is deterministic.
  public init(settings: Settings, sink: DiffSink, live: Bool) {
    self.settings = settings
    self.sink = sink
    self.live = live
    store = MarketStore(maxSymbols: settings.maxSymbols, maxCandles: settings.maxCandles)
    updates = UpdateBitSet(capacity: settings.maxSymbols)
    ring = UpdateRing(enabled: settings.debugUpdates)
    mode = Atomic(settings.trackingMode == .all ? 1 : 0)
    limiter = RateLimiter(minInterval: Int64(settings.minUpdateIntervalMs))
    book = MatchBook(strategies: 0, symbols: settings.maxSymbols)
  }

  public var trackingMode: TrackingMode {
    get { mode.load(ordering: .relaxed) == 1 ? .all : .changed }
    set { mode.store(newValue == .all ? 1 : 0, ordering: .relaxed) }
  }

  public func requestStop() { stopFlag.raise() }

  public var workerCount: Int {
    settings.workers > 0 ? settings.workers : ProcessInfo.processInfo.activeProcessorCount
  }

  /// Starts the workers and compiles `sources` in each. Throws the first compile error.
  public func start(strategies sources: [StrategySource]) throws(EngineError) {
    try start(code: CodeSet(strategies: sources))
  }

  /// Starts the workers and loads `code` (strategies and plugins) in each. A strategy that
  /// does not compile (or whose chunk fails) is reported as `file:line: message` through
  /// ``log`` and left out; the others run. Throws only when the workers cannot start.
  public func start(code: CodeSet) throws(EngineError) {
    for i in 0..<workerCount {
      // Worker 0 runs on the cycle thread (see `Worker`): it evaluates the symbols whose
      // data that thread has just written, in the same core's cache.
      let w = Worker(
        index: i, store: store, book: book, stop: stopFlag, limits: settings.sandboxLimits,
        inline: i == 0, probes: probes)
      w.launch()
      workers.append(w)
    }
    var loadable = code
    let (failed, infos) = try validate(code.strategies, plugins: code.plugins)
    for s in code.strategies {
      guard let message = failed[s.id] else { continue }
      reportedReloadErrors.insert([s.id, s.source] + code.plugins.map(\.source))
      log("\(message) (strategy not loaded)")
    }
    loadable.strategies.removeAll { failed[$0.id] != nil }
    let all = Set(loadable.strategies.map(\.id))
    // The inline worker 0 loads at the start of `run`, on the cycle thread: its Lua state is
    // then only ever touched by the thread that runs it (`start` may be called on another).
    let threaded = workers.filter { !$0.isInline }
    for w in threaded { w.send(.load(loadable, changed: all)) }
    var firstError: EngineError?
    for w in threaded {
      let r = w.wait()
      if let e = r.compileError, firstError == nil { firstError = e }
      luaMemoryPerWorker = r.luaMemory
    }
    if let firstError {
      shutDownWorkers()
      throw firstError
    }
    // The scratch state compiled the same code: its infos are the workers'.
    strategies = loadable.strategies.compactMap { infos[$0.id] }
    inlineLoad = (loadable, all)
    self.code = loadable
    book.remap(strategies.map { _ in nil })
  }

  /// The first load of the inline worker, done at the start of ``run(feed:)``.
  private var inlineLoad: (CodeSet, Set<String>)?

  /// Runs ``inlineLoad`` on this (the cycle) thread; throws the compile error, if any.
  private func loadInlineWorker() throws(EngineError) {
    guard let (code, changed) = inlineLoad else { return }
    inlineLoad = nil
    for w in workers where w.isInline {
      w.send(.load(code, changed: changed))
      let r = w.wait()
      if let e = r.compileError { throw e }
      luaMemoryPerWorker = r.luaMemory
    }
  }

  /// Compiles `strategies` with `plugins` in a scratch state; returns the failures by id
  /// (`failed`) and the others' infos.
  private func validate(_ strategies: [StrategySource], plugins: [StrategySource])
    throws(EngineError) -> (failed: [String: String], infos: [String: StrategyInfo])
  {
    let scratch = try StrategyRuntime(store: store, limits: settings.sandboxLimits)
    try scratch.setPlugins(plugins)
    var failed: [String: String] = [:]
    var infos: [String: StrategyInfo] = [:]
    for s in strategies {
      do {
        infos[s.id] = try scratch.compile(s).info
      } catch {
        failed[s.id] = error.description
      }
    }
    return (failed, infos)
  }

  /// Asks for `code` to replace the running strategies and plugins at the next cycle
  /// boundary (hot reload). Any thread may call it; the latest request wins.
  public func requestReload(_ code: CodeSet) {
    pendingReload.withLock { $0 = code }
  }

  public var strategyInfos: [StrategyInfo] { strategies }

  /// Runs until the feed ends (replay) or ``requestStop()``. Returns the run's counters.
  public func run(feed: Feed) throws(EngineError) -> RunSummary {
    let began = Date()
    do {
      try loadInlineWorker()
    } catch {
      stopFlag.raise()
      shutDownWorkers()
      throw error
    }
    let queue = FeedQueue()
    let feedThread = Thread { [stopFlag] in feed.run(into: queue, stop: stopFlag) }
    feedThread.name = "engine-feed"
    feedThread.start()
    let watchdog = makeWatchdog()
    watchdog.start()
    self.watchdog.withLock { $0 = watchdog }
    defer {
      stopFlag.raise()
      self.watchdog.withLock { $0 = nil }
      watchdog.stop()
      shutDownWorkers()
    }
    var openCycle: Int64?
    var openLast = Int64.max
    var lastClosed = Int64.min
    var openedAt = 0.0
    let cycleMs = Int64(settings.cycleMs)
    let closeAfter = Double(settings.cycleMs + settings.cycleGraceMs) / 1000
    loop: while !stopFlag.isRaised {
      var timeout = 100
      if live, openCycle != nil {
        timeout = max(0, Int(((openedAt + closeAfter) - MonotonicClock.seconds()) * 1000))
        timeout = min(timeout, 100)
      }
      guard let message = queue.pop(timeoutMs: timeout) else {
        if live, let open = openCycle, MonotonicClock.seconds() >= openedAt + closeAfter {
          closeCycle(open)
          lastClosed = open
          openCycle = nil
        }
        continue
      }
      switch message {
      case .failed(let why):
        summary.wallSeconds = Date().timeIntervalSince(began)
        throw EngineError(why)
      case .end:
        if let open = openCycle { closeCycle(open) }
        break loop
      case .batch(let batch):
        account(batch)
        batch.events.withUnsafeBufferPointer { events in
          guard let base = events.baseAddress else { return }
          let inPlace = store.payloadsInPlace
          var i = 0
          while i < events.count {
            // Apply the run of events that belongs to the open cycle, then close it when an
            // event of a later cycle arrives.
            var j = i
            let applyBegan = MonotonicClock.threadCPUSeconds()
            store.phase.withWritePhase {
              while j < events.count {
                // In the open cycle while the event time is at most the cycle's last
                // millisecond (a compare, not a division per event).
                let event = base + j
                let time = MarketEvent.eventTime(at: event, inPlace: inPlace)
                if openCycle != nil {
                  if time > openLast { break }
                } else {
                  let open = max(Self.floorDiv(time, cycleMs), lastClosed &+ 1)
                  openCycle = open
                  openLast = Self.lastMillisecond(of: open, cycleMs: cycleMs)
                  openedAt = MonotonicClock.seconds()
                }
                apply(at: event)
                j += 1
              }
            }
            applyCPUSeconds += MonotonicClock.threadCPUSeconds() - applyBegan
            i = j
            if i < events.count, let open = openCycle {
              closeCycle(open)
              lastClosed = open
              openCycle = nil
            }
          }
        }
      }
    }
    summary.wallSeconds = Date().timeIntervalSince(began)
    summary.eventsApplied = store.eventsApplied
    summary.klinesIgnored = store.klinesIgnored
    summary.symbolsRejected = store.symbolsRejected
    return summary
  }

  /// The watchdog of this run's filter calls (see ``CallWatchdog``).
  private func makeWatchdog() -> CallWatchdog {
    let store = self.store
    let log = self.reportFromAnyThread
    return CallWatchdog(
      probes: probes, timeoutMs: settings.callTimeoutMs,
      describe: { [self] tag in
        let (k, symbol) = StrategyRuntime.decodeTag(tag)
        let id = idsForReports.withLock { k < $0.count ? $0[k] : "#\(k)" }
        // Names are read in the read phase: no cycle thread writes meanwhile. A call holding
        // a worker keeps the cycle thread out of its write phase, so this does not wait long.
        let name =
          store.phase.withReadPhase(timeoutMs: 200) {
            symbol >= 0 && Int(symbol) < store.symbolCount ? store.symbols.name(at: symbol) : nil
          } ?? nil
        return (id, name ?? "#\(symbol)")
      }, report: log)
  }

  /// Where the watchdog's lines go (any thread). Default: stderr.
  public var reportFromAnyThread: @Sendable (String) -> Void = { StandardError.line($0) }

  /// The filter calls running now (any thread); empty when the engine is not running.
  public func runningCalls() -> [RunningCall] {
    watchdog.withLock { $0 }?.running() ?? []
  }

  /// Stops every running filter call at its next Lua instruction (any thread): for a stop
  /// request that must not wait for a slow call. The cycle it belongs to is not reported.
  public func interruptRunningCalls() {
    watchdog.withLock { $0 }?.interruptAll()
  }

  private func notifyObservers(_ status: CycleStatus) {
    for observer in cycleObservers { observer(status) }
  }

  /// CPU time the cycle thread spent applying events, and the workers evaluating (thread CPU
  /// time, summed over workers): where a run's time goes (`engine bench` splits its
  /// per-evaluation cost with them). Read on the cycle thread (e.g. in a cycle observer).
  public private(set) var applyCPUSeconds = 0.0
  public private(set) var evaluateCPUSeconds = 0.0
  /// CPU time the cycle thread spent closing cycles (dispatch, diffs, sinks), workers excluded
  /// (also the inline worker's evaluation on this thread).
  public private(set) var closeCPUSeconds = 0.0
  /// CPU time of the inline worker's evaluations in the cycle being closed.
  private var inlineEvaluateSeconds = 0.0

  private func account(_ batch: FeedBatch) {
    summary.linesRead += batch.lines
    summary.bytesRead += batch.bytes
    summary.linesSkipped += batch.skipped
    summary.unknownEvents += batch.unknown
    for p in batch.problems {
      let text = "line \(p.line): \(p.message)"
      summary.firstProblems.append("line \(p.line)")
      log("feed: skipped \(text)")
    }
  }

  @inline(__always)
  private func apply(at event: UnsafePointer<MarketEvent>) {
    switch store.apply(at: event) {
    case .success(.changed(let symbol)):
      updates.mark(Int(symbol))
      if ring.isEnabled {
        let e = event.pointee
        let kind: UpdateRing.Kind
        if case .kline = e { kind = .kline } else { kind = .ticker }
        ring.record(symbol: e.symbol, time: e.eventTime, kind: kind)
      }
    case .success(.ignored):
      let e = event.pointee
      ring.record(symbol: e.symbol, time: e.eventTime, kind: .ignored)
    case .failure(let error):
      if rejectedReported < 5 {
        rejectedReported += 1
        log("store: \(error)")
      }
    }
  }

  /// Evaluates the cycle `cycle` and writes its diffs.
  private func closeCycle(_ cycle: Int64) {
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
    applyPendingReload()
    summary.cycles += 1
    let now = (cycle &+ 1) &* Int64(settings.cycleMs)
    let known = store.symbolCount
    summary.symbolCycles += known
    let count = updates.updateCount
    guard
      count != lastUpdateCount || pendingDeferred || !fullEvaluation.isEmpty
        || !pendingExits.isEmpty
    else {
      report(cycle, known: known, changed: 0, evaluated: 0, calls: 0, diffs: 0, batch: false)
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
    let enabled = strategies.indices.filter { !disabled.contains(strategies[$0].id) }
    let regular = enabled.filter { !fullEvaluation.contains($0) }
    let reloaded = enabled.filter { fullEvaluation.contains($0) }
    fullEvaluation.removeAll()
    var reports = dispatch(
      toEvaluate, strategies: regular.count == strategies.count ? nil : regular,
      batchMode: batchMode)
    if !reloaded.isEmpty {
      reports += dispatch(Array(0..<Int32(known)), strategies: reloaded, batchMode: batchMode)
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
      for (k, e) in r.errors {
        errors[k] = errors[k].map { $0.merged(with: e) } ?? e
      }
    }
    let disabling = strategiesToDisable(calls: callsPerStrategy, errors: errors)
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
      book.set(strategy: Int(d.strategy), symbol: d.symbol, matched: d.isEnter)
      symbolOf.append(d.symbol)
      resolved.append(
        ResolvedDiff(
          strategy: strategies[Int(d.strategy)].id, symbol: names.name(at: d.symbol),
          isEnter: d.isEnter, price: d.price, info: d.info))
    }
    for k in disabling.sorted() {
      let exiting = exits(of: k)
      resolved += exiting
      symbolOf += Array(repeating: -1, count: exiting.count)
      disabled.insert(strategies[k].id)
      summary.disabledStrategies += 1
      let message = errors[k]?.firstMessage ?? ""
      log(
        "strategy \(strategies[k].id): disabled after \(settings.maxFailingCycles) cycles failing on "
          + "most symbols (last error: \(message)); it stays off until its file changes")
    }
    sortDiffs(&resolved, symbols: symbolOf)
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

  /// Orders diffs by strategy id, then symbol, in byte order (CONTRACT §5). Symbols compare
  /// by a rank computed once per new symbol rather than by their names each time.
  private func sortDiffs(_ diffs: inout [ResolvedDiff], symbols: [Int32]) {
    guard diffs.count > 1 else { return }
    let known = store.symbolCount
    if symbolRank.count != known {
      let names = store.symbols.names
      let order = (0..<known).sorted { names[$0].utf8.lexicographicallyPrecedes(names[$1].utf8) }
      symbolRank = [Int32](repeating: 0, count: known)
      rankByName = [:]
      for (rank, s) in order.enumerated() {
        symbolRank[s] = Int32(rank)
        rankByName[names[s]] = Int32(rank)
      }
    }
    // Strategy ids: a few distinct ones per cycle, ranked once (comparing ids per pair of
    // diffs, byte by byte, was most of this sort in profiles).
    var ids: [String] = []
    var idOfDiff = [Int](repeating: 0, count: diffs.count)
    for (i, d) in diffs.enumerated() {
      if let k = ids.firstIndex(of: d.strategy) {
        idOfDiff[i] = k
      } else {
        idOfDiff[i] = ids.count
        ids.append(d.strategy)
      }
    }
    var idRank = [Int](repeating: 0, count: ids.count)
    for (rank, k) in ids.indices.sorted(by: { ids[$0].utf8.lexicographicallyPrecedes(ids[$1].utf8) }
    )
    .enumerated() {
      idRank[k] = rank
    }
    let keys = diffs.indices.map { i in
      let s = i < symbols.count ? Int(symbols[i]) : -1
      let rank = s >= 0 && s < symbolRank.count ? symbolRank[s] : rankByName[diffs[i].symbol]
      return (idRank[idOfDiff[i]], rank ?? Int32.max, i)
    }
    let order = diffs.indices.sorted { keys[$0] < keys[$1] }
    diffs = order.map { diffs[$0] }
  }

  private var symbolRank: [Int32] = []
  private var rankByName: [String: Int32] = [:]

  /// Strategy indices that failed on more than half their calls for `max_failing_cycles`
  /// cycles in a row, counting this one.
  private func strategiesToDisable(calls: [Int], errors: [Int: StrategyErrors]) -> Set<Int> {
    let limit = settings.maxFailingCycles
    guard limit > 0 else { return [] }
    var result: Set<Int> = []
    for (k, n) in calls.enumerated() where n > 0 {
      let id = strategies[k].id
      if (errors[k]?.count ?? 0) * 2 > n {
        failingCycles[id, default: 0] += 1
        if failingCycles[id, default: 0] >= limit { result.insert(k) }
      } else {
        failingCycles[id] = 0
      }
    }
    return result
  }

  /// `exit` diffs for every symbol strategy `k` matches, clearing its matches.
  private func exits(of k: Int) -> [ResolvedDiff] {
    let id = strategies[k].id
    return book.matches(strategy: k).map { symbol in
      book.set(strategy: k, symbol: symbol, matched: false)
      return ResolvedDiff(
        strategy: id, symbol: store.symbols.name(at: symbol), isEnter: false,
        price: store.ticker(symbol).fields.price, info: nil)
    }
  }

  /// Hot reload at a cycle boundary: compiles what changed in a scratch state first, keeps
  /// the old version of anything that fails (reporting `file:line: message` once), swaps the
  /// rest into every worker, and schedules the changed strategies for evaluation on every
  /// symbol. Removed strategies exit every symbol they matched.
  private func applyPendingReload() {
    guard
      let next = pendingReload.withLock({ p -> CodeSet? in
        defer { p = nil }
        return p
      })
    else { return }
    let old = code
    let oldByID = Dictionary(old.strategies.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    let pluginsChanged = next.plugins != old.plugins
    let candidates = next.strategies.filter {
      pluginsChanged || oldByID[$0.id]?.source != $0.source
    }
    let failed: [String: String]
    do {
      failed = try validate(candidates, plugins: next.plugins).failed
    } catch {
      log("reload: \(error)")
      return
    }
    for s in candidates where failed[s.id] != nil {
      let key = [s.id, s.source] + next.plugins.map(\.source)
      if !reportedReloadErrors.contains(key) {
        reportedReloadErrors.insert(key)
        log("\(failed[s.id] ?? "") (the previous version keeps running)")
      }
    }
    var effective = next
    if pluginsChanged && !failed.isEmpty {
      log(
        "reload: plugin change refused: it breaks \(failed.keys.sorted().joined(separator: ", "))")
      effective.plugins = old.plugins
      effective.strategies = next.strategies.compactMap { s in
        failed[s.id] == nil && oldByID[s.id]?.source == s.source ? s : oldByID[s.id]
      }
      // Strategies whose own source changed are tried again with the old plugins next time.
      if effective == old { return }
    } else {
      effective.strategies = next.strategies.compactMap { s in
        failed[s.id] == nil ? s : oldByID[s.id]
      }
    }
    let changed = Set(
      effective.strategies.filter {
        pluginsChanged && effective.plugins == next.plugins || oldByID[$0.id]?.source != $0.source
      }
      .map(\.id))
    let removed = old.strategies.map(\.id).filter { id in
      !effective.strategies.contains { $0.id == id }
    }
    guard !changed.isEmpty || !removed.isEmpty || effective.plugins != old.plugins else { return }

    for w in workers { w.send(.load(effective, changed: changed)) }
    var compiled: [StrategyInfo]?
    for w in workers {
      let r = w.wait()
      if let e = r.compileError {
        log("reload: worker \(w.index): \(e)")
      } else if w.index == 0 {
        compiled = r.compiled
      }
    }
    guard let compiled else { return }
    for id in removed {
      if let k = strategies.firstIndex(where: { $0.id == id }) { pendingExits += exits(of: k) }
    }
    let oldIndex = Dictionary(
      strategies.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
    book.remap(compiled.map { oldIndex[$0.id] })
    strategies = compiled
    code = effective
    for id in changed {
      disabled.remove(id)
      failingCycles[id] = nil
    }
    fullEvaluation = Set(strategies.indices.filter { changed.contains(strategies[$0].id) })
    var parts: [String] = []
    let added = changed.filter { oldByID[$0] == nil }.sorted()
    let updated = changed.filter { oldByID[$0] != nil }.sorted()
    if !added.isEmpty { parts.append("added \(added.joined(separator: ", "))") }
    if !updated.isEmpty { parts.append("reloaded \(updated.joined(separator: ", "))") }
    if !removed.isEmpty { parts.append("removed \(removed.joined(separator: ", "))") }
    if effective.plugins != old.plugins { parts.append("plugins updated") }
    summary.reloads += 1
    log("reload: " + parts.joined(separator: "; "))
  }

  private func deferSymbol(_ symbol: Int32) {
    updates.mark(Int(symbol))
    pendingDeferred = true
    summary.deferred += 1
  }

  private func report(
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
        totals: summary))
  }

  private var cycleStarted: UInt64 = 0
  private var swapNanos: UInt64 = 0
  private var lastCalls: [Int] = []
  private var lastErrors: [Int] = []

  /// Hands `symbols` to the workers, which take them in chunks (``SymbolQueue``), and waits
  /// for all reports. `strategies`: indices to evaluate (nil: all).
  private func dispatch(_ symbols: [Int32], strategies: [Int]?, batchMode: Bool) -> [WorkerReport] {
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
      w.send(.evaluate(WorkerJob(queue: queue, batchMode: batchMode, strategies: strategies)))
    }
    let reports = used.map { $0.wait() }
    if let first = reports.first { luaMemoryPerWorker = first.luaMemory }
    for r in reports {
      evaluateCPUSeconds += r.cpuSeconds
      if r.onCallerThread { inlineEvaluateSeconds += r.cpuSeconds }
    }
    return reports
  }

  /// One line per failing strategy, at most every 10 s per strategy.
  private func reportErrors(_ errors: [Int: StrategyErrors]) {
    guard !errors.isEmpty else { return }
    let now = MonotonicClock.seconds()
    for (k, e) in errors.sorted(by: { $0.key < $1.key }) {
      summary.filterErrors += e.count
      let id = strategies[k].id
      if let last = errorReports[id], now - last < 10 { continue }
      errorReports[id] = now
      log(
        "strategy \(id): \(e.firstMessage) (failed on \(e.count) symbol\(e.count == 1 ? "" : "s") "
          + "this cycle; counts as no match; next report of this strategy in 10 s at the earliest)")
    }
  }

  private func shutDownWorkers() {
    for w in workers { w.send(.stop) }
    for w in workers { _ = w.wait() }
    workers.removeAll()
  }

  /// Lua memory of one worker state, in bytes (sampled at the last command).
  public private(set) var luaMemoryPerWorker = 0

  /// The last event time (ms) of cycle `cycle`, saturating at `Int64.max`.
  static func lastMillisecond(of cycle: Int64, cycleMs: Int64) -> Int64 {
    let last = Int128(cycle) * Int128(cycleMs) + Int128(cycleMs - 1)
    return Int64(clamping: last)
  }

  static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
  }
}
