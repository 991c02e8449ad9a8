/// The timed calls of one strategy: how many fell in each duration bucket and their total,
/// so an estimate can leave out the slowest few. A timed call also counts whatever else ran
/// on the core meanwhile (a preempted thread's call looks thousands of times slower than it
/// is, and on a loaded machine that happens to a noticeable share of long calls), so the time
/// per call is the mean of the timed calls without the slowest ``trimmedShare`` of them. The
/// price: a strategy whose slowest tenth of calls is legitimately slow reads a little cheap.
package struct CallTimes: Sendable, Equatable {
  /// Buckets of about 9% width: bucket `b` holds durations in
  /// [2^(b/8), 2^((b+1)/8)) nanoseconds.
  package static let bucketCount = 256
  /// The share of the slowest timed calls left out of the estimate.
  package static let trimmedShare = 0.1

  package private(set) var counts: [UInt32] = []
  package private(set) var sums: [UInt64] = []
  package private(set) var total = 0

  package init() {}

  @inline(__always)
  static func bucket(_ nanos: UInt64) -> Int {
    guard nanos > 1 else { return 0 }
    let log = 63 - nanos.leadingZeroBitCount
    // The three bits after the leading one refine the octave into eighths.
    let fraction =
      log >= 3 ? Int((nanos >> UInt64(log - 3)) & 7) : Int((nanos << UInt64(3 - log)) & 7)
    return min(Self.bucketCount - 1, log * 8 + fraction)
  }

  @inline(__always)
  package mutating func record(_ nanos: UInt64) {
    if counts.isEmpty {
      counts = [UInt32](repeating: 0, count: Self.bucketCount)
      sums = [UInt64](repeating: 0, count: Self.bucketCount)
    }
    let b = Self.bucket(nanos)
    counts[b] &+= 1
    sums[b] &+= nanos
    total += 1
  }

  package mutating func add(_ other: CallTimes) {
    guard other.total > 0 else { return }
    if counts.isEmpty {
      self = other
      return
    }
    for b in 0..<Self.bucketCount {
      counts[b] &+= other.counts[b]
      sums[b] &+= other.sums[b]
    }
    total += other.total
  }

  /// The mean duration of the timed calls, the slowest ``trimmedShare`` left out (0 when
  /// none was timed).
  package var trimmedMean: Double {
    guard total > 0 else { return 0 }
    let keep = max(1, Int((Double(total) * (1 - Self.trimmedShare)).rounded(.up)))
    var taken = 0
    var sum = 0.0
    for b in 0..<Self.bucketCount where counts[b] > 0 {
      let n = min(Int(counts[b]), keep - taken)
      sum += Double(sums[b]) * Double(n) / Double(counts[b])
      taken += n
      if taken >= keep { break }
    }
    return sum / Double(taken)
  }
}
