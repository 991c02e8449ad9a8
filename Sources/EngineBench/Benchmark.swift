import Evaluation
import Foundation

/// `engine bench`: measures the engine on a synthetic market. Every figure that is compared
/// with another comes from runs made side by side in the same bench run, so that it is a ratio
/// a noisy shared machine can still compare.
public struct Benchmark {
  public struct Options: Sendable {
    public var strategies: String = "Strategies"
    public var plugins: String = "Plugins"
    public var symbols: Int = 2000
    /// Cycles per measured run.
    public var cycles: Int = 30
    /// Repeats of each per-strategy measurement (the median is kept).
    public var repeats: Int = 3
    public var workers: Int = max(2, ProcessInfo.processInfo.activeProcessorCount)
    /// 1m candles per symbol in the warm-up.
    public var candles: Int = 500
    /// Sections to run (all when empty): see ``Benchmark/sections``.
    public var only: Set<String> = []
    public init() {}
  }

  public let options: Options
  public init(_ options: Options) { self.options = options }

  /// The sections of a bench run (`--only` picks some).
  public static let sections = ["strategies", "tracking", "scaling", "batch", "ingest", "memory"]

  func wants(_ section: String) -> Bool { options.only.isEmpty || options.only.contains(section) }

  /// Runs the sections asked for, calling `progress` with the name of each as it starts.
  public func run(progress: (String) -> Void = { _ in }) throws(EngineError) -> Results {
    let code = try CodeSet.load(strategies: options.strategies, plugins: options.plugins)
    var results = Results(symbols: options.symbols, cycles: options.cycles)
    // Memory first: until the market below exists, the resident set grows by the engine only.
    if wants("memory") {
      progress("memory")
      results.memory = try measureMemory(code)
    }
    // The engine sections share one market, every symbol changing every cycle.
    let needsFull = wants("strategies") || wants("tracking") || wants("scaling") || wants("batch")
    let full = needsFull ? market(churn: 1.0, cycles: options.cycles) : .empty
    if wants("strategies") {
      progress("per-strategy cost")
      try measureStrategies(code, full, into: &results)
    }
    if wants("tracking") {
      progress("tracking A/B")
      try measureTracking(code, full, into: &results)
    }
    if wants("scaling") {
      progress("scaling")
      results.scaling = try measureScaling(code, full)
    }
    if wants("batch") {
      progress("batch mode")
      results.batch = try measureBatch(code, full)
    }
    if wants("ingest") {
      progress("ingest")
      results.ingest = measureIngest()
    }
    return results
  }
}
