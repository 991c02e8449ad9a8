/// The optional second return value of a filter, passed on `enter` events.
public enum DiffInfo: Sendable, Equatable {
  case integer(Int64)
  case number(Double)
  case string(String)
}

/// One change of a strategy's match set, as a worker found it.
public struct DiffRecord: Sendable, Equatable {
  /// Index of the strategy in the id-sorted strategy list.
  public var strategy: Int32
  public var symbol: Int32
  public var isEnter: Bool
  /// The symbol's `s.price` when it was evaluated.
  public var price: Double
  public var info: DiffInfo?

  public init(strategy: Int32, symbol: Int32, isEnter: Bool, price: Double, info: DiffInfo?) {
    self.strategy = strategy
    self.symbol = symbol
    self.isEnter = isEnter
    self.price = price
    self.info = info
  }
}
