import Engine

/// One diff line as the scorer needs it: who, what, when (`time`, the cycle's end in ms) and
/// at which price.
public struct RecordedDiff: Sendable, Equatable {
  public var strategy: String
  public var symbol: String
  public var time: Int64
  public var isEnter: Bool
  public var price: Double

  public init(strategy: String, symbol: String, time: Int64, isEnter: Bool, price: Double) {
    self.strategy = strategy
    self.symbol = symbol
    self.time = time
    self.isEnter = isEnter
    self.price = price
  }
}

/// A diff sink that keeps every diff for scoring, in the order the engine wrote them.
///
/// Put it beside the JSON Lines writer in a `FanOutSink`: the writer's bytes stay exactly
/// those of `engine replay`, and this sink only copies what it is handed. Called on the
/// cycle thread only (see `DiffSink`); read ``diffs`` after the run returned.
public final class SignalRecorder: DiffSink {
  public private(set) var diffs: [RecordedDiff] = []

  public init() {}

  public func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff]) {
    for d in diffs {
      self.diffs.append(
        RecordedDiff(
          strategy: d.strategy, symbol: d.symbol, time: time, isEnter: d.isEnter, price: d.price))
    }
  }
}
