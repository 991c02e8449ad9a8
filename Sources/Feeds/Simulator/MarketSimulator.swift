// Deterministic market simulator: the built-in default feed.
//
// It produces Binance WebSocket messages as JSON text lines (SimulatorMessages.swift), so the
// same parser and apply path serve the simulator and recorded files. Here: the model, its steps
// and its regimes; one symbol's state and warm-up history are in SimSymbol.swift.
//
// Model, per symbol:
// - a geometric random walk with a per-symbol volatility (3 bp .. ~1% per event), a fixed
//   price precision chosen from the starting price (8 decimals below 1, 4 below 100, else 2),
//   and a soft pull of the 24h change towards a per-symbol target (−13% .. +22%, mostly
//   around +1% ± 4.5%);
// - regimes that start and end at random: `pump` (steady rise, volume 3–10×), `dump` (steady
//   fall, volume 2–6×), `breakout` (climbs past the highest high of the last 20 candles) and
//   `bleed` (slow steady fall: consecutive down candles, RSI(14) < 30). A few percent of the
//   symbols start in each regime, with matching warm-up history (bleeders have a run of down
//   candles, breakout candidates a tight 20-candle range), so strategies fire from the start;
// - per-step churn: usually 5–30% of the symbols get an event (a ticker and, usually, a kline
//   update), about 1 step in 15 is a mass update (60–100%), about 1 in 10 is nearly quiet.
//   Symbols in a regime are active in most steps (but not in the quiet ones). When a minute
//   boundary is crossed, every symbol's candle of the previous minute gets its final update
//   (`"x":true`, event time = the boundary) before any event of the new minute.
// - the 24h statistics are approximated: the 24h open is a slowly moving reference, volumes
//   and trade counts decay over a day, high/low only widen.
//
// Randomness comes only from `SimRNG` (SimulatorRandom.swift) and numbers are formatted from
// integers (SimulatorMessages.swift), so the same configuration gives byte-identical output.
// No Foundation and nothing from libm.

/// Configuration of a `MarketSimulator`.
public struct SimulatorConfig: Sendable {
  /// Number of symbols.
  public var symbols: Int = 500
  public var seed: UInt64 = 42
  /// Length of one step in milliseconds of event time.
  public var cycleMs: Int64 = 1000
  /// Closed 1m candles of warm-up history per symbol.
  public var historyCandles: Int = 120
  /// Milliseconds since the epoch of the first step.
  public var startTime: Int64

  public init(
    symbols: Int = 500, seed: UInt64 = 42, cycleMs: Int64 = 1000, historyCandles: Int = 120,
    startTime: Int64
  ) {
    self.symbols = symbols
    self.seed = seed
    self.cycleMs = cycleMs
    self.historyCandles = historyCandles
    self.startTime = startTime
  }
}

/// A deterministic generator of Binance-format market messages (24hrTicker and kline_1m).
public struct MarketSimulator: Sendable {
  public let config: SimulatorConfig
  /// "BTCUSDT", "ETHUSDT", some other well-known names, then generated names ("AAA0USDT", ...).
  public let symbolNames: [String]
  /// Number of `nextStep()` calls so far.
  public private(set) var stepCount: Int = 0

  private let symbolCount: Int
  private let cycle: Int64
  private let historyCount: Int
  private var rng: SimRNG
  private var syms: [SimSymbol]
  /// Highs of the last 20 closed candles, 20 per symbol; `ringHead` is the next slot (shared).
  private var ring: [Double]
  private var ringHead: Int = 0
  /// Open time of the current (open) 1m candle, common to all symbols.
  private var currentMinute: Int64
  /// The events of the step being made, one per active symbol: `offset << 22 | index`, the
  /// offset in the step (ms) above the symbol's index, so that sorting orders them by time.
  private var keys: [UInt64] = []
  private var messages: SimulatorMessages

  private static let ringSize = 20
  static let minute: Int64 = 60_000
  static let day: Int64 = 86_400_000

