import Feeds
import Foundation
import Testing
import Tracking

/// Tests of the Binance message scanner (`BinanceParser`).
@Suite("BinanceParser")
struct BinanceParserTests {
  // MARK: - Fixtures and helpers

  private static let parser = BinanceParser()

  private static func parse(_ line: String) -> BinanceParseResult { parser.parse(line) }

  private static func parse(bytes: [UInt8]) -> BinanceParseResult {
    bytes.withUnsafeBytes { parser.parse($0) }
  }

  /// Key/raw-JSON-value pairs, serialized in order.
  private typealias Pairs = [(String, String)]

  private static func object(_ pairs: Pairs) -> String {
    "{" + pairs.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
  }

  private static func with(_ pairs: Pairs, _ key: String, _ value: String?) -> Pairs {
    var out = pairs
    if let index = out.firstIndex(where: { $0.0 == key }) {
      if let value { out[index].1 = value } else { out.remove(at: index) }
    } else if let value {
      out.append((key, value))
    }
    return out
  }

  private static let tickerPairs: Pairs = [
    ("e", "\"24hrTicker\""), ("E", "1672515782136"), ("s", "\"BNBBTC\""), ("p", "\"0.0015\""),
    ("P", "\"250.00\""), ("w", "\"0.0018\""), ("x", "\"0.0009\""), ("c", "\"0.0025\""),
    ("Q", "\"10\""), ("b", "\"0.0024\""), ("B", "\"10\""), ("a", "\"0.0026\""), ("A", "\"100\""),
    ("o", "\"0.0010\""), ("h", "\"0.0025\""), ("l", "\"0.0010\""), ("v", "\"10000\""),
    ("q", "\"18\""), ("O", "0"), ("C", "86400000"), ("F", "0"), ("L", "18150"), ("n", "18151"),
  ]

  private static let miniPairs: Pairs = [
    ("e", "\"24hrMiniTicker\""), ("E", "1672515782136"), ("s", "\"BNBBTC\""), ("c", "\"0.0025\""),
    ("o", "\"0.0010\""), ("h", "\"0.0025\""), ("l", "\"0.0010\""), ("v", "\"10000\""),
    ("q", "\"18\""),
  ]

  private static let kPairs: Pairs = [
    ("t", "1672515780000"), ("T", "1672515839999"), ("s", "\"BNBBTC\""), ("i", "\"1m\""),
    ("f", "100"), ("L", "200"), ("o", "\"0.0010\""), ("c", "\"0.0020\""), ("h", "\"0.0025\""),
    ("l", "\"0.0015\""), ("v", "\"1000\""), ("n", "100"), ("x", "false"), ("q", "\"1.0000\""),
    ("V", "\"500\""), ("Q", "\"0.500\""), ("B", "\"123456\""),
  ]

  private static func klinePairs(_ k: Pairs = kPairs) -> Pairs {
    [("e", "\"kline\""), ("E", "1672515782136"), ("s", "\"BNBBTC\""), ("k", object(k))]
  }

  private static let ticker = object(tickerPairs)
  private static let mini = object(miniPairs)
  private static let kline = object(klinePairs())

  private static func tickerJSON(symbol: String, time: Int64 = 1, c: String = "1.5") -> String {
    object(with(with(with(tickerPairs, "s", "\"\(symbol)\""), "E", "\(time)"), "c", "\"\(c)\""))
  }

  private static func expectedTicker(
    symbol: String = "BNBBTC", time: Int64 = 1_672_515_782_136, c: Double = 0.0025
  ) -> TickerEvent {
    var f = TickerFields()
    f.price = c
    f.open = 0.0010
    f.high = 0.0025
    f.low = 0.0010
    f.volume = 10000
    f.quoteVolume = 18
    f.change = 0.0015
    f.changePct = 250
    f.vwap = 0.0018
    f.bid = 0.0024
    f.ask = 0.0026
    return TickerEvent(symbol: symbol, eventTime: time, isMini: false, fields: f)
  }

  private static func onlyTicker(_ r: BinanceParseResult) -> TickerEvent? {
    guard r.events.count == 1, case .ticker(let t) = r.events[0] else { return nil }
    return t
  }

  private static func onlyKline(_ r: BinanceParseResult) -> KlineEvent? {
    guard r.events.count == 1, case .kline(let k) = r.events[0] else { return nil }
    return k
  }

  private static func isInvalidJSON(_ r: BinanceParseResult) -> Bool {
    r.events.isEmpty && r.skipped == 1 && r.unknown == 0
      && (r.firstError?.hasPrefix("invalid JSON at byte ") ?? false)
  }

