import Feeds
import Testing
import Tracking

/// Well-formed messages: every event type, the envelope, arrays, and what each event holds.
extension BinanceParserTests {
  // MARK: - Well-formed messages

  @Test("raw 24hrTicker maps every field")
  static func rawTicker() {
    let r = parse(ticker)
    #expect(r.skipped == 0 && r.unknown == 0 && r.firstError == nil)
    #expect(r.events == [.ticker(expectedTicker())])
    let t = onlyTicker(r)
    #expect(t?.isMini == false)
    #expect(t?.fields.price == 0.0025 && t?.fields.changePct == 250 && t?.fields.ask == 0.0026)
  }

  @Test("combined-stream envelope around a ticker, in either key order")
  static func envelopeTicker() {
    for line in [
      "{\"stream\":\"bnbbtc@ticker\",\"data\":\(ticker)}",
      "{\"data\":\(ticker),\"stream\":\"bnbbtc@ticker\"}",
      " { \"data\" : \(ticker) } ",
    ] {
      let r = parse(line)
      #expect(r.events == [.ticker(expectedTicker())], "\(line)")
      #expect(r.skipped == 0 && r.unknown == 0 && r.firstError == nil)
    }
  }

  @Test("envelope around an array of tickers (!ticker@arr)")
  static func envelopeArray() {
    let a = tickerJSON(symbol: "AAA", time: 1)
    let b = tickerJSON(symbol: "BBB", time: 2)
    let r = parse("{\"stream\":\"!ticker@arr\",\"data\":[\(a),\(b)]}")
    #expect(r.events.map(\.symbol) == ["AAA", "BBB"])
    #expect(r.events.map(\.eventTime) == [1, 2])
    #expect(r.skipped == 0 && r.unknown == 0)
  }

  @Test("an object with an e key is an event even if it has a data key")
  static func eKeyBeatsEnvelope() {
    let line = object(with(tickerPairs, "data", "[\(ticker),\(ticker),5]"))
    let r = parse(line)
    #expect(r.events == [.ticker(expectedTicker())])
    #expect(r.skipped == 0 && r.unknown == 0 && r.firstError == nil)
    // "data" that is not an object/array: not an envelope, so an event without "e".
    let r2 = parse("{\"stream\":\"x\",\"data\":\"abc\"}")
    #expect(r2.events.isEmpty && r2.unknown == 1 && r2.skipped == 0)
    // The envelope is one level only.
    let r3 = parse("{\"data\":{\"data\":\(ticker)}}")
    #expect(r3.events.isEmpty && r3.unknown == 1)
    // The last "data" wins.
    let r4 = parse("{\"data\":\(tickerJSON(symbol: "A")),\"data\":\(tickerJSON(symbol: "B"))}")
    #expect(r4.events.map(\.symbol) == ["B"])
    let r5 = parse("{\"data\":\(tickerJSON(symbol: "A", c: "x")),\"data\":null}")
    #expect(r5.events.isEmpty && r5.skipped == 0 && r5.unknown == 1 && r5.firstError == nil)
  }

  @Test("array of tickers with one bad element skips only that element")
  static func arrayWithBadElement() {
    let good1 = tickerJSON(symbol: "AAA", time: 1)
    let bad = tickerJSON(symbol: "BAD", time: 2, c: "12..5")
    let good2 = tickerJSON(symbol: "CCC", time: 3)
    let r = parse("[\(good1),\(bad),\(good2)]")
    #expect(r.events.map(\.symbol) == ["AAA", "CCC"])
    #expect(r.skipped == 1 && r.unknown == 0)
    #expect(r.firstError == "24hrTicker: field \"c\" is not a plain decimal (\"12..5\")")
  }

  @Test("array elements that are not objects are bad elements")
  static func nonObjectElements() {
    let r = parse("[\(ticker), 5, \"x\", null, [], true, \(ticker)]")
    #expect(r.events.count == 2)
    #expect(r.skipped == 5 && r.unknown == 0)
    #expect(r.firstError == "array element 1 is not an object")
    let empty = parse("[ ]")
    #expect(empty.events.isEmpty && empty.skipped == 0 && empty.unknown == 0)
  }

  @Test("the first error describes the first problem")
  static func firstErrorIsFirst() {
    let a = object(with(tickerPairs, "E", nil))
    let b = object(with(klinePairs(with(kPairs, "t", nil)), "E", "5"))
    let r = parse("[\(b),\(a)]")
    #expect(r.skipped == 2)
    #expect(r.firstError == "kline: missing field \"k.t\"")
  }

  @Test("mini ticker sets only its fields")
  static func miniTicker() {
    let r = parse(mini)
    guard let t = onlyTicker(r) else {
      Issue.record("no ticker: \(r)")
      return
    }
    #expect(t.isMini && t.symbol == "BNBBTC" && t.eventTime == 1_672_515_782_136)
    var f = TickerFields()
    f.price = 0.0025
    f.open = 0.0010
    f.high = 0.0025
    f.low = 0.0010
    f.volume = 10000
    f.quoteVolume = 18
    #expect(t.fields == f)
    #expect(
      t.fields.change.isNaN && t.fields.vwap.isNaN && t.fields.bid.isNaN && t.fields.ask.isNaN)
    // Full-ticker-only keys are neither read nor validated in a mini ticker.
    var extra = miniPairs
    for key in ["p", "P", "w", "b", "B", "a", "A", "Q"] { extra = with(extra, key, "\"12..5\"") }
    let r2 = parse(object(extra))
    #expect(r2.events == r.events && r2.skipped == 0)
    // An array of mini tickers.
    let r3 = parse("[\(mini),\(mini),\(mini)]")
    #expect(r3.events.count == 3 && r3.skipped == 0)
  }

  @Test("kline open, closed, and without x")
  static func klineOpenClosed() {
    let expectedOpen = KlineEvent(
      symbol: "BNBBTC", eventTime: 1_672_515_782_136, interval: "1m", openTime: 1_672_515_780_000,
      open: 0.0010, high: 0.0025, low: 0.0015, close: 0.0020, volume: 1000, isClosed: false)
    #expect(parse(kline).events == [.kline(expectedOpen)])
    var closed = expectedOpen
    closed.isClosed = true
    #expect(parse(object(klinePairs(with(kPairs, "x", "true")))).events == [.kline(closed)])
    #expect(parse(object(klinePairs(with(kPairs, "x", nil)))).events == [.kline(expectedOpen)])
    #expect(parse(object(klinePairs(with(kPairs, "x", "null")))).events == [.kline(expectedOpen)])
    expectRejected(
      object(klinePairs(with(kPairs, "x", "\"true\""))), "kline: field \"k.x\" is not a boolean")
    // Top-level ticker keys are not read or validated for a kline.
    let extra = with(with(klinePairs(), "c", "\"12..5\""), "p", "true")
    #expect(parse(object(extra)).events == [.kline(expectedOpen)])
    // Envelope.
    let env = parse("{\"stream\":\"bnbbtc@kline_1m\",\"data\":\(kline)}")
    #expect(env.events == [.kline(expectedOpen)])
  }
}
