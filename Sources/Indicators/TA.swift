// Technical-analysis indicators that reproduce TA-Lib's numbers.
//
// Every function returns the value TA-Lib would put in the LAST element of its
// output array for the same full input series (TA-Lib 0.6+ with default
// settings: no unstable period, default compatibility), or nil when TA-Lib's
// output would be empty (series too short) or when TA-Lib would reject the
// parameters (TA_BAD_PARAM). Inputs are oldest-first; the newest value is last.
// Multi-column functions return nil when the columns differ in length.
//
// Pure Swift, no Foundation, no heap allocation. Functions whose TA-Lib
// definition depends on the whole history (EMA, RSI, ATR, ADX, MACD, OBV,
// VWAP) are a single O(count) pass; windowed ones only read the last window.

/// TA-Lib's parameter ceiling for every period argument.
@usableFromInline let maxPeriod = 100_000

public enum TA {

  // MARK: - Moving averages

  /// TA-Lib SMA(n). Valid n: 1...100000.
  public static func sma(_ x: UnsafeBufferPointer<Double>, _ n: Int) -> Double? {
    guard n >= 1, n <= maxPeriod, x.count >= n else { return nil }
    return mean(x, from: x.count - n, n)
  }

  /// TA-Lib EMA(n): seeded with the SMA of the first n values, then
  /// `ema += (x - ema) * 2/(n+1)` over the rest of the series. Valid n: 1...100000.
  public static func ema(_ x: UnsafeBufferPointer<Double>, _ n: Int) -> Double? {
    guard n >= 1, n <= maxPeriod, x.count >= n else { return nil }
    let k = 2.0 / Double(n + 1), k1 = 1.0 - k
    var sum = 0.0
    for i in 0..<n { sum += x[i] }
    var e = sum / Double(n)
    var i = n
    let c = x.count
    while i < c {
      // Same recurrence as TA-Lib's (x - e) * k + e, arranged so that only one
      // multiply and one add sit on the loop-carried dependency chain.
      e = e * k1 + x[i] * k
      i += 1
    }
    return e
  }

  /// TA-Lib WMA(n): weights 1...n, newest weighted n. Valid n: 1...100000.
  public static func wma(_ x: UnsafeBufferPointer<Double>, _ n: Int) -> Double? {
    guard n >= 1, n <= maxPeriod, x.count >= n else { return nil }
    let start = x.count - n
    var s = 0.0
    for i in 0..<n { s += Double(i + 1) * x[start + i] }
    return s / (Double(n) * Double(n + 1) / 2.0)
  }

  // MARK: - Window statistics

  /// TA-Lib STDDEV(n, nbdev = 1): population standard deviation of the last n values.
  /// Valid n: 2...100000.
  public static func stddev(_ x: UnsafeBufferPointer<Double>, _ n: Int) -> Double? {
    guard n >= 2, n <= maxPeriod, x.count >= n else { return nil }
    let start = x.count - n
    let m = mean(x, from: start, n)
    return populationStdDev(x, from: start, n, mean: m)
  }

  /// TA-Lib MAX(n). Valid n: 2...100000.
  public static func highest(_ x: UnsafeBufferPointer<Double>, _ n: Int) -> Double? {
    guard n >= 2, n <= maxPeriod, x.count >= n else { return nil }
    return windowMax(x, from: x.count - n, n)
  }

  /// TA-Lib MIN(n). Valid n: 2...100000.
  public static func lowest(_ x: UnsafeBufferPointer<Double>, _ n: Int) -> Double? {
    guard n >= 2, n <= maxPeriod, x.count >= n else { return nil }
    return windowMin(x, from: x.count - n, n)
  }

  /// TA-Lib ROC(n): `(x / x[-n] - 1) * 100`, 0 when x[-n] == 0. Valid n: 1...100000.
  public static func roc(_ x: UnsafeBufferPointer<Double>, _ n: Int) -> Double? {
    guard n >= 1, n <= maxPeriod, x.count > n else { return nil }
    let prev = x[x.count - 1 - n]
    guard prev != 0 else { return 0 }
    return (x[x.count - 1] / prev - 1.0) * 100.0
  }

