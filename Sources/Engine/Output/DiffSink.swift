import Support
import Evaluation
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A diff ready to print: names resolved.
public struct ResolvedDiff: Sendable, Equatable {
  public var strategy: String
  public var symbol: String
  public var isEnter: Bool
  public var price: Double
  public var info: DiffInfo?

  public init(strategy: String, symbol: String, isEnter: Bool, price: Double, info: DiffInfo?) {
    self.strategy = strategy
    self.symbol = symbol
    self.isEnter = isEnter
    self.price = price
    self.info = info
  }
}

/// Where a cycle's diffs go. Called on the cycle thread only.
public protocol DiffSink: AnyObject {
  /// `diffs` are already ordered by strategy id, then symbol (byte order).
  func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff])
}

/// Sends every cycle's diffs to several sinks, in order (stdout first, then e.g. webhooks).
public final class FanOutSink: DiffSink {
  public let sinks: [DiffSink]
  public init(_ sinks: [DiffSink]) { self.sinks = sinks }
  public func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff]) {
    for s in sinks { s.write(cycle: cycle, time: time, diffs: diffs) }
  }
}
