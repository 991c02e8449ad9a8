import Cluster
import Engine
import Evaluation
import Testing
import Tracking

@Suite struct WireCodecTests {
  static let awkwardNumbers: [Double] = [
    0, -0.0, 1, -1.5, 0.1, 1e-300, .leastNonzeroMagnitude, 1.7976931348623157e308, .infinity,
    -.infinity, .nan,
    734.98, 0.00769267,
  ]

  @Test("market events survive the bus body bit for bit")
  func eventsRoundTrip() throws {
    var rng = SystemRandomNumberGenerator()
    var events: [MarketEvent] = []
    for i in 0..<500 {
      let x = { Self.awkwardNumbers.randomElement(using: &rng) ?? 0 }
      let symbol = ["BTCUSDT", "A", "ÉTHUSDT", "X\(i)"].randomElement(using: &rng) ?? "S"
      if Bool.random(using: &rng) {
        var f = TickerFields()
        f.price = x()
        f.open = x()
        f.high = x()
        f.low = x()
        f.volume = x()
        f.quoteVolume = x()
        f.change = x()
        f.changePct = x()
        f.vwap = x()
        f.bid = x()
        f.ask = x()
        events.append(
          .ticker(
            TickerEvent(
              symbol: symbol, eventTime: Int64.random(in: -5...Int64.max / 2, using: &rng),
              isMini: Bool.random(using: &rng), fields: f)))
      } else {
        events.append(
          .kline(
            KlineEvent(
              symbol: symbol, eventTime: Int64(i), interval: ["1m", "1h", "1M"][i % 3],
              openTime: Int64(i) * 60_000, open: x(), high: x(), low: x(), close: x(),
              volume: x(), isClosed: Bool.random(using: &rng))))
      }
    }
    let body = EventCodec.encode(events)
    let decoded = try EventCodec.decode(body)
    #expect(decoded.count == events.count)
    // NaN is unequal to itself: compare the re-encoded bytes.
    #expect(EventCodec.encode(decoded) == body)
    #expect(try EventCodec.decode(EventCodec.encode([])).isEmpty)
  }

  @Test("diffs survive the bus body, in order")
  func diffsRoundTrip() throws {
    let diffs = [
      ResolvedDiff(strategy: "a", symbol: "BTCUSDT", isEnter: true, price: 1.5, info: nil),
      ResolvedDiff(strategy: "a.b", symbol: "X", isEnter: false, price: -0.0, info: .integer(-7)),
      ResolvedDiff(strategy: "z", symbol: "ü", isEnter: true, price: 1e308, info: .number(0.1)),
      ResolvedDiff(strategy: "", symbol: "", isEnter: false, price: 3, info: .string("a\"b\n")),
    ]
    #expect(try DiffCodec.decode(DiffCodec.encode(diffs)) == diffs)
    #expect(try DiffCodec.decode([]).isEmpty)
  }

  @Test("a cut or foreign body is an error, never a crash")
  func truncated() {
    let body = DiffCodec.encode([
      ResolvedDiff(strategy: "s", symbol: "BTCUSDT", isEnter: true, price: 2, info: .string("x"))
    ])
    for n in 2..<body.count {
      #expect(throws: WireError.self) { try DiffCodec.decode(Array(body.prefix(n))) }
    }
    #expect(throws: WireError.self) { try DiffCodec.decode([9]) }
    let events = EventCodec.encode([
      .kline(
        KlineEvent(
          symbol: "S", eventTime: 1, interval: "1m", openTime: 0, open: 1, high: 1, low: 1,
          close: 1, volume: 1, isClosed: true))
    ])
    for n in 2..<events.count {
      #expect(throws: WireError.self) { try EventCodec.decode(Array(events.prefix(n))) }
    }
  }

  @Test("strategy files survive the bus body and keep their hash")
  func codeRoundTrip() throws {
    let code = CodeSet(
      strategies: [
        StrategySource(
          id: "a", path: "s/a.lua", source: "return { filter = function(s) return true end }"),
        StrategySource(id: "b", path: "s/b.lua", source: "-- ü\nreturn {}"),
      ],
      plugins: [StrategySource(id: "lib", path: "p/lib.lua", source: "return {}")])
    let decoded = try CodeCodec.decode(CodeCodec.encode(code))
    #expect(decoded == code)
    #expect(CodeCodec.hash(decoded) == CodeCodec.hash(code))
    var changed = code
    changed.strategies[1].source += " "
    #expect(CodeCodec.hash(changed) != CodeCodec.hash(code))
  }
}