  /// TA-Lib BBANDS(n, nbdevup = k, nbdevdn = k, matype = SMA).
  /// Valid n: 2...100000, k finite with |k| <= 3e37.
  public static func bbands(_ x: UnsafeBufferPointer<Double>, _ n: Int, _ k: Double)
    -> (upper: Double, middle: Double, lower: Double)?
  {
    guard n >= 2, n <= maxPeriod, k.isFinite, k.magnitude <= 3e37, x.count >= n else { return nil }
    let start = x.count - n
    let m = mean(x, from: start, n)
    let sd = populationStdDev(x, from: start, n, mean: m)
    return (m + k * sd, m, m - k * sd)
  }

  // MARK: - Whole-history oscillators

  /// TA-Lib RSI(n) with Wilder smoothing from the start of the series.
  /// A series with no gains and no losses gives 0 (as TA-Lib does). Valid n: 2...100000.
  public static func rsi(_ x: UnsafeBufferPointer<Double>, _ n: Int) -> Double? {
    guard n >= 2, n <= maxPeriod, x.count > n else { return nil }
    var gain = 0.0, loss = 0.0
    var prev = x[0]
    for i in 1...n {
      let d = x[i] - prev
      prev = x[i]
      if d < 0 { loss -= d } else { gain += d }
    }
    let nd = Double(n)
    gain /= nd
    loss /= nd
    // Wilder smoothing: avg = (avg * (n-1) + move) / n, written as
    // avg * ((n-1)/n) + move / n (multiplies instead of divides on the chain,
    // branch-free gain/loss split).
    let w = Double(n - 1) / nd, inv = 1.0 / nd
    var i = n + 1
    let c = x.count
    while i < c {
      let v = x[i]
      let d = v - prev
      prev = v
      gain = gain * w + max(d, 0) * inv
      loss = loss * w + max(-d, 0) * inv
      i += 1
    }
    return rsiValue(gain: gain, loss: loss)
  }

  @usableFromInline @inline(__always)
  static func rsiValue(gain: Double, loss: Double) -> Double {
    let s = gain + loss
    return s != 0 ? 100.0 * (gain / s) : 0
  }

  /// TA-Lib MACD(fast, slow, signal). Both EMAs are seeded at index slow-1 (the
  /// fast one with the SMA of x[slow-fast ..< slow]); the signal line is an EMA of
  /// the MACD line seeded with the SMA of its first `signal` values. fast and slow
  /// are swapped when slow < fast, as TA-Lib does.
  /// Valid: fast, slow in 2...100000, signal in 1...100000.
  public static func macd(_ x: UnsafeBufferPointer<Double>, fast: Int, slow: Int, signal: Int)
    -> (macd: Double, signal: Double, histogram: Double)?
  {
    guard fast >= 2, fast <= maxPeriod, slow >= 2, slow <= maxPeriod,
      signal >= 1, signal <= maxPeriod
    else { return nil }
    var f = fast, s = slow
    if s < f { swap(&f, &s) }
    let c = x.count
    guard c >= s + signal - 1 else { return nil }
    let kf = 2.0 / Double(f + 1), ks = 2.0 / Double(s + 1), kg = 2.0 / Double(signal + 1)
    let kf1 = 1.0 - kf, ks1 = 1.0 - ks, kg1 = 1.0 - kg
    var sumS = 0.0
    for i in 0..<s { sumS += x[i] }
    var sumF = 0.0
    for i in (s - f)..<s { sumF += x[i] }
    var emaS = sumS / Double(s)
    var emaF = sumF / Double(f)
    var m = emaF - emaS
    // Signal seed: SMA of the first `signal` MACD values (indices s-1 ... s+signal-2).
    var sig = m
    var i = s
    if signal > 1 {
      var sumG = m
      let seedEnd = s + signal - 1
      while i < seedEnd {
        let v = x[i]
        emaF = emaF * kf1 + v * kf
        emaS = emaS * ks1 + v * ks
        sumG += emaF - emaS
        i += 1
      }
      sig = sumG / Double(signal)
      m = emaF - emaS
    }
    while i < c {
      let v = x[i]
      emaF = emaF * kf1 + v * kf
      emaS = emaS * ks1 + v * ks
      m = emaF - emaS
      sig = sig * kg1 + m * kg
      i += 1
    }
    return (m, sig, m - sig)
  }

