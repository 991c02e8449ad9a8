import Dispatch
import Feeds
import Foundation
import CLua
import LuaKit
import Tracking

/// What a worker is asked to do; one command at a time.
enum WorkerCommand: Sendable {
  /// Installs `code`: plugins replaced, strategies whose id is not in `changed` and already
  /// compiled are kept as they are, the others compiled.
  case load(CodeSet, changed: Set<String>)
  case evaluate(WorkerJob)
  case stop
}

/// One cycle's evaluation work for one worker.
struct WorkerJob: Sendable {
  /// This worker's share of the read-buffer indices, ascending.
  var symbols: [Int32]
  /// Batch mode: process `batchSize` symbols at a time and yield between batches.
  var batchSize: Int?
  /// Strategy indices to evaluate (ascending); nil: all.
  var strategies: [Int]?
}

/// Errors of one strategy in one cycle on one worker.
struct StrategyErrors: Sendable {
  var count = 0
  var firstMessage: String
}

/// What a worker reports after a command.
struct WorkerReport: Sendable {
  var diffs: [DiffRecord] = []
  var filterCalls = 0
  var symbolsEvaluated = 0
  var batches = 0
  var errors: [Int: StrategyErrors] = [:]
  /// Filter calls per strategy index.
  var callsPerStrategy: [Int] = []
  var compileError: EngineError?
  var compiled: [StrategyInfo] = []
  var luaMemory = 0
  /// Set when a stop request cut the cycle short.
  var interrupted = false
  /// The worker thread's CPU time for an evaluation.
  var cpuSeconds = 0.0
}

/// A thread that owns one Lua state (every strategy compiled in it) for its whole life.
///
/// The cycle thread hands it a command and waits for the report; the two semaphores order
/// every access to `command`/`report`, so they are never touched by both threads at once.
final class Worker: @unchecked Sendable {  // safe: semaphore hand-off, see below
  // safe: `command` is written by the cycle thread before `start.signal()` and read by the
  // worker after `start.wait()`; `report` is written by the worker before `done.signal()`
  // and read by the cycle thread after `done.wait()`. The runtime is created, used and
  // destroyed on the worker thread only.
  let index: Int
  private let store: MarketStore
  private let book: MatchBook
  private let stopFlag: StopFlag
  private let limits: SandboxLimits
  private let start = DispatchSemaphore(value: 0)
  private let done = DispatchSemaphore(value: 0)
  private var command: WorkerCommand = .stop
  private var report = WorkerReport()
  private var thread: Thread?

  init(index: Int, store: MarketStore, book: MatchBook, stop: StopFlag, limits: SandboxLimits) {
    self.index = index
    self.store = store
    self.book = book
    self.stopFlag = stop
    self.limits = limits
  }

  func launch() {
    let thread = Thread { [self] in self.main() }
    thread.name = "engine-worker-\(index)"
    thread.stackSize = 8 << 20
    self.thread = thread
    thread.start()
  }

  /// Sends a command; pair with ``wait()``.
  func send(_ command: WorkerCommand) {
    self.command = command
    start.signal()
  }

  /// Waits for the report of the last command.
  func wait() -> WorkerReport {
    done.wait()
    let r = report
    report = WorkerReport()
    return r
  }

  private func main() {
    var runtime: StrategyRuntime?
    var setupError: EngineError?
    do {
      runtime = try StrategyRuntime(store: store, limits: limits)
    } catch {
      setupError = error
    }
    while true {
      start.wait()
      var out = WorkerReport()
      switch command {
      case .stop:
        done.signal()
        return
      case .load(let code, let changed):
        if let runtime {
          load(code, changed: changed, in: runtime, into: &out)
        } else {
          out.compileError = setupError
        }
      case .evaluate(let job):
        if let runtime {
          let began = MonotonicClock.threadCPUSeconds()
          store.phase.withReadPhase { evaluate(job, in: runtime, into: &out) }
          out.cpuSeconds = MonotonicClock.threadCPUSeconds() - began
        }
      }
      if let runtime { out.luaMemory = runtime.memoryInUse }
      report = out
      done.signal()
    }
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
    let selected = job.strategies ?? Array(0..<plan.filterRefs.count)
    var calls = [Int](repeating: 0, count: plan.filterRefs.count)
    let batchSize = job.batchSize ?? job.symbols.count
    var position = 0
    while position < job.symbols.count {
      let end = min(position + max(1, batchSize), job.symbols.count)
      for symbol in job.symbols[position..<end] {
        out.symbolsEvaluated += 1
        // No ticker yet: not evaluated, counts as not matching.
        let hasTicker = store.ticker(symbol).hasTicker
        let proxy = hasTicker ? runtime.prepareView(symbol) : LUA_NOREF
        for k in selected {
          let was = book.isMatched(strategy: k, symbol: symbol)
          var matched = false
          var info: DiffInfo? = nil
          if hasTicker, runtime.isEvaluable(k, symbol: symbol, plan: plan) {
            calls[k] += 1
            switch runtime.call(
              plan.filterRefs[k], bounded: plan.bounded[k], proxy: proxy, wantsInfo: !was,
              path: runtime.strategies[k].info.path)
            {
            case .match(let i):
              matched = true
              info = i
            case .noMatch, .notEvaluable:
              break
            case .failed(let message):
              if out.errors[k] == nil {
                out.errors[k] = StrategyErrors(count: 1, firstMessage: message)
              } else {
                out.errors[k]?.count += 1
              }
            }
          }
          if matched != was {
            out.diffs.append(
              DiffRecord(
                strategy: Int32(k), symbol: symbol, isEnter: matched,
                price: store.ticker(symbol).fields.price, info: matched ? info : nil))
          }
        }
      }
      position = end
      if job.batchSize != nil {
        out.batches += 1
        if position < job.symbols.count {
          // Between batches: let other threads run, and honour a stop request.
          sched_yield()
          if stopFlag.isRaised {
            out.interrupted = true
            break
          }
        }
      }
    }
    out.callsPerStrategy = calls
    out.filterCalls = calls.reduce(0, +)
  }
}
