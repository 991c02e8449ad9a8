// The simulator's output: Binance 24hrTicker and kline_1m messages as JSON text lines, most in
// the combined-stream envelope (`{"stream":"btcusdt@ticker","data":{...}}`), some raw, so that
// the simulator exercises both forms the parser reads.
//
// Numbers are formatted from integers (prices in ticks, other values rounded to a fixed number
// of decimals), never through `Double.description` or libc: the same state gives the same bytes
// on every platform.

/// Writes the simulator's messages, one `String` per message.
struct SimulatorMessages: Sendable {
  /// Share of messages sent raw (without the combined-stream envelope), in percent.
  private static let rawPercent: UInt64 = 8

  /// Mixed into the choice of raw messages, so that it depends on the configuration's seed.
  private let seed: UInt64
  /// Symbol names as in the payload's `"s"` (uppercase) and in the stream name (lowercase).
  private let upperNames: [[UInt8]]
  private let lowerNames: [[UInt8]]
  /// The message being written; kept from one message to the next for its capacity.
  private var buf: [UInt8] = []

  init(symbolNames: [String], seed: UInt64) {
    self.seed = seed
    upperNames = symbolNames.map { Array($0.utf8) }
    lowerNames = symbolNames.map { name in
      name.utf8.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 }
    }
    buf.reserveCapacity(640)
  }

  /// Whether the message of symbol `i` at event time `e` goes out raw: a hash of both, so the
  /// choice does not consume the model's random stream.
  private func isRaw(_ i: Int, _ e: Int64, _ salt: UInt64) -> Bool {
    var x = seed ^ UInt64(bitPattern: e) ^ (UInt64(i) << 40) ^ salt
    return simSplitMix64(&x) % 100 < Self.rawPercent
  }

  private mutating func beginMessage(_ i: Int, raw: Bool, stream: StaticString) {
    buf.removeAll(keepingCapacity: true)
    if !raw {
      lit("{\"stream\":\"")
      buf.append(contentsOf: lowerNames[i])
      lit(stream)
      lit("\",\"data\":")
    }
  }

  private mutating func endMessage(raw: Bool, into out: inout [String]) {
    if !raw { buf.append(125) }  // }
    out.append(String(decoding: buf, as: UTF8.self))
  }

  /// A kline update of symbol `i`'s candle `c`, prices with `pd` decimals and base volumes with
  /// `vd`; `final` marks the candle's last update (`"x":true`).
  mutating func kline(
    _ i: Int, _ c: SimCandle, pd: Int, vd: Int, eventTime e: Int64, final: Bool,
    into out: inout [String]
  ) {
    let raw = isRaw(i, e, final ? 0x4B_4C_58 : 0x4B_4C)
    beginMessage(i, raw: raw, stream: "@kline_1m")
    lit("{\"e\":\"kline\",\"E\":")
    int(e)
    lit(",\"s\":\"")
    buf.append(contentsOf: upperNames[i])
    lit("\",\"k\":{\"t\":")
    int(c.t)
    lit(",\"T\":")
    int(c.t + MarketSimulator.minute - 1)
    lit(",\"s\":\"")
    buf.append(contentsOf: upperNames[i])
    lit("\",\"i\":\"1m\",\"f\":")
    int(c.n == 0 ? -1 : c.firstId)
    lit(",\"L\":")
    int(c.n == 0 ? -1 : c.lastId)
    lit(",\"o\":\"")
    fixed(c.o, pd)
    lit("\",\"c\":\"")
    fixed(c.c, pd)
    lit("\",\"h\":\"")
    fixed(c.h, pd)
    lit("\",\"l\":\"")
    fixed(c.l, pd)
    lit("\",\"v\":\"")
    dec(c.v, vd)
    lit("\",\"n\":")
    int(c.n)
    lit(final ? ",\"x\":true,\"q\":\"" : ",\"x\":false,\"q\":\"")
    dec(c.q, 4)
    lit("\",\"V\":\"")
    dec(c.vb, vd)
    lit("\",\"Q\":\"")
    dec(c.qb, 4)
    lit("\",\"B\":\"0\"}}")
    endMessage(raw: raw, into: &out)
  }

  /// A 24hrTicker of symbol `i`, whose state is `s`.
  mutating func ticker(_ i: Int, _ s: SimSymbol, eventTime e: Int64, into out: inout [String]) {
    let raw = isRaw(i, e, 0x54_4B)
    let pd = s.pd
    let c = s.ticks(s.price)
    let o = max(1, s.ticks(s.o24))
    let h = max(s.ticks(s.h24), c, o)
    let l = max(1, min(s.ticks(s.l24), c, o))
    let w = min(h, max(l, s.ticks(s.v24 > 0 ? s.q24 / s.v24 : s.price)))
    let spread = max(1, simScaledInt(Double(c) * s.spreadBp * 1e-4))
    var hx = UInt64(bitPattern: s.lastTradeId) ^ UInt64(bitPattern: e) ^ seed
    let bidQty = s.volPerMin * (0.01 + Double(simSplitMix64(&hx) % 1000) / 5000)
    let askQty = s.volPerMin * (0.01 + Double(simSplitMix64(&hx) % 1000) / 5000)
    let n = max(1, min(Int64(s.n24), s.lastTradeId))
    let changePct = 100 * Double(c - o) / Double(o)

    beginMessage(i, raw: raw, stream: "@ticker")
    lit("{\"e\":\"24hrTicker\",\"E\":")
    int(e)
    lit(",\"s\":\"")
    buf.append(contentsOf: upperNames[i])
    lit("\",\"p\":\"")
    fixed(c - o, pd)
    lit("\",\"P\":\"")
    dec(changePct, 2)
    lit("\",\"w\":\"")
    fixed(w, pd)
    lit("\",\"x\":\"")
    fixed(o, pd)
    lit("\",\"c\":\"")
    fixed(c, pd)
    lit("\",\"Q\":\"")
    dec(s.lastQty, s.vd)
    lit("\",\"b\":\"")
    fixed(c - spread, pd)
    lit("\",\"B\":\"")
    dec(bidQty, s.vd)
    lit("\",\"a\":\"")
    fixed(c + spread, pd)
    lit("\",\"A\":\"")
    dec(askQty, s.vd)
    lit("\",\"o\":\"")
    fixed(o, pd)
    lit("\",\"h\":\"")
    fixed(h, pd)
    lit("\",\"l\":\"")
    fixed(l, pd)
    lit("\",\"v\":\"")
    dec(s.v24, s.vd)
    lit("\",\"q\":\"")
    dec(s.q24, 4)
    lit("\",\"O\":")
    int(e - MarketSimulator.day)
    lit(",\"C\":")
    int(e)
    lit(",\"F\":")
    int(s.lastTradeId - n + 1)
    lit(",\"L\":")
    int(s.lastTradeId)
    lit(",\"n\":")
    int(n)
    lit("}")
    endMessage(raw: raw, into: &out)
  }

  // MARK: - Numbers and text

  private mutating func lit(_ s: StaticString) {
    s.withUTF8Buffer { buf.append(contentsOf: $0) }
  }

  private mutating func int(_ v: Int64) {
    if v < 0 { buf.append(45) }
    appendDigits(v.magnitude)
  }

  private mutating func appendDigits(_ m: UInt64) {
    let start = buf.count
    var x = m
    repeat {
      buf.append(48 + UInt8(x % 10))
      x /= 10
    } while x > 0
    buf[start...].reverse()
  }

  /// `scaled / 10^decimals` as a plain decimal: digits, optional '-', '.' when decimals > 0.
  private mutating func fixed(_ scaled: Int64, _ decimals: Int) {
    if scaled < 0 { buf.append(45) }
    let m = scaled.magnitude
    if decimals <= 0 {
      appendDigits(m)
      return
    }
    let p = UInt64(simPow10(decimals))
    appendDigits(m / p)
    buf.append(46)
    var f = m % p
    var q = p / 10
    while q > 0 {
      buf.append(48 + UInt8(f / q))
      f %= q
      q /= 10
    }
  }

  /// `x` rounded to `decimals` (half away from zero), formatted as a plain decimal.
  private mutating func dec(_ x: Double, _ decimals: Int) {
    fixed(simScaledInt(x * simPow10(decimals)), decimals)
  }
}
