import Synchronization

/// What a worker is asked to do; one command at a time.
package enum WorkerCommand: Sendable {
  /// Installs `code`: plugins replaced, strategies whose id is not in `changed` and already
  /// compiled are kept as they are, the others compiled.
  case load(CodeSet, changed: Set<String>)
  case evaluate(WorkerJob)
  case stop
}

/// One cycle's evaluation work for one worker.
package struct WorkerJob: Sendable {
  /// The pass's symbols (ascending read-buffer indices); the worker takes chunks of them.
  package var queue: SymbolQueue
  /// Batch mode: each chunk is a batch; the worker yields between batches.
  package var batchMode: Bool
  /// Strategy indices to evaluate (ascending); nil: all.
  package var strategies: [Int]?
  /// A pass over every symbol for strategies just reloaded: `trigger = "close"` strategies
  /// run whatever closed, and the pass marks no closes.
  package var reevaluation: Bool

  package init(queue: SymbolQueue, batchMode: Bool, strategies: [Int]?, reevaluation: Bool = false)
  {
    self.queue = queue
    self.batchMode = batchMode
    self.strategies = strategies
    self.reevaluation = reevaluation
  }
}

/// Errors of one strategy in one cycle on one worker.
package struct StrategyErrors: Sendable {
  package var count = 0
  package var firstMessage: String
  /// Position in the pass's symbol list of the error `firstMessage` comes from: merging
  /// workers' reports keeps the lowest, so the message reported does not depend on how the
  /// symbols were shared out.
  package var firstPosition = 0

  /// `self` and `other` (another worker's errors of the same strategy) together.
  package func merged(with other: StrategyErrors) -> StrategyErrors {
    var m = other.firstPosition < firstPosition ? other : self
    m.count = count + other.count
    return m
  }
}

/// What a worker reports after a command.
package struct WorkerReport: Sendable {
  package var diffs: [DiffRecord] = []
  package var filterCalls = 0
  package var symbolsEvaluated = 0
  package var batches = 0
  package var errors: [Int: StrategyErrors] = [:]
  /// Filter calls per strategy index.
  package var callsPerStrategy: [Int] = []
  /// Per strategy index, the profiler's timed calls.
  package var callTimes: [CallTimes] = []
  package var compileError: EngineError?
  package var compiled: [StrategyInfo] = []
  package var luaMemory = 0
  /// Set when a stop request cut the cycle short.
  package var interrupted = false
  /// The worker thread's CPU time for an evaluation.
  package var cpuSeconds = 0.0
  /// The command ran on the caller's thread (an inline worker): its CPU time is also in the
  /// caller's.
  package var onCallerThread = false
}
