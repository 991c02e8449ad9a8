extension Benchmark {
  /// The cost of one strategy (or reference filter), CPU nanoseconds per evaluation, end to end.
  public struct StrategyCost: Sendable, Codable {
    public var id: String
    /// The whole process: feed, cycle thread and workers.
    public var nanosPerEval: Double
    /// Of ``nanosPerEval``: the cycle thread applying the data change.
    public var applyNanosPerEval: Double?
    /// Of ``nanosPerEval``: the worker evaluating.
    public var evaluateNanosPerEval: Double?
    /// Of ``nanosPerEval``: the cycle thread closing cycles (dispatch, diff resolution and
    /// output). The rest of the total is the feed and cycle bookkeeping.
    public var closeNanosPerEval: Double?

    enum CodingKeys: String, CodingKey {
      case id
      case nanosPerEval = "ns_per_eval"
      case applyNanosPerEval = "apply_ns_per_eval"
      case evaluateNanosPerEval = "evaluate_ns_per_eval"
      case closeNanosPerEval = "close_ns_per_eval"
    }
  }

  /// One market of the tracking A/B: CPU milliseconds per cycle with each tracking mode.
  public struct TrackingCost: Sendable, Codable {
    /// Evaluating only the symbols whose data changed.
    public var changedCPUMilliseconds: Double
    /// Evaluating every symbol every cycle.
    public var allCPUMilliseconds: Double
    /// `changed` over `all`.
    public var ratio: Double

    enum CodingKeys: String, CodingKey {
      case changedCPUMilliseconds = "changed_cpu_ms"
      case allCPUMilliseconds = "all_cpu_ms"
      case ratio
    }
  }

  /// What one bench run measured; a section left out with `--only` is nil (and absent from
  /// the JSON). The JSON keys are snake_case (``CodingKeys``); `engine bench --json` prints them.
  public struct Results: Sendable, Codable {
    public var symbols: Int
    /// Cycles per measured run.
    public var cycles: Int
    /// The loaded strategies, each run as three copies (section `strategies`).
    public var strategies: [StrategyCost]?
    /// The `floor` reference filter's cost: what any filter call costs at least.
    public var floorNanosPerEval: Double?
    /// ns per evaluation of the built-in reference filters (``referenceFilters``), by id.
    public var reference: [String: Double]?
    /// The reference filters' costs with their apply/evaluate/close split (ids as in
    /// ``reference``).
    public var referenceCosts: [StrategyCost]?
    /// The reference rows (``measureReferenceRows(_:)``), ns per evaluation:
    /// `native_ticker`, `native_rsi` (a native function per filter) and `lua_args_ticker`,
    /// `lua_args_rsi` (a Lua function called with the numbers as arguments). Measured in the
    /// same run on the same events as the engine, so the two can be compared as a ratio.
    public var baseline: [String: Double]?
    /// The engine's reference filters over the Lua-with-arguments rows, each the median of the
    /// per-repeat ratios: `ticker_vs_lua_args` (`ticker` over `lua_args_ticker`),
    /// `rsi_vs_lua_args_ticker` (`rsi` over `lua_args_ticker`) and `rsi_vs_lua_args` (`rsi`
    /// over `lua_args_rsi`, whose RSI is kept natively, updated once per kline event). The
    /// engine's per-evaluation targets are stated as these ratios, so they hold on any machine.
    public var targetRatios: [String: Double]?
    /// Per reference filter (`floor`, `ticker`, `rsi`), its cost with the per-strategy
    /// profile on over its cost with the profile off, the median of per-repeat ratios (each
    /// pair measured back to back): what the profiler costs.
    public var profilerRatios: [String: Double]?
    /// Tracking A/B by market: `churn_10` (a tenth of the symbols change per cycle) and
    /// `churn_100` (every symbol).
    public var tracking: [String: TrackingCost]?
    /// Evaluations per second with 1 worker and with `workers`, and the speed-up.
    public var scaling: [String: Double]?
    /// Wall milliseconds per cycle with batch mode forced on and off.
    public var batch: [String: Double]?
    /// Parse and apply of Binance JSON, against Foundation's parsers on the same bytes.
    public var ingest: [String: Double]?
    /// Cycle close to last diff written, at 10% churn: `p50`, `p99`, `max`.
    public var latencyMilliseconds: [String: Double]?
    /// Update flags, Lua state and resident set of one engine built in place.
    public var memory: [String: Double]?
    /// Bytes of diffs against full per-cycle match lists, at 10% churn.
    public var resultBytes: [String: Double]?

    enum CodingKeys: String, CodingKey {
      case symbols, cycles, strategies
      case floorNanosPerEval = "floor_ns_per_eval"
      case reference
      case referenceCosts = "reference_costs"
      case baseline
      case targetRatios = "target_ratios"
      case profilerRatios = "profiler_ratios"
      case tracking, scaling, batch, ingest
      case latencyMilliseconds = "latency_ms"
      case memory
      case resultBytes = "result_bytes"
    }
  }
}
