import Feeds
import Testing
import Tracking

/// Field validation: which values each field accepts, and the problem each bad one reports.
extension BinanceParserTests {
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
    // A quoted decimal too long for a Double is not infinity either (fast and escaped paths).
    let huge = String(repeating: "9", count: 309)
    expectRejected(
      object(with(tickerPairs, "c", "\"\(huge)\"")),
      "24hrTicker: field \"c\" is not a finite number")
    expectRejected(
      object(with(tickerPairs, "c", "\"\\u0039\(huge)\"")),
      "24hrTicker: field \"c\" is not a finite number")
    #expect(onlyKline(parse(object(klinePairs(with(kPairs, "h", "\"\(huge)\""))))) == nil)
    #expect(
      onlyTicker(parse(object(with(tickerPairs, "c", "\"\(String(huge.dropLast()))\""))))?
        .fields.price.isFinite == true)
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
}