  public init(_ config: SimulatorConfig) {
    self.config = config
    // At most 2^22 symbols: an index takes the low 22 bits of a key in `keys`.
    let n = min(max(config.symbols, 0), 1 << 22)
    symbolCount = n
    cycle = max(config.cycleMs, 1)
    historyCount = max(config.historyCandles, 0)
    rng = SimRNG(seed: config.seed)
    currentMinute = Self.minuteFloor(config.startTime)

    var names: [String] = []
    names.reserveCapacity(n)
    for i in 0..<n { names.append(Self.symbolName(i)) }
    symbolNames = names
    messages = SimulatorMessages(symbolNames: names, seed: config.seed)
    ring = [Double](repeating: 0, count: n * Self.ringSize)
    syms = []
    syms.reserveCapacity(n)

    for i in 0..<n { syms.append(makeSymbol(i)) }
    for i in 0..<n { finishSetup(i) }
    ringHead = historyCount % Self.ringSize
    keys.reserveCapacity(n)
  }

  // MARK: - Public API

  /// Warm-up: for every symbol, `historyCandles` closed 1m klines (open times on minute
  /// boundaries going back from `startTime`, the newest closed one ending before `startTime`),
  /// then one 24hrTicker. All with event time `E = startTime`. Call once, before `nextStep()`.
  /// It does not advance the random stream, so the steps are the same with or without it.
  public mutating func warmup() -> [String] {
    var out: [String] = []
    out.reserveCapacity(symbolCount * (historyCount + 1))
    let e = config.startTime
    for i in 0..<symbolCount {
      for c in history(i) {
        messages.kline(i, c, pd: syms[i].pd, vd: syms[i].vd, eventTime: e, final: true, into: &out)
      }
      messages.ticker(i, syms[i], eventTime: e, into: &out)
    }
    return out
  }

  /// The messages of the next step: event times within
  /// `[startTime + n*cycleMs, startTime + (n+1)*cycleMs)`, non-decreasing; `n` counts calls from 0.
  public mutating func nextStep() -> [String] {
    let n = stepCount
    stepCount += 1
    let w0 = config.startTime &+ Int64(n) &* cycle
    let w1 = w0 &+ cycle

    // How busy this step is.
    let kind = rng.uniform()
    let frac: Double
    if kind < 1.0 / 15.0 {
      frac = rng.range(0.6, 1.0)  // mass update
    } else if kind < 1.0 / 15.0 + 0.1 {
      frac = rng.range(0.002, 0.03)  // nearly quiet
    } else {
      frac = rng.range(0.05, 0.30)
    }

    updateRegimes(step: n)

    keys.removeAll(keepingCapacity: true)
    let cyc = UInt64(cycle)
    let quiet = frac < 0.05
    for i in 0..<symbolCount {
      let p: Double
      switch syms[i].regime {
      case .normal: p = frac
      case .bleed: p = quiet ? 2 * frac : max(frac, 0.5)
      default: p = quiet ? 3 * frac : max(frac, 0.85)
      }
      if rng.uniform() < p {
        let off = rng.next() % cyc
        keys.append(off << 22 | UInt64(i))
      }
    }
    keys.sort()

    var nextBoundary = currentMinute &+ Self.minute
    var out: [String] = []
    out.reserveCapacity(keys.count * 2 + (nextBoundary < w1 ? symbolCount : 0))
    for k in keys.indices {
      let key = keys[k]
      let t = w0 &+ Int64(key >> 22)
      let i = Int(key & 0x3F_FFFF)
      while t >= nextBoundary {
        closeMinute(at: nextBoundary, into: &out)
        nextBoundary &+= Self.minute
      }
      event(i, time: t, into: &out)
    }
    while nextBoundary < w1 {
      closeMinute(at: nextBoundary, into: &out)
      nextBoundary &+= Self.minute
    }
    return out
  }

  // MARK: - Setup

  private static let knownSymbols: [(String, Double)] = [
    ("BTC", 60000), ("ETH", 3000), ("BNB", 580), ("SOL", 150), ("XRP", 0.55), ("DOGE", 0.12),
    ("ADA", 0.45), ("TRX", 0.12), ("AVAX", 30), ("LINK", 14), ("DOT", 6.5), ("LTC", 75),
    ("BCH", 380), ("NEAR", 5.2), ("UNI", 8), ("ATOM", 7), ("XLM", 0.1), ("FIL", 4.5),
    ("APT", 8.5), ("ARB", 0.8), ("OP", 1.8), ("SUI", 1.1), ("INJ", 22), ("AAVE", 95),
    ("ETC", 25), ("ICP", 9), ("HBAR", 0.07), ("VET", 0.025), ("ALGO", 0.15), ("GRT", 0.17),
  ]

