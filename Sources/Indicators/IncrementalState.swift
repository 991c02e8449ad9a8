// Incremental (streaming) forms of EMA and RSI for per-cycle caches.
//
// Invariant: after `append`ing x[0], x[1], ..., x[N-1] in order to a fresh
// state, `value` is bit-for-bit `TA.ema(x, period)` / `TA.rsi(x, period)` for
// that same N-element series (same operations in the same order), including
// nil while the series is still too short. (Keep the recurrences in TA.swift
// and here identical; the tests check bit equality.)
//
// Typical use: keep one state per symbol holding every CLOSED candle. For the
// still-forming newest candle call `value(appending:)`, which does not mutate
// the state, so a replaced newest candle costs O(1); once that candle closes,
// `append` it. Appending is O(1). Never append the same candle twice: a state
// cannot remove a value, so rebuild it (O(N)) if older history changes.

/// Streaming TA-Lib EMA(period).
public struct EMAState: Sendable, Equatable, BitwiseCopyable {
  public let period: Int
  /// Number of values appended so far.
  @inlinable public var count: Int { n }
  @usableFromInline var n: Int = 0
  @usableFromInline let k: Double
  @usableFromInline let k1: Double
  /// Running sum while seeding (count < period), the EMA afterwards.
  @usableFromInline var acc: Double = 0

  /// Whether TA-Lib accepts `period` (1...100000).
  @inlinable public static func accepts(period: Int) -> Bool { period >= 1 && period <= maxPeriod }

  /// nil for periods TA-Lib rejects (valid: 1...100000).
  public init?(period: Int) {
    guard Self.accepts(period: period) else { return nil }
    self.period = period
    self.k = 2.0 / Double(period + 1)
    self.k1 = 1.0 - k
  }

  /// Builds the state for a whole series (equivalent to appending each value).
  public init?(period: Int, series: UnsafeBufferPointer<Double>) {
    self.init(period: period)
    for v in series { append(v) }
  }

  /// EMA of everything appended so far, nil until `period` values were appended.
  @inlinable public var value: Double? { n >= period ? acc : nil }

  @inlinable @inline(__always) public mutating func append(_ x: Double) {
    if n < period {
      acc += x
      n += 1
      if n == period { acc /= Double(period) }
    } else {
      acc = acc * k1 + x * k
      n += 1
    }
  }

  /// The EMA the series would have with `x` appended, without changing the state.
  @inlinable @inline(__always) public func value(appending x: Double) -> Double? {
    var s = self
    s.append(x)
    return s.value
  }
}

/// Streaming TA-Lib RSI(period) (Wilder smoothing).
public struct RSIState: Sendable, Equatable, BitwiseCopyable {
  public let period: Int
  /// Number of values appended so far.
  @inlinable public var count: Int { n }
  @usableFromInline var n: Int = 0
  @usableFromInline var prev: Double = 0
  /// Summed gains/losses while seeding (count <= period), Wilder averages afterwards.
  @usableFromInline var gain: Double = 0
  @usableFromInline var loss: Double = 0

  /// Whether TA-Lib accepts `period` (2...100000).
  @inlinable public static func accepts(period: Int) -> Bool { period >= 2 && period <= maxPeriod }

  /// nil for periods TA-Lib rejects (valid: 2...100000).
  public init?(period: Int) {
    guard Self.accepts(period: period) else { return nil }
    self.period = period
  }

  /// Builds the state for a whole series (equivalent to appending each value).
  public init?(period: Int, series: UnsafeBufferPointer<Double>) {
    self.init(period: period)
    for v in series { append(v) }
  }

  /// RSI of everything appended so far, nil until `period + 1` values were appended.
  @inlinable public var value: Double? {
    n > period ? TA.rsiValue(gain: gain, loss: loss) : nil
  }

  @inlinable @inline(__always) public mutating func append(_ x: Double) {
    defer { prev = x; n += 1 }
    if n == 0 { return }
    let d = x - prev
    if n < period {
      if d < 0 { loss -= d } else { gain += d }
    } else if n == period {
      if d < 0 { loss -= d } else { gain += d }
      gain /= Double(period)
      loss /= Double(period)
    } else {
      // Exactly TA.rsi's recurrence (same operations, same order).
      let nd = Double(period)
      let w = Double(period - 1) / nd, inv = 1.0 / nd
      gain = gain * w + max(d, 0) * inv
      loss = loss * w + max(-d, 0) * inv
    }
  }

  /// The RSI the series would have with `x` appended, without changing the state.
  @inlinable @inline(__always) public func value(appending x: Double) -> Double? {
    var s = self
    s.append(x)
    return s.value
  }
}
