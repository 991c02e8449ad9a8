import Indicators
import Testing

private func with<R>(_ a: [Double], _ body: (UnsafeBufferPointer<Double>) -> R) -> R {
  a.withUnsafeBufferPointer(body)
}

private func with4<R>(
  _ h: [Double], _ l: [Double], _ c: [Double], _ v: [Double],
  _ body: (
    UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>,
    UnsafeBufferPointer<Double>
  ) -> R
) -> R {
  h.withUnsafeBufferPointer { h in
    l.withUnsafeBufferPointer { l in
      c.withUnsafeBufferPointer { c in v.withUnsafeBufferPointer { v in body(h, l, c, v) } }
    }
  }
}

/// A deterministic wiggly series (no Foundation needed).
private func series(_ n: Int, base: Double = 100) -> [Double] {
  var x = base, s: UInt64 = 0x9E37_79B9_7F4A_7C15
  return (0..<n).map { _ in
    s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    x += Double(Int64(bitPattern: s >> 11) % 2001 - 1000) / 1000.0
    return x
  }
}

@Suite("Edge cases")
struct EdgeCaseTests {
  let c = series(300)
  var h: [Double] { c.map { $0 + 0.7 } }
  var l: [Double] { c.map { $0 - 0.6 } }
  var v: [Double] { c.indices.map { Double(1000 + ($0 * 37) % 500) } }

  @Test("invalid parameters return nil (TA-Lib's TA_BAD_PARAM ranges)")
  func invalidParameters() {
    with4(h, l, c, v) { h, l, x, v in
      for n in [Int.min, -1, 0, 100_001, Int.max] {
        #expect(TA.sma(x, n) == nil)
        #expect(TA.ema(x, n) == nil)
        #expect(TA.wma(x, n) == nil)
        #expect(TA.roc(x, n) == nil)
        #expect(TA.atr(high: h, low: l, close: x, n) == nil)
        #expect(TA.stoch(high: h, low: l, close: x, fastK: n, slowK: 3, slowD: 3) == nil)
        #expect(TA.stoch(high: h, low: l, close: x, fastK: 5, slowK: n, slowD: 3) == nil)
        #expect(TA.stoch(high: h, low: l, close: x, fastK: 5, slowK: 3, slowD: n) == nil)
        #expect(TA.macd(x, fast: 12, slow: 26, signal: n) == nil)
      }
      // Periods that must be >= 2 in TA-Lib.
      for n in [Int.min, -1, 0, 1, 100_001] {
        #expect(TA.rsi(x, n) == nil)
        #expect(TA.stddev(x, n) == nil)
        #expect(TA.highest(x, n) == nil)
        #expect(TA.lowest(x, n) == nil)
        #expect(TA.bbands(x, n, 2) == nil)
        #expect(TA.adx(high: h, low: l, close: x, n) == nil)
        #expect(TA.mfi(high: h, low: l, close: x, volume: v, n) == nil)
        #expect(TA.cci(high: h, low: l, close: x, n) == nil)
        #expect(TA.willr(high: h, low: l, close: x, n) == nil)
        #expect(TA.macd(x, fast: n, slow: 26, signal: 9) == nil)
        #expect(TA.macd(x, fast: 12, slow: n, signal: 9) == nil)
      }
      for k in [Double.nan, .infinity, -.infinity, 3.1e37, -3.1e37] {
        #expect(TA.bbands(x, 20, k) == nil)
      }
      // Smallest accepted periods work.
      #expect(TA.sma(x, 1) == x.last)
      #expect(TA.ema(x, 1) == x.last)
      #expect(TA.wma(x, 1) == x.last)
      #expect(TA.rsi(x, 2) != nil)
      #expect(TA.macd(x, fast: 2, slow: 2, signal: 1) != nil)
      #expect(TA.stoch(high: h, low: l, close: x, fastK: 1, slowK: 1, slowD: 1) != nil)
    }
  }

  @Test("columns of different lengths return nil")
  func mismatchedColumns() {
    with4(h, Array(l.dropLast()), c, v) { h, l, x, v in
      #expect(TA.atr(high: h, low: l, close: x, 14) == nil)
      #expect(TA.adx(high: h, low: l, close: x, 14) == nil)
      #expect(TA.vwap(high: h, low: l, close: x, volume: v) == nil)
      #expect(TA.stoch(high: h, low: l, close: x, fastK: 5, slowK: 3, slowD: 3) == nil)
      #expect(TA.mfi(high: h, low: l, close: x, volume: v, 14) == nil)
      #expect(TA.cci(high: h, low: l, close: x, 14) == nil)
      #expect(TA.willr(high: h, low: l, close: x, 14) == nil)
    }
    with(c) { x in
      Array(v.dropLast()).withUnsafeBufferPointer { v in #expect(TA.obv(close: x, volume: v) == nil)
      }
    }
  }

  @Test("empty input returns nil everywhere")
  func emptyInput() {
    with4([], [], [], []) { h, l, x, v in
      #expect(TA.sma(x, 1) == nil)
      #expect(TA.ema(x, 1) == nil)
      #expect(TA.wma(x, 1) == nil)
      #expect(TA.rsi(x, 2) == nil)
      #expect(TA.stddev(x, 2) == nil)
      #expect(TA.highest(x, 2) == nil)
      #expect(TA.lowest(x, 2) == nil)
      #expect(TA.roc(x, 1) == nil)
      #expect(TA.macd(x, fast: 12, slow: 26, signal: 9) == nil)
      #expect(TA.bbands(x, 20, 2) == nil)
      #expect(TA.atr(high: h, low: l, close: x, 1) == nil)
      #expect(TA.adx(high: h, low: l, close: x, 2) == nil)
      #expect(TA.stoch(high: h, low: l, close: x, fastK: 1, slowK: 1, slowD: 1) == nil)
      #expect(TA.obv(close: x, volume: v) == nil)
      #expect(TA.vwap(high: h, low: l, close: x, volume: v) == nil)
      #expect(TA.mfi(high: h, low: l, close: x, volume: v, 2) == nil)
      #expect(TA.cci(high: h, low: l, close: x, 2) == nil)
      #expect(TA.willr(high: h, low: l, close: x, 2) == nil)
    }
  }