  /// TA-Lib ATR(n): Wilder-smoothed true range, seeded with the SMA of the first n
  /// true ranges (indices 1...n). ATR(1) is TA-Lib's TRANGE. Valid n: 1...100000.
  public static func atr(
    high: UnsafeBufferPointer<Double>, low: UnsafeBufferPointer<Double>,
    close: UnsafeBufferPointer<Double>, _ n: Int
  ) -> Double? {
    let c = close.count
    guard n >= 1, n <= maxPeriod, high.count == c, low.count == c, c > n else { return nil }
    if n == 1 {
      return trueRange(high[c - 1], low[c - 1], close[c - 2])
    }
    var sum = 0.0
    for i in 1...n { sum += trueRange(high[i], low[i], close[i - 1]) }
    let nd = Double(n)
    var a = sum / nd
    let w = Double(n - 1) / nd, inv = 1.0 / nd
    var i = n + 1
    while i < c {
      a = a * w + trueRange(high[i], low[i], close[i - 1]) * inv
      i += 1
    }
    return a
  }

  /// TA-Lib ADX(n) (Wilder). First output at index 2n-1. Valid n: 2...100000.
  public static func adx(
    high: UnsafeBufferPointer<Double>, low: UnsafeBufferPointer<Double>,
    close: UnsafeBufferPointer<Double>, _ n: Int
  ) -> Double? {
    let c = close.count
    guard n >= 2, n <= maxPeriod, high.count == c, low.count == c, c >= 2 * n else { return nil }
    let nd = Double(n)
    let w = Double(n - 1) / nd, inv = 1.0 / nd
    var pDM = 0.0, mDM = 0.0, tr = 0.0
    var ph = high[0], pl = low[0], pc = close[0]
    // Accumulate the first n-1 DM/TR values.
    var i = 1
    while i < n {
      let h = high[i], l = low[i]
      let up = h - ph, dn = pl - l
      if dn > 0 && up < dn { mDM += dn } else if up > 0 && up > dn { pDM += up }
      tr += trueRange(h, l, pc)
      ph = h; pl = l; pc = close[i]
      i += 1
    }
    // Next n values: Wilder-smooth DM/TR and sum DX.
    var sumDX = 0.0
    let seedEnd = 2 * n
    while i < seedEnd {
      let h = high[i], l = low[i]
      let up = h - ph, dn = pl - l
      mDM = mDM * w + (dn > 0 && up < dn ? dn : 0)
      pDM = pDM * w + (up > 0 && up > dn ? up : 0)
      tr = tr * w + trueRange(h, l, pc)
      ph = h; pl = l; pc = close[i]
      if tr != 0 {
        let mDI = 100.0 * (mDM / tr), pDI = 100.0 * (pDM / tr)
        let s = mDI + pDI
        if s != 0 { sumDX += 100.0 * ((mDI - pDI).magnitude / s) }
      }
      i += 1
    }
    var a = sumDX / nd
    while i < c {
      let h = high[i], l = low[i]
      let up = h - ph, dn = pl - l
      mDM = mDM * w + (dn > 0 && up < dn ? dn : 0)
      pDM = pDM * w + (up > 0 && up > dn ? up : 0)
      tr = tr * w + trueRange(h, l, pc)
      ph = h; pl = l; pc = close[i]
      if tr != 0 {
        let mDI = 100.0 * (mDM / tr), pDI = 100.0 * (pDM / tr)
        let s = mDI + pDI
        if s != 0 {
          let dx = 100.0 * ((mDI - pDI).magnitude / s)
          a = a * w + dx * inv
        }
      }
      i += 1
    }
    return a
  }

  // MARK: - Windowed high/low/close oscillators