  /// Known names have no digits; generated ones end in a digit, so all names are distinct.
  private static func symbolName(_ i: Int) -> String {
    if i < knownSymbols.count { return knownSymbols[i].0 + "USDT" }
    let g = i - knownSymbols.count
    var v = g / 10
    var letters: [UInt8] = []
    while v > 0 || letters.count < 3 {
      letters.append(65 + UInt8(v % 26))
      v /= 26
    }
    letters.reverse()
    letters.append(48 + UInt8(g % 10))
    return String(decoding: letters, as: UTF8.self) + "USDT"
  }

  private static func minuteFloor(_ t: Int64) -> Int64 {
    let r = t % minute
    return r >= 0 ? t - r : t - r - minute
  }

  private mutating func makeSymbol(_ i: Int) -> SimSymbol {
    var s = SimSymbol()
    let major = i < 2
    // Starting price.
    if i < Self.knownSymbols.count {
      s.startPrice = Self.knownSymbols[i].1 * rng.range(0.98, 1.02)
    } else {
      // Decade −4 ... 3 (0.0001 .. ~9999), uniform mantissa.
      let decade = Int(rng.next() % 8) - 4
      s.startPrice = simPow10(decade) * rng.range(1.0, 9.9)
    }
    s.pd = s.startPrice < 1 ? 8 : (s.startPrice < 100 ? 4 : 2)
    s.vd = s.startPrice < 1 ? 1 : (s.startPrice < 100 ? 2 : 5)
    s.scale = simPow10(s.pd)
    s.minPrice = 100 / s.scale
    s.price = s.startPrice

    // Volatility per event: 3 bp .. ~1%, skewed low.
    let u = rng.uniform()
    s.sigma = major ? rng.range(0.0003, 0.0008) : 0.0003 * (1 + 32 * u * u * u)
    // Pull towards the target change: a time constant of ~30 minutes of a normal symbol's
    // events (~0.2 events a step), stronger for the most volatile symbols.
    s.revert = min(0.2, max(Double(cycle) / 360_000, s.sigma * s.sigma * 50))

    // Liquidity.
    let quotePerMin: Double
    switch i {
    case 0: quotePerMin = 1_500_000
    case 1: quotePerMin = 800_000
    default: quotePerMin = simPow10(3 + Int(rng.next() % 3)) * rng.range(1.0, 9.9)
    }
    s.volPerMin = quotePerMin / s.startPrice
    s.tradesPerMin = min(5000, max(2, quotePerMin / rng.range(200, 2000)))
    s.spreadBp = major ? 0.2 : rng.range(1, 15)

    // 24h change target and the 24h open.
    if major {
      s.target = rng.range(-0.04, 0.05)
    } else if rng.uniform() < 0.15 {
      s.target = rng.range(-0.13, 0.22)
    } else {
      s.target = min(0.22, max(-0.13, 0.01 + 0.045 * rng.gauss()))
    }
    let change0 = max(-0.5, s.target + (major ? 0.01 : 0.03) * rng.gauss())
    s.o24 = s.startPrice / (1 + change0)
    s.v24 = s.volPerMin * 1440 * rng.range(0.7, 1.3)
    s.q24 = s.v24 * (s.o24 + s.startPrice) / 2
    s.n24 = s.tradesPerMin * 1440 * rng.range(0.7, 1.3)
    s.lastQty = s.volPerMin / max(1, s.tradesPerMin)

    // Regime prepared in the history and active at the start.
    if !major {
      let r = rng.uniform()
      if r < 0.03 {
        s.prep = .pump
      } else if r < 0.05 {
        s.prep = .dump
      } else if r < 0.075 {
        s.prep = .breakout
      } else if r < 0.105 {
        s.prep = .bleed
      }
    }
    s.histSeed = rng.next()
    s.firstTradeId = Int64(rng.range(2e7, 4e9))
    s.lastUpdate = config.startTime
    return s
  }