  @Test("too-short series return nil exactly below TA-Lib's lookback")
  func lookbackBoundaries() {
    // (first length with output) for each indicator, per TA-Lib's lookback + 1.
    func firstLength(
      _ f: (
        UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>,
        UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>
      ) -> Double?
    ) -> Int? {
      for n in 0...c.count {
        let r = with4(Array(h[..<n]), Array(l[..<n]), Array(c[..<n]), Array(v[..<n]), f)
        if r != nil { return n }
      }
      return nil
    }
    #expect(firstLength { _, _, x, _ in TA.sma(x, 20) } == 20)
    #expect(firstLength { _, _, x, _ in TA.ema(x, 21) } == 21)
    #expect(firstLength { _, _, x, _ in TA.rsi(x, 14) } == 15)
    #expect(firstLength { _, _, x, _ in TA.stddev(x, 20) } == 20)
    #expect(firstLength { _, _, x, _ in TA.roc(x, 10) } == 11)
    #expect(firstLength { _, _, x, _ in TA.macd(x, fast: 12, slow: 26, signal: 9)?.macd } == 34)
    #expect(firstLength { _, _, x, _ in TA.macd(x, fast: 26, slow: 12, signal: 9)?.macd } == 34)
    #expect(firstLength { h, l, x, _ in TA.atr(high: h, low: l, close: x, 14) } == 15)
    #expect(firstLength { h, l, x, _ in TA.atr(high: h, low: l, close: x, 1) } == 2)
    #expect(firstLength { h, l, x, _ in TA.adx(high: h, low: l, close: x, 14) } == 28)
    #expect(
      firstLength { h, l, x, _ in
        TA.stoch(high: h, low: l, close: x, fastK: 5, slowK: 3, slowD: 3)?.k
      } == 9)
    #expect(firstLength { h, l, x, v in TA.mfi(high: h, low: l, close: x, volume: v, 14) } == 15)
    #expect(firstLength { h, l, x, _ in TA.cci(high: h, low: l, close: x, 20) } == 20)
    #expect(firstLength { h, l, x, _ in TA.willr(high: h, low: l, close: x, 14) } == 14)
    #expect(firstLength { _, _, x, v in TA.obv(close: x, volume: v) } == 1)
    #expect(firstLength { h, l, x, v in TA.vwap(high: h, low: l, close: x, volume: v) } == 1)
  }

  @Test("flat series: RSI 0, STOCH/WILLR/CCI/ADX/ATR/STDDEV 0, bands collapse (as TA-Lib)")
  func flatSeries() {
    let f = [Double](repeating: 42.5, count: 60)
    with4(f, f, f, [Double](repeating: 10, count: 60)) { h, l, x, v in
      #expect(TA.rsi(x, 14) == 0)
      #expect(TA.stddev(x, 20) == 0)
      #expect(TA.atr(high: h, low: l, close: x, 14) == 0)
      #expect(TA.adx(high: h, low: l, close: x, 14) == 0)
      #expect(TA.cci(high: h, low: l, close: x, 20) == 0)
      #expect(TA.willr(high: h, low: l, close: x, 14) == 0)
      #expect(TA.mfi(high: h, low: l, close: x, volume: v, 14) == 0)
      #expect(TA.roc(x, 10) == 0)
      let s = TA.stoch(high: h, low: l, close: x, fastK: 5, slowK: 3, slowD: 3)
      #expect(s?.k == 0 && s?.d == 0)
      let b = TA.bbands(x, 20, 2)
      #expect(b?.upper == 42.5 && b?.middle == 42.5 && b?.lower == 42.5)
      let m = TA.macd(x, fast: 12, slow: 26, signal: 9)
      #expect(m?.macd == 0 && m?.signal == 0 && m?.histogram == 0)
      #expect(TA.ema(x, 9) == 42.5)
      #expect(TA.vwap(high: h, low: l, close: x, volume: v) == 42.5)
    }
  }

  @Test("monotonic series: RSI 100 rising, 0 falling")
  func monotonic() {
    let up = (0..<50).map { Double($0) + 1 }
    with(up) { #expect(TA.rsi($0, 14) == 100) }
    with(up.reversed()) { #expect(TA.rsi($0, 14) == 0) }
  }

  @Test("zero volume: vwap nil, OBV 0, MFI 0")
  func zeroVolume() {
    let z = [Double](repeating: 0, count: c.count)
    with4(h, l, c, z) { h, l, x, v in
      #expect(TA.vwap(high: h, low: l, close: x, volume: v) == nil)
      #expect(TA.obv(close: x, volume: v) == 0)
      #expect(TA.mfi(high: h, low: l, close: x, volume: v, 14) == 0)
    }
    with4([2], [1], [1.5], [4]) { h, l, x, v in
      #expect(TA.vwap(high: h, low: l, close: x, volume: v) == 1.5)
      #expect(TA.obv(close: x, volume: v) == 4)
    }
  }

  @Test("roc is 0 when the reference value is 0 (TA-Lib's rule)")
  func rocZeroReference() {
    with([0, 1, 2, 3]) { #expect(TA.roc($0, 3) == 0) }
    with([2, 1, 2, 3]) { #expect(TA.roc($0, 3) == 50) }
  }
}
