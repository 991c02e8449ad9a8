/// Defers, never drops: a symbol evaluated less than `minInterval` ms (event time) ago stays
/// marked and is evaluated in a later cycle, with its latest data.
///
/// Used by the cycle thread only.
public struct RateLimiter: Sendable {
  public var minInterval: Int64
  private var lastEvaluated: [Int64] = []

  public init(minInterval: Int64) { self.minInterval = minInterval }

  /// Whether `symbol` may be evaluated at cycle end `now`.
  @inline(__always)
  public func allows(_ symbol: Int32, at now: Int64) -> Bool {
    let s = Int(symbol)
    guard minInterval > 0, s < lastEvaluated.count else { return true }
    let last = lastEvaluated[s]
    return last == .min || now - last >= minInterval
  }

  /// Records that `symbol` was evaluated at `now`.
  @inline(__always)
  public mutating func recordEvaluation(_ symbol: Int32, at now: Int64) {
    let s = Int(symbol)
    if s >= lastEvaluated.count {
      lastEvaluated.append(contentsOf: repeatElement(.min, count: s + 1 - lastEvaluated.count))
    }
    lastEvaluated[s] = now
  }
}
