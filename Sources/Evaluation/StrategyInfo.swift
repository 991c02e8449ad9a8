/// What the engine learned from a strategy's returned table, with its settings applied.
public struct StrategyInfo: Sendable, Equatable {
  public var id: String
  public var path: String
  public var description: String?
  public var timeframes: [String]
  public var minCandles: Int
  /// The params the filter reads (`params.NAME`): the table's defaults with the overrides.
  public var params: [String: ParamValue]
  /// Signal hygiene: seconds of event time a symbol must match before it enters, seconds
  /// after an exit before it may enter again, and when the filter runs.
  public var confirmS: Double
  public var cooldownS: Double
  public var trigger: StrategyTrigger

  public init(
    id: String, path: String, description: String? = nil, timeframes: [String] = [],
    minCandles: Int = 0, params: [String: ParamValue] = [:], confirmS: Double = 0,
    cooldownS: Double = 0, trigger: StrategyTrigger = .change
  ) {
    self.id = id
    self.path = path
    self.description = description
    self.timeframes = timeframes
    self.minCandles = minCandles
    self.params = params
    self.confirmS = confirmS
    self.cooldownS = cooldownS
    self.trigger = trigger
  }

  /// Whether the engine gates this strategy's signals (confirmation or cooldown).
  public var isGated: Bool { confirmS > 0 || cooldownS > 0 }
}