  /// TA-Lib STOCH(fastK, slowK, SMA, slowD, SMA). Raw %K is 0 when the window is flat
  /// (HH - LL within 1e-14 of |HH| + |LL|, as TA-Lib). Valid: each period in 1...100000.
  public static func stoch(
    high: UnsafeBufferPointer<Double>, low: UnsafeBufferPointer<Double>,
    close: UnsafeBufferPointer<Double>, fastK: Int, slowK: Int, slowD: Int
  ) -> (k: Double, d: Double)? {
    let c = close.count
    guard fastK >= 1, fastK <= maxPeriod, slowK >= 1, slowK <= maxPeriod,
      slowD >= 1, slowD <= maxPeriod, high.count == c, low.count == c,
      c >= fastK + slowK + slowD - 2
    else { return nil }
    // Raw %K is needed at the last slowK+slowD-1 indices.
    let nRaw = slowK + slowD - 1
    let firstRaw = c - nRaw
    return withUnsafeTemporaryAllocation(of: Double.self, capacity: nRaw) {
      raw -> (k: Double, d: Double) in
      for j in 0..<nRaw {
        let t = firstRaw + j
        let start = t - fastK + 1
        var hh = high[start], ll = low[start]
        var u = start + 1
        while u <= t {
          let h = high[u], l = low[u]
          if h > hh { hh = h }
          if l < ll { ll = l }
          u += 1
        }
        let range = hh - ll
        raw[j] = isFlat(range, hh, ll) ? 0 : ((close[t] - ll) / range) * 100.0
      }
      // Slow %K at the last slowD indices, averaged into slow %D.
      let skd = Double(slowK)
      var sumD = 0.0
      var k = 0.0
      for j in 0..<slowD {
        var s = 0.0
        for q in 0..<slowK { s += raw[j + q] }
        k = s / skd
        sumD += k
      }
      return (k, sumD / Double(slowD))
    }
  }

  /// TA-Lib WILLR(n): `-100 * (HH - close) / (HH - LL)`, 0 when the window is flat
  /// (HH - LL within 1e-14 of |HH| + |LL|, as TA-Lib). Valid n: 2...100000.
  public static func willr(
    high: UnsafeBufferPointer<Double>, low: UnsafeBufferPointer<Double>,
    close: UnsafeBufferPointer<Double>, _ n: Int
  ) -> Double? {
    let c = close.count
    guard n >= 2, n <= maxPeriod, high.count == c, low.count == c, c >= n else { return nil }
    let hh = windowMax(high, from: c - n, n), ll = windowMin(low, from: c - n, n)
    guard !isFlat(hh - ll, hh, ll) else { return 0 }
    return (hh - close[c - 1]) / ((hh - ll) / -100.0)
  }

  /// TA-Lib CCI(n) on the typical price (h + l + c) / 3. Valid n: 2...100000.
  public static func cci(
    high: UnsafeBufferPointer<Double>, low: UnsafeBufferPointer<Double>,
    close: UnsafeBufferPointer<Double>, _ n: Int
  ) -> Double? {
    let c = close.count
    guard n >= 2, n <= maxPeriod, high.count == c, low.count == c, c >= n else { return nil }
    let start = c - n
    var sum = 0.0
    for i in start..<c { sum += (high[i] + low[i] + close[i]) / 3.0 }
    let avg = sum / Double(n)
    var dev = 0.0
    for i in start..<c { dev += ((high[i] + low[i] + close[i]) / 3.0 - avg).magnitude }
    let meanDev = dev / Double(n)
    let last = (high[c - 1] + low[c - 1] + close[c - 1]) / 3.0
    let num = last - avg
    // TA-Lib treats both as zero within 1e-14 of the window's price level.
    let level = avg.magnitude
    guard !isZeroScaled(num, level), !isZeroScaled(meanDev, level) else { return 0 }
    return num / (0.015 * meanDev)
  }

  // MARK: - Volume

  /// Volume-weighted average price over the whole series:
  /// `sum(tp * volume) / sum(volume)`, tp = (h + l + c) / 3.
  /// nil when the series is empty or the volume sums to 0.
  public static func vwap(
    high: UnsafeBufferPointer<Double>, low: UnsafeBufferPointer<Double>,
    close: UnsafeBufferPointer<Double>, volume: UnsafeBufferPointer<Double>
  ) -> Double? {
    let c = close.count
    guard c > 0, high.count == c, low.count == c, volume.count == c else { return nil }
    var pv = 0.0, vs = 0.0
    for i in 0..<c {
      let v = volume[i]
      pv += (high[i] + low[i] + close[i]) / 3.0 * v
      vs += v
    }
    guard vs != 0 else { return nil }
    return pv / vs
  }