  private static func expectRejected(
    _ line: String, _ message: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let r = parse(line)
    #expect(r.events.isEmpty, "\(line)", sourceLocation: sourceLocation)
    #expect(r.skipped == 1, "\(line)", sourceLocation: sourceLocation)
    #expect(r.unknown == 0, sourceLocation: sourceLocation)
    #expect(r.firstError != nil, sourceLocation: sourceLocation)
    #expect(!(r.firstError?.hasPrefix("invalid JSON") ?? false), sourceLocation: sourceLocation)
    if let message { #expect(r.firstError == message, sourceLocation: sourceLocation) }
  }

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

  // MARK: - Field validation

  private static let badDecimals = [
    "", "12..5", "nan", "inf", "0x1F", "1e5", "+1", "1.", ".5", " 1",
  ]

  @Test("number strings that are not plain decimals reject the event", arguments: badDecimals)
  static func invalidNumberStrings(bad: String) {
    let quoted = "\"\(bad)\""
    let expectedText = "(\"\(bad)\")"
    for key in ["p", "P", "w", "c", "Q", "b", "B", "a", "A", "o", "h", "l", "v", "q"] {
      expectRejected(
        object(with(tickerPairs, key, quoted)),
        "24hrTicker: field \"\(key)\" is not a plain decimal \(expectedText)")
    }
    for key in ["c", "o", "h", "l", "v", "q"] {
      expectRejected(
        object(with(miniPairs, key, quoted)),
        "24hrMiniTicker: field \"\(key)\" is not a plain decimal \(expectedText)")
    }
    for key in ["o", "c", "h", "l", "v", "q", "V", "Q", "B"] {
      expectRejected(
        object(klinePairs(with(kPairs, key, quoted))),
        "kline: field \"k.\(key)\" is not a plain decimal \(expectedText)")
    }
    // Other look-alikes.
    for other in [
      "-", "--1", "1-", "1.2.3", "١", "1_000", "1,5", "0.5 ", "-.5", "1e-5", "Infinity",
    ] {
      expectRejected(object(with(tickerPairs, "c", "\"\(other)\"")))
    }
  }

  @Test("plain decimals parse exactly like Double(String)")
  static func decimalValues() {
    var fixed = [
      "0", "-0", "00012", "1.000", "-1.5", "0.1", "0.2", "0.3", "123.456", "9007199254740993",
      "9007199254740992.5", "18446744073709551615", "18446744073709551616", "1.7976931348623157",
      "0.0000000000000000000000001", "12345678901234567890123456789.123456789",
      "43250.12000000", "0.00000001", "99999999999999999999", "4.9406564584124654",
      "2.2250738585072011", "123456789012.12345678", "0.30000000000000004441",
    ]
    var rng = SplitMix64(seed: 42)
    for _ in 0..<3000 { fixed.append(randomDecimal(&rng)) }
    let line = "[" + fixed.map { tickerJSON(symbol: "X", c: $0) }.joined(separator: ",") + "]"
    let r = parse(line)
    #expect(r.events.count == fixed.count && r.skipped == 0)
    for (text, event) in zip(fixed, r.events) {
      guard case .ticker(let t) = event else { continue }
      let want = Double(text)!
      #expect(t.fields.price.bitPattern == want.bitPattern, "\(text): \(t.fields.price) vs \(want)")
    }
  }

  @Test("number fields given as JSON numbers are accepted when finite")
  static func jsonNumbersInNumberFields() {
    let cases: [(String, Double)] = [
      ("12.5", 12.5), ("-0.25", -0.25), ("1e3", 1000), ("2.5E-3", 0.0025), ("7", 7), ("1e-400", 0),
    ]
    for (json, value) in cases {
      let t = onlyTicker(parse(object(with(tickerPairs, "c", json))))
      #expect(t?.fields.price == value, "\(json)")
      let k = onlyKline(parse(object(klinePairs(with(kPairs, "o", json)))))
      #expect(k?.open == value, "\(json)")
    }
    expectRejected(
      object(with(tickerPairs, "c", "1e400")), "24hrTicker: field \"c\" is not a finite number")
    expectRejected(
      object(with(tickerPairs, "h", "-1e999")), "24hrTicker: field \"h\" is not a finite number")
    for other in ["true", "false", "{}", "[\"1\"]"] {
      expectRejected(
        object(with(tickerPairs, "c", other)), "24hrTicker: field \"c\" is not a number string")
    }
  }

  @Test("E and k.t must be JSON integers")
  static func integerFields() {
    for bad in ["\"1672515782136\"", "1.5", "1e3", "1.0", "99999999999999999999", "true", "{}"] {
      expectRejected(
        object(with(tickerPairs, "E", bad)), "24hrTicker: field \"E\" is not a JSON integer")
      expectRejected(
        object(with(miniPairs, "E", bad)), "24hrMiniTicker: field \"E\" is not a JSON integer")
      expectRejected(
        object(with(klinePairs(), "E", bad)), "kline: field \"E\" is not a JSON integer")
      expectRejected(
        object(klinePairs(with(kPairs, "t", bad))), "kline: field \"k.t\" is not a JSON integer")
    }
    #expect(onlyTicker(parse(object(with(tickerPairs, "E", "-5"))))?.eventTime == -5)
    #expect(
      onlyTicker(parse(object(with(tickerPairs, "E", "9223372036854775807"))))?.eventTime == .max)
    #expect(
      onlyTicker(parse(object(with(tickerPairs, "E", "-9223372036854775808"))))?.eventTime == .min)
    expectRejected(object(with(tickerPairs, "E", "9223372036854775808")))
    #expect(onlyKline(parse(object(klinePairs(with(kPairs, "t", "0")))))?.openTime == 0)
  }

  @Test("s and k.i must be non-empty strings")
  static func stringFields() {
    for bad in ["\"\"", "5", "true", "[\"BTC\"]"] {
      expectRejected(
        object(with(tickerPairs, "s", bad)), "24hrTicker: field \"s\" is not a non-empty string")
      expectRejected(
        object(with(klinePairs(), "s", bad)), "kline: field \"s\" is not a non-empty string")
      expectRejected(
        object(klinePairs(with(kPairs, "i", bad))), "kline: field \"k.i\" is not a non-empty string"
      )
    }
    expectRejected(object(with(klinePairs(), "k", "[1]")), "kline: field \"k\" is not an object")
    expectRejected(object(with(klinePairs(), "k", "\"x\"")), "kline: field \"k\" is not an object")
  }

  @Test(
    "missing required fields reject the event",
    arguments: [
      ("ticker", "E"), ("ticker", "s"), ("ticker", "c"), ("mini", "E"), ("mini", "s"),
      ("mini", "c"), ("kline", "E"), ("kline", "s"), ("kline", "k"), ("kline", "k.t"),
      ("kline", "k.i"), ("kline", "k.o"), ("kline", "k.h"), ("kline", "k.l"), ("kline", "k.c"),
      ("kline", "k.v"),
    ])
  static func missingFields(type: String, field: String) {
    for value in [nil, "null"] as [String?] {
      let line: String
      let name: String
      switch type {
      case "ticker":
        line = object(with(tickerPairs, field, value))
        name = "24hrTicker"
      case "mini":
        line = object(with(miniPairs, field, value))
        name = "24hrMiniTicker"
      default:
        if field.hasPrefix("k.") {
          line = object(klinePairs(with(kPairs, String(field.dropFirst(2)), value)))
        } else {
          line = object(with(klinePairs(), field, value))
        }
        name = "kline"
      }
      expectRejected(line, "\(name): missing field \"\(field)\"")
      // Inside an array, only that element is skipped.
      let r = parse("[\(ticker),\(line),\(kline)]")
      #expect(r.events.count == 2 && r.skipped == 1)
    }
  }

  @Test("optional fields that are absent or null are NaN")
  static func nullFields() {
    var pairs = tickerPairs
    for key in ["p", "P", "w", "Q", "b", "B", "a", "A", "o", "h", "l", "v", "q"] {
      pairs = with(pairs, key, key.first!.isUppercase ? nil : "null")
    }
    let t = onlyTicker(parse(object(pairs)))
    var f = TickerFields()
    f.price = 0.0025
    #expect(t?.fields == f)
    #expect(t?.symbol == "BNBBTC")
    // Optional kline volumes.
    var k = kPairs
    for key in ["q", "V", "Q", "B"] { k = with(k, key, "null") }
    #expect(onlyKline(parse(object(klinePairs(k)))) != nil)
    // "e": null is a missing type.
    let r = parse(object(with(tickerPairs, "e", "null")))
    #expect(r.events.isEmpty && r.unknown == 1 && r.skipped == 0)
  }

  @Test("duplicate keys: the last one wins")
  static func duplicateKeys() {
    let line = object(tickerPairs + [("c", "\"7.5\""), ("s", "\"ETHBTC\""), ("E", "42")])
    let t = onlyTicker(parse(line))
    #expect(t?.fields.price == 7.5 && t?.symbol == "ETHBTC" && t?.eventTime == 42)
    // A bad value replaced by a good one is fine, and the other way round is not.
    #expect(onlyTicker(parse(object([("c", "\"1..\"")] + tickerPairs))) != nil)
    expectRejected(object(tickerPairs + [("c", "\"1..\"")]))
    // The type.
    #expect(onlyTicker(parse(object([("e", "\"trade\"")] + tickerPairs))) != nil)
    let r = parse(object(tickerPairs + [("e", "\"trade\"")]))
    #expect(r.events.isEmpty && r.unknown == 1)
    // A present value replaced by null is absent.
    expectRejected(object(tickerPairs + [("c", "null")]), "24hrTicker: missing field \"c\"")
    // The k object.
    let k2 = object(with(kPairs, "i", "\"5m\""))
    let kl = onlyKline(parse(object(klinePairs() + [("k", k2)])))
    #expect(kl?.interval == "5m")
    expectRejected(object(klinePairs() + [("k", "{\"t\":1}")]), "kline: missing field \"k.i\"")
  }

  @Test("unknown and missing event types are counted, not errors")
  static func unknownTypes() {
    let trade =
      "{\"e\":\"trade\",\"E\":1,\"s\":\"BNBBTC\",\"t\":12345,\"p\":\"0.001\",\"q\":\"100\",\"T\":1,\"m\":true,\"M\":true}"
    let depth =
      "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BNBBTC\",\"U\":157,\"u\":160,\"b\":[[\"0.0024\",\"10\"]],\"a\":[[\"0.0026\",\"100\"]]}"
    for line in [
      trade, depth, "{}", "{\"s\":\"X\"}", "{\"e\":5}", "{\"e\":\"24hrticker\"}", "{\"e\":\"\"}",
    ] {
      let r = parse(line)
      #expect(
        r.events.isEmpty && r.unknown == 1 && r.skipped == 0 && r.firstError == nil, "\(line)")
    }
    let r = parse("[\(trade),\(ticker),\(depth),\(kline),{}]")
    #expect(r.events.count == 2 && r.unknown == 3 && r.skipped == 0 && r.firstError == nil)
    let env = parse("{\"stream\":\"bnbbtc@trade\",\"data\":\(trade)}")
    #expect(env.events.isEmpty && env.unknown == 1)
  }

  // MARK: - JSON syntax

  @Test(
    "invalid JSON skips the whole message",
    arguments: [
      String(ticker.dropLast()),  // truncated
      String(ticker.prefix(40)),
      "[" + ticker + "," + ticker,  // unterminated array
      ticker + "x",  // trailing garbage
      ticker + " " + ticker,
      "[\(ticker)]]",
      object(with(tickerPairs, "x", "\"bad \\q escape\"")),
      object(with(tickerPairs, "x", "\"\\u12G4\"")),
      object(with(tickerPairs, "x", "\"\\ud800\"")),  // lone high surrogate
      object(with(tickerPairs, "x", "\"\\udc00\\ud800\"")),  // reversed pair
      object(with(tickerPairs, "x", "\"\\ud800\\u0041\"")),
      "{e:\"24hrTicker\"}",  // unquoted key
      "{'e':'24hrTicker'}",
      "{\"e\":\"24hrTicker\",}",  // trailing comma
      "[\(ticker),]",
      "[,\(ticker)]",
      "{\"a\" 1}",
      "{\"a\":}",
      "{\"a\":1 \"b\":2}",
      "[1 2]",
      object(with(tickerPairs, "x", "01")),  // leading zero
      object(with(tickerPairs, "x", "1.")),
      object(with(tickerPairs, "x", "-")),
      object(with(tickerPairs, "x", "+1")),
      object(with(tickerPairs, "x", ".5")),
      object(with(tickerPairs, "x", "1e")),
      object(with(tickerPairs, "x", "NaN")),
      object(with(tickerPairs, "x", "tru")),
      object(with(tickerPairs, "x", "nul")),
      object(with(tickerPairs, "x", "True")),
      object(with(tickerPairs, "x", "\"tab\there\"")),  // raw control character
      object(with(tickerPairs, "x", "\"new\nline\"")),
      "{\"data\":[\(ticker)}",
      "{\"a\":[1,{\"b\":[}]}",
      String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
      "\u{FEFF}" + ticker,  // byte order mark is not whitespace
      "\u{0B}" + ticker,  // vertical tab is not whitespace
    ])
  static func invalidJSON(line: String) {
    #expect(isInvalidJSON(parse(line)), "\(line.prefix(80))")
    #expect(isInvalidJSON(parse("[\(line)]")), "[\(line.prefix(80))")
  }

  @Test("invalid UTF-8 inside strings is invalid JSON")
  static func invalidUTF8() {
    let prefix = Array("[{\"e\":\"x\",\"y\":\"".utf8)
    let suffix = Array("\"}]".utf8)
    let bad: [[UInt8]] = [
      [0x80], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80],
      [0xF5, 0x80, 0x80, 0x80],
      [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xFF], [0xF0, 0x9F, 0x98],
    ]
    for b in bad { #expect(isInvalidJSON(parse(bytes: prefix + b + suffix)), "\(b)") }
    let good: [[UInt8]] = [
      [0xC2, 0x80], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xF0, 0x9F, 0x98, 0x80],
      [0xF4, 0x8F, 0xBF, 0xBF],
    ]
    for b in good {
      let r = parse(bytes: prefix + b + suffix)
      #expect(r.unknown == 1 && r.skipped == 0, "\(b)")
    }
    #expect(isInvalidJSON(parse(bytes: [0x5B, 0x80, 0x5D])))
  }

  @Test("the error names the byte offset")
  static func errorOffset() {
    #expect(parse("{\"e\":\"24hrTicker\",}").firstError == "invalid JSON at byte 18")
    #expect(parse("[1,2").firstError == "invalid JSON at byte 4")
    #expect(parse("  x").firstError == "invalid JSON at byte 2")
  }

  @Test("top-level values that are not objects or arrays are skipped")
  static func topLevelScalars() {
    for line in ["42", "\"24hrTicker\"", "null", "true", " -1.5e3 "] {
      let r = parse(line)
      #expect(r.events.isEmpty && r.skipped == 1 && r.unknown == 0, "\(line)")
      #expect(r.firstError == "top-level value is not an object or array")
    }
  }

  @Test("blank lines yield nothing")
  static func blankLines() {
    for line in ["", " ", "\r", "\t \n", "\r\n"] {
      let r = parse(line)
      #expect(r.events.isEmpty && r.skipped == 0 && r.unknown == 0 && r.firstError == nil)
    }
    #expect(parser.parse(UnsafeRawBufferPointer(start: nil, count: 0)).skipped == 0)
  }

  @Test("surrounding whitespace and a trailing CR are allowed")
  static func surroundingWhitespace() {
    for line in [" \(ticker)", "\(ticker)\r", "\t\(ticker) \r", "\n\(ticker)\r\n"] {
      #expect(parse(line).events == [.ticker(expectedTicker())])
    }
  }

  @Test("the parser reads only the bytes it is given")
  static func boundedBuffer() {
    let text = Array((ticker + "garbage").utf8)
    let r = text.withUnsafeBytes {
      parser.parse(UnsafeRawBufferPointer(rebasing: $0[0..<ticker.utf8.count]))
    }
    #expect(r.events == [.ticker(expectedTicker())])
    let cut = text.withUnsafeBytes { parser.parse(UnsafeRawBufferPointer(rebasing: $0[0..<10])) }
    #expect(isInvalidJSON(cut) && cut.firstError == "invalid JSON at byte 10")
  }

  @Test("unicode escapes in ignored strings, keys, the symbol and the type")
  static func unicodeEscapes() {
    var pairs = with(tickerPairs, "s", "\"BTC\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\n\"")
    pairs = with(pairs, "x", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\uFFFF\\uD834\\uDD1E é 😀\"")
    pairs.append(("\\u00e9\\uD83D\\uDE00", "\"ok\""))
    let t = onlyTicker(parse(object(pairs)))
    #expect(t?.symbol == "BTCé😀\"\\/\n")
    #expect(t?.fields == expectedTicker().fields)
    // Raw UTF-8 in the symbol.
    #expect(onlyTicker(parse(object(with(tickerPairs, "s", "\"ÉTH€😀\""))))?.symbol == "ÉTH€😀")
    // Escaped keys and type, escaped number strings.
    let escaped: Pairs = [
      ("\\u0065", "\"\\u0032\\u0034hrTicker\""), ("\\u0045", "5"), ("s", "\"X\""),
      ("\\u0063", "\"\\u0031.5\""), ("da\\u0074a", "{}"),
    ]
    let e = onlyTicker(parse(object(escaped)))
    #expect(e?.fields.price == 1.5 && e?.eventTime == 5)
    expectRejected(object(with(tickerPairs, "c", "\"1\\u002e\\u002e5\"")))
    // An escaped interval.
    #expect(
      onlyKline(parse(object(klinePairs(with(kPairs, "i", "\"\\u0031m\"")))))?.interval == "1m")
    // An escaped "data" key is the envelope.
    #expect(parse("{\"d\\u0061ta\":\(ticker)}").events.count == 1)
  }

  @Test(
    "symbols and intervals of any length, escaped or not, equal the same names built from strings")
  static func namesOfAnyLength() {
    for length in [1, 7, 30, 31, 32, 33, 64, 200] {
      let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
      let name = String((0..<length).map { letters[$0 % letters.count] })
      let t = onlyTicker(parse(object(with(tickerPairs, "s", "\"\(name)\""))))
      #expect(t?.symbol == name)
      #expect(t?.symbolName == EventName(name))
      // The same name with its first letter escaped: the escaped path gives the same bits.
      let escaped = "\\u00" + String(name.utf8.first ?? 0, radix: 16) + name.dropFirst()
      #expect(
        onlyTicker(parse(object(with(tickerPairs, "s", "\"\(escaped)\""))))?.symbolName
          == EventName(name))
      let k = onlyKline(parse(object(klinePairs(with(kPairs, "i", "\"\(name)\"")))))
      #expect(k?.interval == name)
      #expect(k?.intervalName == EventName(name))
    }
  }

  @Test("nested ignored values are validated and ignored")
  static func nestedIgnoredValues() {
    let nested =
      "{\"c\":\"bad\",\"e\":\"kline\",\"data\":[1,{\"k\":{\"t\":\"x\"}}],\"deep\":[[[[{\"a\":[null,true,false,-0.5e-3,\"\\u20ac\"]}]]]],\"empty\":{},\"arr\":[]}"
    let pairs = with(
      with(tickerPairs, "x", nested), "zz", "[[], {}, [{}], {\"x\": [1, 2, {\"y\": null}]}]")
    #expect(parse(object(pairs)).events == [.ticker(expectedTicker())])
    let k = with(kPairs, "extra", nested)
    #expect(onlyKline(parse(object(klinePairs(k)))) != nil)
    // Up to 512 levels of nesting are accepted (the ticker object is the first), as JSONSerialization does.
    func nest(_ n: Int) -> String {
      String(repeating: "[", count: n) + String(repeating: "]", count: n)
    }
    #expect(parse(object(with(tickerPairs, "x", nest(511)))).events.count == 1)
    #expect(isInvalidJSON(parse(object(with(tickerPairs, "x", nest(512))))))
    for n in [511, 512, 513, 100_000] {
      let ours = !isInvalidJSON(parse(nest(n)))
      let theirs = (try? JSONSerialization.jsonObject(with: Data(nest(n).utf8))) != nil
      #expect(ours == theirs && ours == (n <= 512), "\(n)")
    }
  }

  @Test("big arrays keep their order")
  static func bigArrays() {
    let count = 5000
    let items = (0..<count).map { i -> String in
      switch i % 3 {
      case 0: tickerJSON(symbol: "S\(i)", time: Int64(i), c: "\(i).25")
      case 1: object(with(with(miniPairs, "s", "\"S\(i)\""), "E", "\(i)"))
      default: object(with(with(klinePairs(), "s", "\"S\(i)\""), "E", "\(i)"))
      }
    }
    let r = parse("{\"stream\":\"!ticker@arr\",\"data\":[" + items.joined(separator: ",") + "]}")
    #expect(r.events.count == count && r.skipped == 0 && r.unknown == 0)
    #expect(r.events.map(\.eventTime) == (0..<count).map { Int64($0) })
    #expect(r.events.map(\.symbol) == (0..<count).map { "S\($0)" })
    if case .ticker(let t) = r.events[3] {
      #expect(t.fields.price == 3.25)
    } else {
      Issue.record("not a ticker")
    }
  }

  // MARK: - Randomized

  private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  private static func chance(_ p: Double, _ rng: inout SplitMix64) -> Bool {
    Double.random(in: 0..<1, using: &rng) < p
  }

  private static func digits(_ count: Int, _ rng: inout SplitMix64) -> String {
    String((0..<count).map { _ in Character(String(Int.random(in: 0...9, using: &rng))) })
  }

  private static func randomDecimal(_ rng: inout SplitMix64) -> String {
    var s = chance(0.1, &rng) ? "-" : ""
    let longForm = chance(0.1, &rng)
    s += digits(Int.random(in: 1...(longForm ? 25 : 9), using: &rng), &rng)
    if chance(0.7, &rng) {
      s += "." + digits(Int.random(in: 1...(longForm ? 30 : 10), using: &rng), &rng)
    }
    return s
  }

  /// Random JSON whitespace (often none).
  private static func ws(_ rng: inout SplitMix64) -> String {
    guard chance(0.3, &rng) else { return "" }
    return String(
      (0..<Int.random(in: 1...3, using: &rng)).map { _ in
        [" ", "\t", "\n", "\r"].randomElement(using: &rng)!
      })
  }

  /// A JSON string literal for `s`, with characters randomly escaped.
  private static func quoted(_ s: String, _ rng: inout SplitMix64) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
      default:
        if chance(0.15, &rng) {
          if scalar.value > 0xFFFF {
            let v = scalar.value - 0x10000
            out += String(format: "\\u%04X\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
          } else if scalar == "/" && chance(0.5, &rng) {
            out += "\\/"
          } else {
            out += String(format: chance(0.5, &rng) ? "\\u%04x" : "\\u%04X", scalar.value)
          }
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }

  private static let symbolAlphabet =
    Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") + [
      "é", "€", "😀", "\"", "\\", "/", "\n", "\u{01}", "ß",
    ]

  private static func randomSymbol(_ rng: inout SplitMix64) -> String {
    let n = Int.random(in: 1...12, using: &rng)
    return String(
      (0..<n).map { _ in
        chance(0.9, &rng)
          ? symbolAlphabet[Int.random(in: 0..<36, using: &rng)]
          : symbolAlphabet.randomElement(using: &rng)!
      })
  }

  /// A random, valid JSON value as text (`depth` bounds the nesting).
  private static func randomJSON(_ rng: inout SplitMix64, depth: Int = 0) -> String {
    let pick = Int.random(in: 0..<(depth > 4 ? 6 : 8), using: &rng)
    switch pick {
    case 0: return "null"
    case 1: return chance(0.5, &rng) ? "true" : "false"
    case 2:
      var s = chance(0.3, &rng) ? "-" : ""
      s +=
        chance(0.2, &rng)
        ? "0"
        : String(Int.random(in: 1...9, using: &rng))
          + digits(Int.random(in: 0...8, using: &rng), &rng)
      if chance(0.4, &rng) { s += "." + digits(Int.random(in: 1...6, using: &rng), &rng) }
      if chance(0.2, &rng) {
        s += ["e", "E"].randomElement(using: &rng)! + ["", "+", "-"].randomElement(using: &rng)!
        s += String(Int.random(in: 0...99, using: &rng))
      }
      return s
    case 3, 4: return quoted(randomSymbol(&rng) + (chance(0.3, &rng) ? "\u{7F} x\u{1F}" : ""), &rng)
    case 5: return quoted(randomDecimal(&rng), &rng)
    case 6:
      let items = (0..<Int.random(in: 0...4, using: &rng)).map { _ in
        ws(&rng) + randomJSON(&rng, depth: depth + 1) + ws(&rng)
      }
      return "[" + (items.isEmpty ? ws(&rng) : items.joined(separator: ",")) + "]"
    default:
      let items = (0..<Int.random(in: 0...4, using: &rng)).map { _ in
        ws(&rng) + quoted(randomSymbol(&rng), &rng) + ws(&rng) + ":" + ws(&rng)
          + randomJSON(&rng, depth: depth + 1) + ws(&rng)
      }
      return "{" + (items.isEmpty ? ws(&rng) : items.joined(separator: ",")) + "}"
    }
  }

  /// Serializes a number field: usually a string, sometimes a JSON number of the same value.
  private static func numberValue(_ text: String, _ rng: inout SplitMix64) -> String {
    if chance(0.15, &rng) {
      // As a JSON number: no leading zeros allowed there.
      var t = text
      let neg = t.hasPrefix("-")
      if neg { t.removeFirst() }
      while t.count > 1 && t.hasPrefix("0") && !t.hasPrefix("0.") { t.removeFirst() }
      return (neg ? "-" : "") + t
    }
    return quoted(text, &rng)
  }

  private static func serialize(_ pairs: [(String, String)], _ rng: inout SplitMix64) -> String {
    let members = pairs.shuffled(using: &rng).map { key, value in
      ws(&rng) + quoted(key, &rng) + ws(&rng) + ":" + ws(&rng) + value + ws(&rng)
    }
    return "{" + (members.isEmpty ? ws(&rng) : members.joined(separator: ",")) + "}"
  }

  /// A random valid event object and the event the parser must produce from it (nil: unknown type).
  private static func randomEvent(_ rng: inout SplitMix64) -> (String, MarketEvent?) {
    let symbol = randomSymbol(&rng)
    let time =
      chance(0.05, &rng)
      ? Int64.random(in: .min ... .max, using: &rng)
      : Int64.random(in: 0...2_000_000_000_000, using: &rng)
    var pairs: [(String, String)] = [("E", "\(time)"), ("s", quoted(symbol, &rng))]
    func number(
      _ key: String, required: Bool, into pairs: inout [(String, String)], _ rng: inout SplitMix64
    ) -> Double {
      if !required && chance(0.15, &rng) {
        if chance(0.5, &rng) { pairs.append((key, "null")) }
        return .nan
      }
      let text = randomDecimal(&rng)
      pairs.append((key, numberValue(text, &rng)))
      return Double(text)!
    }
    func ignored(_ keys: [String], into pairs: inout [(String, String)], _ rng: inout SplitMix64) {
      for key in keys where chance(0.3, &rng) {
        pairs.append((key, chance(0.3, &rng) ? "\"12..5\"" : randomJSON(&rng)))
      }
    }
    switch Int.random(in: 0..<7, using: &rng) {
    case 0, 1:
      pairs.append(("e", quoted("24hrTicker", &rng)))
      var f = TickerFields()
      f.price = number("c", required: true, into: &pairs, &rng)
      f.change = number("p", required: false, into: &pairs, &rng)
      f.changePct = number("P", required: false, into: &pairs, &rng)
      f.vwap = number("w", required: false, into: &pairs, &rng)
      _ = number("Q", required: false, into: &pairs, &rng)
      f.bid = number("b", required: false, into: &pairs, &rng)
      _ = number("B", required: false, into: &pairs, &rng)
      f.ask = number("a", required: false, into: &pairs, &rng)
      _ = number("A", required: false, into: &pairs, &rng)
      f.open = number("o", required: false, into: &pairs, &rng)
      f.high = number("h", required: false, into: &pairs, &rng)
      f.low = number("l", required: false, into: &pairs, &rng)
      f.volume = number("v", required: false, into: &pairs, &rng)
      f.quoteVolume = number("q", required: false, into: &pairs, &rng)
      ignored(["x", "O", "C", "F", "L", "n", "stream", "ticker", "é"], into: &pairs, &rng)
      return (
        serialize(pairs, &rng),
        .ticker(TickerEvent(symbol: symbol, eventTime: time, isMini: false, fields: f))
      )
    case 2, 3:
      pairs.append(("e", quoted("24hrMiniTicker", &rng)))
      var f = TickerFields()
      f.price = number("c", required: true, into: &pairs, &rng)
      f.open = number("o", required: false, into: &pairs, &rng)
      f.high = number("h", required: false, into: &pairs, &rng)
      f.low = number("l", required: false, into: &pairs, &rng)
      f.volume = number("v", required: false, into: &pairs, &rng)
      f.quoteVolume = number("q", required: false, into: &pairs, &rng)
      ignored(["p", "P", "w", "b", "B", "a", "A", "Q", "x", "k"], into: &pairs, &rng)
      return (
        serialize(pairs, &rng),
        .ticker(TickerEvent(symbol: symbol, eventTime: time, isMini: true, fields: f))
      )
    case 4, 5:
      pairs.append(("e", quoted("kline", &rng)))
      let interval = ["1s", "1m", "3m", "1h", "1d", "1w", "1M"].randomElement(using: &rng)!
      let t = Int64.random(in: 0...2_000_000_000_000, using: &rng)
      var k: [(String, String)] = [("t", "\(t)"), ("i", quoted(interval, &rng))]
      let o = number("o", required: true, into: &k, &rng)
      let c = number("c", required: true, into: &k, &rng)
      let h = number("h", required: true, into: &k, &rng)
      let l = number("l", required: true, into: &k, &rng)
      let v = number("v", required: true, into: &k, &rng)
      for key in ["q", "V", "Q", "B"] { _ = number(key, required: false, into: &k, &rng) }
      var closed = false
      switch Int.random(in: 0..<4, using: &rng) {
      case 0: break
      case 1: k.append(("x", "null"))
      case 2: k.append(("x", "false"))
      default:
        k.append(("x", "true"))
        closed = true
      }
      ignored(["T", "s", "f", "L", "n", "e", "k"], into: &k, &rng)
      pairs.append(("k", serialize(k, &rng)))
      ignored(["c", "p", "o", "x", "data"], into: &pairs, &rng)
      let event = KlineEvent(
        symbol: symbol, eventTime: time, interval: interval, openTime: t, open: o, high: h, low: l,
        close: c, volume: v, isClosed: closed)
      return (serialize(pairs, &rng), .kline(event))
    default:
      if chance(0.7, &rng) {
        pairs.append(
          (
            "e",
            quoted(
              ["trade", "depthUpdate", "aggTrade", "kline_1m"].randomElement(using: &rng)!, &rng)
          ))
      }
      ignored(["p", "q", "b", "a", "k"], into: &pairs, &rng)
      return (serialize(pairs, &rng), nil)
    }
  }

  @Test("random valid events parse to exactly the generated values")
  static func randomRoundTrip() {
    var rng = SplitMix64(seed: 0xB1A4CE)
    for round in 0..<3000 {
      let n = chance(0.4, &rng) ? 1 : Int.random(in: 0...6, using: &rng)
      let generated = (0..<n).map { _ in randomEvent(&rng) }
      let inArray = n != 1 || chance(0.3, &rng)
      var body =
        inArray
        ? "[" + ws(&rng) + generated.map { $0.0 + ws(&rng) }.joined(separator: "," + ws(&rng)) + "]"
        : generated[0].0
      if chance(0.4, &rng) {
        let stream = quoted("stream", &rng) + ws(&rng) + ":" + ws(&rng) + quoted("x@ticker", &rng)
        let data = quoted("data", &rng) + ws(&rng) + ":" + ws(&rng) + body
        body =
          "{" + ws(&rng) + (chance(0.5, &rng) ? stream + "," + data : data + "," + stream)
          + ws(&rng)
          + "}"
      }
      let line = ws(&rng) + body + ws(&rng) + (chance(0.2, &rng) ? "\r" : "")
      let r = parse(line)
      let expected = generated.compactMap(\.1)
      let unknown = generated.count(where: { $0.1 == nil })
      #expect(r.events == expected, "round \(round): \(line)")
      #expect(
        r.skipped == 0 && r.firstError == nil, "round \(round): \(r.firstError ?? "") \(line)")
      #expect(r.unknown == unknown, "round \(round): \(line)")
      if r.events != expected { return }
    }
  }

  /// Whether `bytes` has a `,` directly (modulo whitespace) before `]` or `}`, outside strings:
  /// JSONSerialization on Linux accepts such trailing commas; RFC 8259 does not.
  private static func hasTrailingComma(_ bytes: [UInt8]) -> Bool {
    var inString = false
    var escaped = false
    var lastComma = false
    for b in bytes {
      if inString {
        if escaped {
          escaped = false
        } else if b == 0x5C {
          escaped = true
        } else if b == 0x22 {
          inString = false
        }
        continue
      }
      switch b {
      case 0x22:
        inString = true
        lastComma = false
      case 0x20, 0x09, 0x0A, 0x0D: break
      case 0x2C: lastComma = true
      case 0x5D, 0x7D:
        if lastComma { return true }
      default: lastComma = false
      }
    }
    return false
  }

  private static let mutationBytes: [UInt8] =
    Array("{}[]:,\"\\/ \t\n\r0123456789-+.eEtrufalsnbu".utf8) + [
      0x00, 0x01, 0x1F, 0x7F, 0x80, 0xBF, 0xC3, 0xE2, 0xED, 0xF0, 0xFF,
    ]

  private static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
    var b = input
    for _ in 0..<Int.random(in: 1...3, using: &rng) {
      guard !b.isEmpty else { break }
      let at = Int.random(in: 0..<b.count, using: &rng)
      switch Int.random(in: 0..<5, using: &rng) {
      case 0: b.remove(at: at)
      case 1: b.insert(mutationBytes.randomElement(using: &rng)!, at: at)
      case 2: b[at] = mutationBytes.randomElement(using: &rng)!
      case 3: b.removeSubrange(at...)
      default:
        let end = min(b.count, at + Int.random(in: 1...8, using: &rng))
        b.insert(contentsOf: b[at..<end], at: Int.random(in: 0...b.count, using: &rng))
      }
    }
    return b
  }

  @Test("validity agrees with JSONSerialization on random valid and mutated input")
  static func agreesWithJSONSerialization() {
    var rng = SplitMix64(seed: 7)
    var checked = 0
    var invalidSeen = 0
    for round in 0..<6000 {
      var text: String
      switch Int.random(in: 0..<4, using: &rng) {
      case 0: text = randomEvent(&rng).0
      case 1:
        text =
          "["
          + (0..<Int.random(in: 1...3, using: &rng)).map { _ in randomEvent(&rng).0 }.joined(
            separator: ",") + "]"
      default: text = randomJSON(&rng)
      }
      text = ws(&rng) + text + ws(&rng)
      var bytes = Array(text.utf8)
      if round % 2 == 1 { bytes = mutate(bytes, &rng) }
      // Blank lines are ignored by design; a UTF-8 byte order mark is skipped by JSONSerialization.
      if bytes.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) })
        || bytes.starts(with: [0xEF, 0xBB, 0xBF])
      {
        continue
      }
      let r = parse(bytes: bytes)
      let oursValid =
        !(r.firstError?.hasPrefix("invalid JSON") ?? false)
        && r.firstError != "top-level value is not an object or array"
      var theirsValid = true
      var theirError = ""
      do {
        _ = try JSONSerialization.jsonObject(with: Data(bytes))
      } catch {
        theirsValid = false
        theirError = "\((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error)"
      }
      // Known, documented differences of JSONSerialization on Linux from RFC 8259.
      if theirsValid && !oursValid && hasTrailingComma(bytes) { continue }
      if !theirsValid && oursValid && theirError.contains("not representable") { continue }
      checked += 1
      if !oursValid { invalidSeen += 1 }
      #expect(
        oursValid == theirsValid,
        "round \(round): ours \(oursValid) (\(r.firstError ?? "")), JSONSerialization \(theirsValid) (\(theirError)): \(String(decoding: bytes, as: UTF8.self).debugDescription) \(bytes)"
      )
      if oursValid != theirsValid { return }
    }
    #expect(checked > 5000 && invalidSeen > 2000, "checked \(checked), invalid \(invalidSeen)")
  }
}
