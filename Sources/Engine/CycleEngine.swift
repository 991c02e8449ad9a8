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

/// The engine: groups feed events into cycles, applies them to the store, and at the end of
/// each cycle hands every worker its share of the changed symbols, then writes the diffs.
///
/// Threads: ``run(feed:)`` runs the cycle loop on the calling thread (the store's single
/// writer); the feed runs on a thread of its own; each worker on its own thread with its Lua
/// state. Call ``requestStop()`` from any thread.

public final class CycleEngine: @unchecked Sendable {  // safe: cycle thread only, see below
  // safe: everything mutable below is touched only by the thread inside `run(feed:)` (and,
  // before it, by the one that calls `start`), except the `Mutex`es, `stopFlag`, `mode` and
  // `ring`, which are thread-safe types.

  // MARK: Configuration and the market

  public let settings: Settings
  public let store: MarketStore
  public let updates: UpdateBitSet
  public let ring: UpdateRing
  let sink: DiffSink
  /// Live feeds also close cycles on wall-clock time; replay only on event time.
  let live: Bool
  let stopFlag = StopFlag()
  /// The tracking mode (0 changed, 1 all), switchable from any thread.
  let mode: Atomic<Int>

  // MARK: Workers and strategies

  var workers: [Worker] = []
  /// The inline worker's first load, done at the start of ``run(feed:)`` on the cycle thread.
  var inlineLoad: (CodeSet, Set<String>)?
  /// The loaded strategies and plugins, and the strategies' infos in worker order.
  var code = CodeSet(strategies: [])
  var strategies: [StrategyInfo] = [] {
    didSet { idsForReports.withLock { [ids = strategies.map(\.id)] in $0 = ids } }
  }
  /// Each strategy's filter results (for a gated strategy, not yet its printed matches).
  let book: MatchBook
  /// Per symbol, the closed candles it had when last evaluated (`trigger = "close"`).
  let closeMarks: CloseMarks
  /// The signal hygiene of gated strategies (`confirm_s`, `cooldown_s`), by id.
  var gates: [String: SignalGate] = [:]
  /// Per strategy id, what the profiler measured so far.
  var profiles: [String: StrategyProfile] = [:]

  // MARK: The cycle being closed

  var limiter: RateLimiter
  var lastUpdateCount: UInt64 = 0
  /// Symbols the rate limit deferred to a later cycle are waiting.
  var pendingDeferred = false
  /// The drained read-buffer indices (reused).
  var indices: [Int32] = []
  /// Strategy indices to evaluate on every symbol in the next evaluated cycle (reloaded).
  var fullEvaluation: Set<Int> = []
  /// Exits of removed or disabled strategies, written with the next cycle's diffs.
  var pendingExits: [ResolvedDiff] = []
  var diffOrder = DiffOrder()

  // MARK: Health, reload and reports

  /// Failing strategies: which are disabled, and when each was last reported.
  var health = StrategyHealthState()
  /// A reload asked for from any thread, applied at the next cycle boundary.
  let pendingReload = Mutex<CodeSet?>(nil)
  /// Reloads that apply when a given cycle closes (`FeedMessage.cycle` input), by cycle id.
  let scheduledReloads = Mutex<[Int64: CodeSet]>([:])
  /// The `strategy.*` settings in force (a live config change replaces them).
  let strategySettings: Mutex<[String: SettingsRawValue]>
  /// Reload errors already printed (`id`, source), so a bad save is reported once.
  var reportedReloadErrors: Set<[String]> = []
  var rejectedReported = 0
  var cycleObservers: [(CycleStatus) -> Void] = []

  /// Where the engine's one-line reports go (strategy errors, skipped feed lines, untracked
  /// symbols). Called on the cycle thread. Default: stderr.
  public var log: (String) -> Void = { StandardError.line($0) }
  /// Whether workers time calls for the per-strategy profile; set before ``start(code:)``.
  /// Off only in the benchmark, to measure what the profile costs.
  package var profiling = true
  /// Where the watchdog's lines go (any thread). Default: stderr.
  public var reportFromAnyThread: @Sendable (String) -> Void = { StandardError.line($0) }

