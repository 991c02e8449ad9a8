import Feeds
import Foundation
import Testing
import Tracking

/// JSON syntax: invalid JSON skips the whole message, with the byte offset of the problem.
extension BinanceParserTests {
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
}