  /// TA-Lib OBV: starts at volume[0], then adds/subtracts each volume when the
  /// close rises/falls. Needs at least one value.
  public static func obv(close: UnsafeBufferPointer<Double>, volume: UnsafeBufferPointer<Double>)
    -> Double?
  {
    let c = close.count
    guard c > 0, volume.count == c else { return nil }
    var o = volume[0]
    var prev = close[0]
    var i = 1
    while i < c {
      let x = close[i]
      if x > prev { o += volume[i] } else if x < prev { o -= volume[i] }
      prev = x
      i += 1
    }
    return o
  }

  /// TA-Lib MFI(n) on the typical price; 0 when the window has no money flow.
  /// Valid n: 2...100000.
  public static func mfi(
    high: UnsafeBufferPointer<Double>, low: UnsafeBufferPointer<Double>,
    close: UnsafeBufferPointer<Double>, volume: UnsafeBufferPointer<Double>, _ n: Int
  ) -> Double? {
    let c = close.count
    guard n >= 2, n <= maxPeriod, high.count == c, low.count == c, volume.count == c, c > n
    else { return nil }
    var pos = 0.0, neg = 0.0
    let start = c - n
    var prevTP = (high[start - 1] + low[start - 1] + close[start - 1]) / 3.0
    for i in start..<c {
      let tp = (high[i] + low[i] + close[i]) / 3.0
      let d = tp - prevTP
      // A typical-price change within 1e-14 of the prices carries no flow.
      if !isZeroScaled(d, tp.magnitude + prevTP.magnitude) {
        if d < 0 { neg += tp * volume[i] } else { pos += tp * volume[i] }
      }
      prevTP = tp
    }
    let s = pos + neg
    guard s > 0 else { return 0 }
    return 100.0 * (min(max(pos, 0), s) / s)
  }

  // MARK: - Helpers

  /// TA-Lib's TA_IS_ZERO_SCALED: |v| <= 1e-14 * scale.
  @inline(__always)
  static func isZeroScaled(_ v: Double, _ scale: Double) -> Bool { v.magnitude <= 1e-14 * scale }

  /// TA-Lib's "flat window" test for high/low ranges (STOCH, WILLR).
  @inline(__always)
  static func isFlat(_ range: Double, _ hi: Double, _ lo: Double) -> Bool {
    isZeroScaled(range, hi.magnitude + lo.magnitude)
  }

  @inline(__always)
  static func trueRange(_ h: Double, _ l: Double, _ prevClose: Double) -> Double {
    var r = h - l
    let a = (prevClose - h).magnitude
    if a > r { r = a }
    let b = (prevClose - l).magnitude
    if b > r { r = b }
    return r
  }

  @inline(__always)
  static func mean(_ x: UnsafeBufferPointer<Double>, from start: Int, _ n: Int) -> Double {
    var s = 0.0
    for i in start..<(start + n) { s += x[i] }
    return s / Double(n)
  }

  @inline(__always)
  static func populationStdDev(
    _ x: UnsafeBufferPointer<Double>, from start: Int, _ n: Int, mean m: Double
  ) -> Double {
    var ss = 0.0
    for i in start..<(start + n) {
      let d = x[i] - m
      ss += d * d
    }
    return (ss / Double(n)).squareRoot()
  }

  @inline(__always)
  static func windowMax(_ x: UnsafeBufferPointer<Double>, from start: Int, _ n: Int) -> Double {
    var r = x[start]
    for i in (start + 1)..<(start + n) where x[i] > r { r = x[i] }
    return r
  }

  @inline(__always)
  static func windowMin(_ x: UnsafeBufferPointer<Double>, from start: Int, _ n: Int) -> Double {
    var r = x[start]
    for i in (start + 1)..<(start + n) where x[i] < r { r = x[i] }
    return r
  }
}
