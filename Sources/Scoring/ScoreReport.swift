/// What `engine score` found: per strategy and horizon, how the prices moved after its
/// signals. Every return is a fraction (0.01 is one percent).
public struct ScoreReport: Sendable {
  /// The horizons, shortest first; each strategy's ``StrategyScore/horizons`` follows it.
  public var horizons: [Horizon]
  /// Every loaded strategy (those that never fired too), in id order.
  public var strategies: [StrategyScore]
  /// The replay file's span of event time, ms (nil for a file with no event).
  public var firstEventTime: Int64?
  public var lastEventTime: Int64?

  public init(
    horizons: [Horizon], strategies: [StrategyScore], firstEventTime: Int64? = nil,
    lastEventTime: Int64? = nil
  ) {
    self.horizons = horizons
    self.strategies = strategies
    self.firstEventTime = firstEventTime
    self.lastEventTime = lastEventTime
  }
}

/// One strategy's figures.
public struct StrategyScore: Sendable {
  public var id: String
  /// Enter lines.
  public var signals = 0
  /// Signals the file ends too early to score at the longest horizon (no event at or after
  /// t + h). Each horizon counts its own in ``HorizonScore/open``.
  public var open = 0
  /// Signals that cannot be scored at all: an entry price that is zero or not a number, or
  /// a symbol with no ticker price at the signal's time.
  public var skipped = 0
  /// Mean seconds from enter to exit over the matches that ended (matches still open at the
  /// end of the file are left out); nil when none ended.
  public var meanMatchSeconds: Double?
  /// The matches that ended.
  public var endedMatches = 0
  public var horizons: [HorizonScore] = []

  public init(id: String) { self.id = id }
}

/// A strategy's figures at one horizon. The figures are nil when ``n`` is 0.
public struct HorizonScore: Sendable {
  /// Signals scored: the file holds an event at or after t + h.
  public var n = 0
  /// Signals whose horizon the file does not reach.
  public var open = 0
  /// Mean and median of r = p_h / p0 − 1.
  public var mean: Double?
  public var median: Double?
  /// The share of signals with r > 0.
  public var hitRate: Double?
  /// Means over signals of the highest and the lowest ticker price in (t, t + h], relative
  /// to p0 (best and worst excursion).
  public var mfe: Double?
  public var mae: Double?
  /// Mean of r minus the market's equal-weight mean forward return over the same span.
  public var excessMean: Double?
  /// The scored signals, in time order (for the pictures).
  public var samples: [ScoredSignal] = []

  public init() {}
}

/// One scored signal at one horizon.
public struct ScoredSignal: Sendable, Equatable {
  /// The signal's time (the diff's `time`), ms.
  public var time: Int64
  public var symbol: String
  /// r = p_h / p0 − 1.
  public var r: Double
  /// r minus the baseline at (t, h).
  public var excess: Double
  /// Highest and lowest price in (t, t + h] relative to p0, minus 1.
  public var best: Double
  public var worst: Double

  public init(
    time: Int64, symbol: String, r: Double, excess: Double, best: Double, worst: Double
  ) {
    self.time = time
    self.symbol = symbol
    self.r = r
    self.excess = excess
    self.best = best
    self.worst = worst
  }
}