  // MARK: Supervising filter calls

  /// The workers' states as the watchdog reaches them from its thread.
  let probes = WorkerProbes()
  let watchdog = Mutex<CallWatchdog?>(nil)
  /// Strategy ids in worker order, for the watchdog's reports (read on its thread).
  let idsForReports = Mutex<[String]>([])

  // MARK: Counters

  var summary = RunSummary()
  /// CPU time the cycle thread spent applying events, and the workers evaluating (thread CPU
  /// time, summed over workers): where a run's time goes (`engine bench` splits its
  /// per-evaluation cost with them). Read on the cycle thread (e.g. in a cycle observer).
  public internal(set) var applyCPUSeconds = 0.0
  public internal(set) var evaluateCPUSeconds = 0.0
  /// CPU time the cycle thread spent closing cycles (dispatch, diffs, sinks), workers excluded
  /// (also the inline worker's evaluation on this thread).
  public internal(set) var closeCPUSeconds = 0.0
  /// CPU time of the inline worker's evaluations in the cycle being closed.
  var inlineEvaluateSeconds = 0.0
  /// The cycle being closed: when its close began, its buffer swap's time, and per strategy
  /// its filter calls and errors.
  var cycleStarted: UInt64 = 0
  var swapNanos: UInt64 = 0
  var lastCalls: [Int] = []
  var lastErrors: [Int] = []

  /// Calls `observer` after every cycle, on the cycle thread. Add observers before ``run(feed:)``.
  public func addCycleObserver(_ observer: @escaping (CycleStatus) -> Void) {
    cycleObservers.append(observer)
  }

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
    closeMarks = CloseMarks(symbols: settings.maxSymbols)
    strategySettings = Mutex(settings.sectionValues["strategy"] ?? [:])
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
        index: i, store: store, book: book, closeMarks: closeMarks, stop: stopFlag,
        limits: settings.sandboxLimits, inline: i == 0, probes: probes, profiling: profiling)
      w.launch()
      workers.append(w)
    }
    var loadable = code
    let (failed, infos) = try validate(code.strategies, plugins: code.plugins)
    // A strategy that does not compile is left out; a wrong setting for one stops the start.
    if let wrong = code.strategies.compactMap({ failed[$0.id] }).first(where: \.isConfiguration) {
      shutDownWorkers()
      throw wrong
    }
    for s in code.strategies {
      guard let message = failed[s.id]?.description else { continue }
      reportedReloadErrors.insert([s.id, s.source, "\(s.config)"] + code.plugins.map(\.source))
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
    syncGates()
  }

  /// Runs ``inlineLoad`` on this (the cycle) thread; throws the compile error, if any.
  func loadInlineWorker() throws(EngineError) {
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
  func validate(_ strategies: [StrategySource], plugins: [StrategySource])
    throws(EngineError) -> (failed: [String: EngineError], infos: [String: StrategyInfo])
  {
    let scratch = try StrategyRuntime(store: store, limits: settings.sandboxLimits)
    try scratch.setPlugins(plugins)
    var failed: [String: EngineError] = [:]
    var infos: [String: StrategyInfo] = [:]
    for s in strategies {
      do {
        infos[s.id] = try scratch.compile(s).info
      } catch {
        failed[s.id] = error
      }
    }
    return (failed, infos)
  }

  public var strategyInfos: [StrategyInfo] { strategies }

  func shutDownWorkers() {
    for w in workers { w.send(.stop) }
    for w in workers { _ = w.wait() }
    workers.removeAll()
  }

  /// Lua memory of one worker state, in bytes (sampled at the last command).
  public internal(set) var luaMemoryPerWorker = 0
}
