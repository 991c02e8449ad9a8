// One simulated symbol: its state (price and precision, volatility, 24h statistics, regime,
// the open candle) and the warm-up history made from its setup, with the integer arithmetic
// that prices in ticks and the message formatting share.

/// What drives a symbol's price (see the model in MarketSimulator.swift).
enum SimRegime: UInt8, Sendable {
  case normal, pump, dump, breakout, bleed
}

/// A 1m candle; prices in ticks (units of 10^-pd).
struct SimCandle: Sendable {
  var t: Int64
  var o: Int64
  var h: Int64
  var l: Int64
  var c: Int64
  var v: Double = 0
  var q: Double = 0
  var vb: Double = 0
  var qb: Double = 0
  var n: Int64 = 0
  var firstId: Int64 = -1
  var lastId: Int64 = -1
}

/// One symbol's state: price and its precision, volatility and pull, 24h statistics,
/// liquidity, regime, and the open candle.
struct SimSymbol: Sendable {
  var startPrice: Double = 1
  var price: Double = 1
  /// Decimals of the symbol's prices and of its base volumes.
  var pd: Int = 2
  var vd: Int = 2
  /// 10^pd: a price times `scale` is in ticks.
  var scale: Double = 100
  var minPrice: Double = 1
  var sigma: Double = 0.001
  var revert: Double = 0
  var target: Double = 0
  var o24: Double = 1
  var h24: Double = 1
  var l24: Double = 1
  var v24: Double = 0
  var q24: Double = 0
  var n24: Double = 0
  var volPerMin: Double = 1
  var tradesPerMin: Double = 1
  var spreadBp: Double = 1
  var lastTradeId: Int64 = 0
  var firstTradeId: Int64 = 0
  var lastUpdate: Int64 = 0
  var lastQty: Double = 0
  var regime: SimRegime = .normal
  var prep: SimRegime = .normal
  var regimeEnd: Int = 0
  var drift: Double = 0
  var volMult: Double = 1
  var takerLo: Double = 0.35
  var histSeed: UInt64 = 0
  var candle = SimCandle(t: 0, o: 0, h: 0, l: 0, c: 0)

  /// The price `p` in ticks (units of 10^-pd), rounded half away from zero.
  func ticks(_ p: Double) -> Int64 { simScaledInt(p * scale) }
}

extension SimSymbol {
  /// The `count` closed 1m candles of warm-up history before the minute `m0`, oldest first:
  /// a pure function of the symbol's setup (its own generator, seeded with `histSeed`), so it
  /// can be made again at any time without touching the simulator's random stream.
  func history(count: Int, before m0: Int64) -> [SimCandle] {
    guard count > 0 else { return [] }
    let s = self
    var r = SimRNG(seed: s.histSeed)
    let sm = min(s.sigma * 3.4641, 0.03)  // ~12 events a minute
    let prepLen: Int
    switch s.prep {
    case .bleed: prepLen = 16 + Int(r.next() % 10)
    case .breakout: prepLen = 20
    default: prepLen = 0
    }
    var rets = [Double](repeating: 0, count: count)
    for k in 0..<count {
      let fromEnd = count - 1 - k
      var x: Double
      if fromEnd < prepLen {
        x = s.prep == .bleed ? -sm * r.range(0.3, 1.0) - 0.0006 : 0.2 * sm * r.gauss()
      } else {
        x = sm * r.gauss()
      }
      x = min(0.2, max(-0.2, x))
      rets[k] = x
    }
    var closes = [Double](repeating: s.startPrice, count: count)
    var k = count - 1
    while k > 0 {
      closes[k - 1] = closes[k] / (1 + rets[k])
      k -= 1
    }
    var prevClose = closes[0] / (1 + min(0.2, max(-0.2, sm * r.gauss())))
    var id = s.firstTradeId
    var out: [SimCandle] = []
    out.reserveCapacity(count)
    for k in 0..<count {
      let fromEnd = count - 1 - k
      let o = prevClose
      let c = closes[k]
      let wick = (s.prep == .breakout && fromEnd < prepLen) ? 0.1 : 0.4
      let hi = max(o, c) * (1 + abs(r.gauss()) * sm * wick)
      let lo = min(o, c) * (1 - abs(r.gauss()) * sm * wick)
      var candle = SimCandle(
        t: m0 - Int64(count - k) * MarketSimulator.minute, o: 0, h: 0, l: 0, c: 0)
      candle.o = max(s.ticks(o), 1)
      candle.c = max(s.ticks(c), 1)
      candle.h = max(s.ticks(hi), candle.o, candle.c)
      candle.l = max(1, min(s.ticks(lo), candle.o, candle.c))
      let v = s.volPerMin * r.range(0.6, 1.4)
      let tb = r.range(0.4, 0.6)
      let vwap = (o + c + hi + lo) / 4
      candle.v = v
      candle.q = v * vwap
      candle.vb = v * tb
      candle.qb = v * tb * vwap
      let n = max(1, Int64(s.tradesPerMin * r.range(0.6, 1.4)))
      candle.n = n
      candle.firstId = id
      candle.lastId = id + n - 1
      id += n
      out.append(candle)
      prevClose = c
    }
    return out
  }
}

// MARK: - Arithmetic

/// 10^e by repeated multiplication or division, without libm's `pow`.
func simPow10(_ e: Int) -> Double {
  var r = 1.0
  if e >= 0 {
    for _ in 0..<e { r *= 10 }
  } else {
    for _ in 0..<(-e) { r /= 10 }
  }
  return r
}

/// Rounds half away from zero to an integer, clamped to ±9e18 (NaN → 0). Written without
/// `rounded()` so the library needs nothing from libm.
func simScaledInt(_ x: Double) -> Int64 {
  guard x == x else { return 0 }
  if x >= 9e18 { return 9_000_000_000_000_000_000 }
  if x <= -9e18 { return -9_000_000_000_000_000_000 }
  let t = Int64(x)  // toward zero
  let f = x - Double(t)  // exact below 2^53; zero above (x is integral there)
  if f >= 0.5 { return t + 1 }
  if f <= -0.5 { return t - 1 }
  return t
}