  /// Replays the history into the state: trade ids, the 20-candle highs, 24h high/low, the
  /// open candle, and the starting regime.
  private mutating func finishSetup(_ i: Int) {
    let hist = history(i)
    var s = syms[i]
    s.lastTradeId = hist.last?.lastId ?? (s.firstTradeId - 1)
    var hi = max(s.o24, s.startPrice)
    var lo = min(s.o24, s.startPrice)
    let base = i * Self.ringSize
    for (k, c) in hist.enumerated() {
      hi = max(hi, Double(c.h) / s.scale)
      lo = min(lo, Double(c.l) / s.scale)
      ring[base + k % Self.ringSize] = Double(c.h) / s.scale
    }
    s.h24 = hi * (1 + rng.range(0, 0.02))
    s.l24 = lo * (1 - rng.range(0, 0.02))
    s.n24 = min(s.n24, Double(s.lastTradeId))
    let pt = s.ticks(s.price)
    s.candle = SimCandle(t: currentMinute, o: pt, h: pt, l: pt, c: pt)
    syms[i] = s
    if s.prep != .normal { startRegime(i, s.prep, step: 0) }
  }

  /// The warm-up candles of symbol `i`, oldest first; a pure function of the symbol's setup.
  private func history(_ i: Int) -> [SimCandle] {
    syms[i].history(count: historyCount, before: Self.minuteFloor(config.startTime))
  }

  // MARK: - Regimes

  private mutating func updateRegimes(step: Int) {
    let cyc = Double(cycle)
    // Entry probability per step = share of symbols in the regime / mean duration in steps.
    let pPump = min(0.2, 0.03 * cyc / 140_000)
    let pDump = min(0.2, 0.02 * cyc / 105_000)
    let pBreak = min(0.2, 0.02 * cyc / 55_000)
    let pBleed = min(0.2, 0.03 * cyc / 600_000)
    for i in 0..<symbolCount {
      if syms[i].regime != .normal {
        if step >= syms[i].regimeEnd { endRegime(i) }
        continue
      }
      let u = rng.uniform()
      if i < 2 { continue }
      if u < pPump {
        startRegime(i, .pump, step: step)
      } else if u < pPump + pDump {
        startRegime(i, .dump, step: step)
      } else if u < pPump + pDump + pBreak {
        startRegime(i, .breakout, step: step)
      } else if u < pPump + pDump + pBreak + pBleed {
        startRegime(i, .bleed, step: step)
      }
    }
  }

  private mutating func startRegime(_ i: Int, _ regime: SimRegime, step: Int) {
    var s = syms[i]
    let cyc = Double(cycle)
    func steps(_ ms: Double) -> Int { max(1, Int(ms / cyc)) }
    switch regime {
    case .normal:
      s.regime = .normal
      syms[i] = s
      return
    case .pump:
      let d = steps(rng.range(40_000, 240_000))
      let change = s.price / s.o24 - 1
      s.drift = min(rng.range(0.04, 0.18), max(0.03, 0.35 - change)) / (Double(d) * 0.78)
      s.volMult = rng.range(3, 10)
      s.takerLo = 0.6
      s.regimeEnd = step + d
    case .dump:
      let d = steps(rng.range(30_000, 180_000))
      let change = s.price / s.o24 - 1
      s.drift = -min(rng.range(0.04, 0.15), max(0.03, change + 0.25)) / (Double(d) * 0.78)
      s.volMult = rng.range(2, 6)
      s.takerLo = 0.15
      s.regimeEnd = step + d
    case .breakout:
      let d = steps(rng.range(20_000, 90_000))
      var high = Double(s.candle.h) / s.scale
      for k in 0..<Self.ringSize { high = max(high, ring[i * Self.ringSize + k]) }
      let target = high * (1 + rng.range(0.003, 0.015))
      let gap = max(target / s.price - 1, 0.002)
      // Only a symbol trading near the top of its range breaks out.
      if gap > 0.03 || s.price / s.o24 - 1 > 0.3 { return }
      s.drift = gap * 1.4 / (Double(d) * 0.78)
      s.volMult = rng.range(1.5, 3)
      s.takerLo = 0.55
      s.regimeEnd = step + d
    case .bleed:
      let d = steps(rng.range(300_000, 900_000))
      s.drift = -rng.range(0.03, 0.10) / (Double(d) * 0.48)
      s.volMult = rng.range(0.8, 1.5)
      s.takerLo = 0.3
      s.regimeEnd = step + d
    }
    s.drift = min(0.05, max(-0.05, s.drift))
    s.regime = regime
    syms[i] = s
  }

