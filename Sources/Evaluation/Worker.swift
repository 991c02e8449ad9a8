import CLua
import CLuaHost
import Dispatch
import Foundation
import LuaKit
import Synchronization
import Tracking
import Support

/// One Lua state (every strategy compiled in it) for its whole life, and the thread that
/// runs it.
///
/// The cycle thread hands it a command and waits for the report; the two semaphores order
/// every access to `command`/`report`, so they are never touched by both threads at once.
///
/// An *inline* worker (the engine makes worker 0 one) has no thread of its own: the caller of
/// ``wait()`` (the cycle thread) runs the command, after handing the other workers theirs, so
/// it evaluates its share while they evaluate theirs. Why: the cycle thread has just written
/// the data of the symbols it then evaluates; on another core every one of those cache lines
/// must first travel across, and the worker's loads miss on lines the cycle thread has just
/// written. With one worker, no thread hand-off at all.
package final class Worker: @unchecked Sendable {  // safe: semaphore hand-off, see below
  // safe: `command` is written by the cycle thread before `start.signal()` and read by the
  // worker after `start.wait()`; `report` is written by the worker before `done.signal()`
  // and read by the cycle thread after `done.wait()`. `runtime` and `setupError` are used
  // only by whichever thread runs the command (the worker's own, or for an inline worker
  // the one thread that calls `send`/`wait`), one command at a time.
  package let index: Int
  /// Runs commands on the thread calling ``wait()`` (see the type's comment).
  package let isInline: Bool
  private let store: MarketStore
  private let book: MatchBook
  private let closeMarks: CloseMarks
  private let stopFlag: StopFlag
  private let limits: SandboxLimits
  private let probes: WorkerProbes?
  /// Whether calls are timed for the per-strategy profile (off only to measure its cost).
  private let profiling: Bool
  private let start = DispatchSemaphore(value: 0)
  private let done = DispatchSemaphore(value: 0)
  private var command: WorkerCommand = .stop
  private var report = WorkerReport()
  private var thread: Thread?
  private var runtime: StrategyRuntime?
  private var setupError: EngineError?
  private var started = false

  package init(
    index: Int, store: MarketStore, book: MatchBook, closeMarks: CloseMarks? = nil,
    stop: StopFlag, limits: SandboxLimits, inline: Bool = false, probes: WorkerProbes? = nil,
    profiling: Bool = true
  ) {
    self.index = index
    self.isInline = inline
    self.store = store
    self.book = book
    self.closeMarks = closeMarks ?? CloseMarks(symbols: store.symbols.capacity)
    self.stopFlag = stop
    self.limits = limits
    self.probes = probes
    self.profiling = profiling
  }

  package func launch() {
    guard !isInline else { return }
    let thread = Thread { [self] in self.main() }
    thread.name = "engine-worker-\(index)"
    thread.stackSize = 8 << 20
    self.thread = thread
    thread.start()
  }

  /// Sends a command; pair with ``wait()``.
  package func send(_ command: WorkerCommand) {
    self.command = command
    if !isInline { start.signal() }
  }

  /// Waits for the report of the last command (an inline worker runs it now).
  package func wait() -> WorkerReport {
    if isInline { return handle(command) }
    done.wait()
    let r = report
    report = WorkerReport()
    return r
  }

  private func main() {
    while true {
      start.wait()
      let isStop: Bool
      if case .stop = command { isStop = true } else { isStop = false }
      report = handle(command)
      done.signal()
      if isStop { return }
    }
  }

  #if DEBUG
    /// The thread that first ran a command touching the Lua state.
    private var owner: pthread_t?
  #endif

  /// Debug builds (the tests) check the rule "a Lua state is never touched by another
  /// thread": every command that can touch the state runs on the thread that ran the first.
  @inline(__always)
  private func checkOwner(_ command: WorkerCommand) {
    #if DEBUG
      let stopsNothing: Bool
      if case .stop = command { stopsNothing = runtime == nil } else { stopsNothing = false }
      guard !stopsNothing else { return }
      if let owner {
        assert(
          pthread_equal(owner, pthread_self()) != 0,
          "worker \(index): Lua state used by two threads")
      } else {
        owner = pthread_self()
      }
    #endif
  }

  /// Runs one command on the calling thread (the worker's, or the caller of ``wait()``).
  private func handle(_ command: WorkerCommand) -> WorkerReport {
    var out = WorkerReport()
    out.onCallerThread = isInline
    checkOwner(command)
    switch command {
    case .stop:
      // The Lua state closes on the thread that ran it, after the watchdog lets go of it.
      if runtime != nil { probes?.unregister(index) }
      runtime = nil
      return out
    case .load(let code, let changed):
      if let runtime = startedRuntime() {
        load(code, changed: changed, in: runtime, into: &out)
      } else {
        out.compileError = setupError
      }
    case .evaluate(let job):
      if let runtime = startedRuntime() {
        let began = MonotonicClock.threadCPUSeconds()
        store.phase.withReadPhase { evaluate(job, in: runtime, into: &out) }
        out.cpuSeconds = MonotonicClock.threadCPUSeconds() - began
      }
    }
    if let runtime { out.luaMemory = runtime.memoryInUse }
    return out
  }

  /// The runtime, created on the first command that needs it (on the thread running it).
  private func startedRuntime() -> StrategyRuntime? {
    if !started {
      started = true
      do {
        let created = try StrategyRuntime(store: store, limits: limits)
        probes?.register(index, budget: created.state.lua.budget)
        runtime = created
      } catch {
        setupError = error
      }
    }
    return runtime
  }

  private func load(
    _ code: CodeSet, changed: Set<String>, in runtime: StrategyRuntime, into out: inout WorkerReport
  ) {
    do {
      try runtime.setPlugins(code.plugins)
      var compiled: [StrategyRuntime.Compiled] = []
      for source in code.strategies {
        if !changed.contains(source.id), let existing = runtime.compiled(id: source.id) {
          compiled.append(existing)
        } else {
          compiled.append(try runtime.compile(source))
        }
      }
      runtime.install(compiled)
      out.compiled = compiled.map(\.info)
    } catch {
      out.compileError = error
    }
  }

  private func evaluate(_ job: WorkerJob, in runtime: StrategyRuntime, into out: inout WorkerReport)
  {
    let plan = runtime.makePlan()
    runtime.beginPass()
    let count = plan.filterRefs.count
    if profileTicks.count != count {
      profileTicks = [UInt32](repeating: 0, count: count)
      timeEveryCall = [Bool](repeating: false, count: count)
    }
    var pass = Pass(count: count)
    // Locals for the loop: a stored property of a class is checked for exclusive access at
    // every use, which would cost more than the profiler itself.
    swap(&pass.ticks, &profileTicks)
    defer { swap(&pass.ticks, &profileTicks) }
    // The loop is compiled twice: without signal hygiene its checks fold away, so a pass with
    // none pays nothing for them (the cheapest filters cost little more than the loop).
    if plan.onClose.contains(true) || plan.gated.contains(true) {
      evaluateSymbols(job, in: runtime, plan: plan, pass: &pass, into: &out, WithHygiene.self)
    } else {
      evaluateSymbols(job, in: runtime, plan: plan, pass: &pass, into: &out, NoHygiene.self)
    }
    out.callsPerStrategy = pass.calls
    out.filterCalls = pass.calls.reduce(0, +)
    out.callTimes = pass.callTimes
    for k in 0..<count where pass.callTimes[k].total > 0 {
      timeEveryCall[k] = pass.callTimes[k].trimmedMean >= Self.timeEveryCallAbove
    }
  }

  /// What one evaluation pass counts per strategy index.
  private struct Pass {
    var calls: [Int]
    var callTimes: [CallTimes]
    /// The worker's ``profileTicks``, lent for the pass.
    var ticks: [UInt32] = []

    init(count: Int) {
      calls = [Int](repeating: 0, count: count)
      callTimes = [CallTimes](repeating: CallTimes(), count: count)
    }
  }

  /// Evaluates the job's symbols. `H`: whether any strategy of the plan is gated or runs on
  /// candle closes; without, the plan's `gated` and `onClose` are all false and are not read.
  /// A type rather than a flag so that the optimiser specialises the loop for each.
  private func evaluateSymbols<H: HygieneMode>(
    _ job: WorkerJob, in runtime: StrategyRuntime, plan: StrategyRuntime.Plan,
    pass: inout Pass, into out: inout WorkerReport, _: H.Type
  ) {
    let hygiene = H.isOn
    let selected = job.strategies ?? Array(0..<plan.filterRefs.count)
    let everyCall = timeEveryCall
    let anyOnClose = hygiene && plan.onClose.contains(true)
    let symbols = job.queue.symbols
    var taken = job.queue.take()
    while let chunk = taken {
      for position in chunk {
        let symbol = symbols[position]
        out.symbolsEvaluated += 1
        // No ticker yet: not evaluated, counts as not matching.
        let hasTicker = store.ticker(symbol).hasTicker
        let proxy = hasTicker ? runtime.prepareView(symbol) : LUA_NOREF
        var closedProxy: Int32? = nil
        for k in selected {
          let was = book.isMatched(strategy: k, symbol: symbol)
          let onClose = hygiene && plan.onClose[k]
          let gated = hygiene && plan.gated[k]
          // `trigger = "close"`: the filter runs only when a candle of its timeframes closed
          // since the symbol was last evaluated (or when the strategy was just reloaded);
          // otherwise the symbol keeps its last result.
          if onClose, !job.reevaluation,
            !closeMarks.closedSince(symbol, intervals: plan.intervals[k], store: store)
          {
            continue
          }
          var matched = false
          var info: DiffInfo? = nil
          if hasTicker, runtime.isEvaluable(k, symbol: symbol, plan: plan) {
            var view = proxy
            if onClose {
              if closedProxy == nil { closedProxy = runtime.prepareClosedView(symbol) }
              view = closedProxy ?? proxy
            }
            pass.calls[k] += 1
            // The profiler times one call in `profileEvery` of each strategy (two clock
            // reads per timed call), and every call of one whose calls are long enough that
            // the reads cost next to nothing: an estimate of its time per call.
            var timed = false
            if profiling {
              pass.ticks[k] &+= 1
              timed = everyCall[k] || pass.ticks[k] % Self.profileEvery == 0
            }
            let began = timed ? MonotonicClock.nanos() : 0
            let outcome = runtime.call(
              plan.filterRefs[k], callClass: plan.callClasses[k], envGuard: plan.guards[k],
              proxy: view, wantsInfo: !was || gated,
              tag: StrategyRuntime.callTag(strategy: k, symbol: symbol),
              path: runtime.strategies[k].info.path)
            if timed {
              pass.callTimes[k].record(MonotonicClock.nanos() &- began)
            }
            switch outcome {
            case .match(let i):
              matched = true
              info = i
            case .noMatch, .notEvaluable:
              break
            case .failed(let message):
              // A call failing while the engine stops may have been stopped for it: the
              // cycle is then not reported at all.
              if stopFlag.isRaised { out.interrupted = true }
              if out.errors[k] == nil {
                out.errors[k] = StrategyErrors(
                  count: 1, firstMessage: message, firstPosition: position)
              } else {
                out.errors[k]?.count += 1
              }
            }
          }
          // A change of the filter's result; for a gated strategy every match too (the gate
          // enters it later, at the latest evaluation's price and info).
          if matched != was || (matched && gated) {
            out.diffs.append(
              DiffRecord(
                strategy: Int32(k), symbol: symbol, isEnter: matched,
                price: store.ticker(symbol).fields.price, info: matched ? info : nil))
          }
        }
        if anyOnClose, !job.reevaluation { closeMarks.mark(symbol, store: store) }
      }
      taken = job.queue.take()
      if job.batchMode {
        out.batches += 1
        if taken != nil {
          // Between batches: let other threads run, and honour a stop request.
          sched_yield()
          if stopFlag.isRaised {
            out.interrupted = true
            break
          }
        }
      }
    }
  }

  /// One call in this many of each strategy is timed (see ``evaluate(_:in:into:)``).
  package static let profileEvery: UInt32 = 64
  /// Calls this long (ns) or longer are all timed: the clock reads are then a small part.
  package static let timeEveryCallAbove = 5_000.0
  /// Per strategy, calls made by this worker (wrapping), for the profiler's sampling, and
  /// whether its calls are long enough to time each.
  private var profileTicks: [UInt32] = []
  private var timeEveryCall: [Bool] = []
}

/// Whether a worker's loop handles signal hygiene (see `Worker.evaluateSymbols`).
private protocol HygieneMode { static var isOn: Bool { get } }
private enum WithHygiene: HygieneMode { static var isOn: Bool { true } }
private enum NoHygiene: HygieneMode { static var isOn: Bool { false } }
