/// One symbol's ticker prices (`c` of every 24h ticker and mini ticker), in event-time order.
///
/// Invariant: `times` is non-decreasing and `prices[i]` is the price of the event at
/// `times[i]`; events of equal time keep their order in the file, so "the last price at or
/// before t" is the one the engine would have applied last.
public struct PriceSeries: Sendable {
  public private(set) var times: [Int64] = []
  public private(set) var prices: [Double] = []
  private var ordered = true

  public init() {}

  /// Prices in any order; they are put in event-time order (stable: ties keep their order).
  public init(times: [Int64], prices: [Double]) {
    for (t, p) in zip(times, prices) { append(time: t, price: p) }
    finish()
  }

  var count: Int { times.count }

  mutating func append(time: Int64, price: Double) {
    if let last = times.last, time < last { ordered = false }
    times.append(time)
    prices.append(price)
  }

  /// Restores the time order after appends that broke it (a file whose events are not in
  /// time order, as a recording with backfill can be).
  mutating func finish() {
    guard !ordered else { return }
    let order = times.indices.sorted { (times[$0], $0) < (times[$1], $1) }
    times = order.map { times[$0] }
    prices = order.map { prices[$0] }
    ordered = true
  }

  /// The index of the first price after `time` (`count` when there is none).
  func firstIndex(after time: Int64) -> Int {
    var low = 0
    var high = times.count
    while low < high {
      let mid = (low + high) / 2
      if times[mid] <= time { low = mid + 1 } else { high = mid }
    }
    return low
  }

  /// The last price with event time at or before `time`, or nil when there is none yet.
  public func price(atOrBefore time: Int64) -> Double? {
    let i = firstIndex(after: time)
    return i > 0 ? prices[i - 1] : nil
  }
}