  private mutating func endRegime(_ i: Int) {
    var s = syms[i]
    s.regime = .normal
    s.volMult = 1
    s.drift = 0
    // The move fades afterwards: the 24h change drifts back towards the symbol's target.
    syms[i] = s
  }

  // MARK: - Events

  /// One event of symbol `i` at time `t`: a few trades move the price, the open candle and
  /// the 24h statistics; emits a kline update (usually) and a ticker.
  private mutating func event(_ i: Int, time t: Int64, into out: inout [String]) {
    var s = syms[i]
    let g = rng.gauss()
    var r: Double
    let pExpected: Double
    switch s.regime {
    case .normal:
      r = s.sigma * g - s.revert * (s.price / s.o24 - 1 - s.target)
      pExpected = 0.2
    case .bleed:
      r = s.drift + min(0.5 * s.sigma, abs(s.drift)) * g
      pExpected = 0.48
    default:
      r = s.drift + min(0.5 * s.sigma, abs(s.drift)) * g
      pExpected = 0.78
    }
    r = min(0.15, max(-0.15, r))
    s.price = max(s.minPrice, s.price * (1 + r))
    s.o24 *= 1 + 0.01 * s.sigma * rng.gauss()

    let stepMinutes = Double(cycle) / Double(Self.minute)
    let mult = s.regime == .normal ? 1.0 : s.volMult
    let vol = s.volPerMin * stepMinutes / pExpected * mult * rng.range(0.4, 1.6)
    let trades = max(
      1, Int64(s.tradesPerMin * stepMinutes / pExpected * mult * rng.range(0.5, 1.5)))
    let takerLo = s.regime == .normal ? 0.35 : s.takerLo
    let tb = rng.range(takerLo, takerLo + 0.3)
    s.lastQty = vol / Double(trades) * rng.range(0.2, 1.8)

    let pt = s.ticks(s.price)
    if s.candle.n == 0 {
      s.candle.firstId = s.lastTradeId + 1
      s.candle.o = pt
      s.candle.h = pt
      s.candle.l = pt
    }
    s.candle.h = max(s.candle.h, pt)
    s.candle.l = min(s.candle.l, pt)
    s.candle.c = pt
    s.candle.v += vol
    s.candle.q += vol * s.price
    s.candle.vb += vol * tb
    s.candle.qb += vol * tb * s.price
    s.candle.n += trades
    s.lastTradeId += trades
    s.candle.lastId = s.lastTradeId

    let dt = Double(max(0, t - s.lastUpdate))
    let decay = max(0, 1 - dt / Double(Self.day))
    s.lastUpdate = t
    s.v24 = s.v24 * decay + vol
    s.q24 = s.q24 * decay + vol * s.price
    s.n24 = min(s.n24 * decay + Double(trades), Double(s.lastTradeId))
    s.h24 = max(s.h24, s.price)
    s.l24 = min(s.l24, s.price)
    syms[i] = s

    if rng.next() % 100 < 85 {
      messages.kline(i, s.candle, pd: s.pd, vd: s.vd, eventTime: t, final: false, into: &out)
    }
    messages.ticker(i, s, eventTime: t, into: &out)
  }

  /// Minute boundary `b`: every symbol's candle of the previous minute gets its final update,
  /// then a new (empty) candle opens at the last price.
  private mutating func closeMinute(at b: Int64, into out: inout [String]) {
    for i in 0..<symbolCount {
      let c = syms[i].candle
      messages.kline(i, c, pd: syms[i].pd, vd: syms[i].vd, eventTime: b, final: true, into: &out)
      ring[i * Self.ringSize + ringHead] = Double(c.h) / syms[i].scale
      syms[i].candle = SimCandle(t: b, o: c.c, h: c.c, l: c.c, c: c.c)
    }
    ringHead = (ringHead + 1) % Self.ringSize
    currentMinute = b
  }
}
