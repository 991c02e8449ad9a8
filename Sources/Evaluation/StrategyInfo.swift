/// What the engine learned from a strategy's returned table.
public struct StrategyInfo: Sendable, Equatable {
  public var id: String
  public var path: String
  public var description: String?
  public var timeframes: [String]
  public var minCandles: Int
}
