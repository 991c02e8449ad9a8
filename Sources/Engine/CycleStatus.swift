import EngineSettings
import Evaluation

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
  /// Per strategy (same order), what the profiler measured since the start.
  public var strategyProfiles: [StrategyProfile] = []
  public var totals: RunSummary
}
