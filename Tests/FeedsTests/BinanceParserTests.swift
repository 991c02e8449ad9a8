import Feeds
import Foundation
import Testing
import Tracking

/// Tests of the Binance message scanner (`BinanceParser`), by topic in the
/// BinanceParserTests+*.swift files; this file holds the fixtures and helpers they share.
@Suite("BinanceParser")
struct BinanceParserTests {
  // MARK: - Fixtures and helpers

  static let parser = BinanceParser()

  static func parse(_ line: String) -> BinanceParseResult { parser.parse(line) }

  static func parse(bytes: [UInt8]) -> BinanceParseResult {
    bytes.withUnsafeBytes { parser.parse($0) }
  }

  /// Key/raw-JSON-value pairs, serialized in order.
  typealias Pairs = [(String, String)]

  static func object(_ pairs: Pairs) -> String {
    "{" + pairs.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
  }

  static func with(_ pairs: Pairs, _ key: String, _ value: String?) -> Pairs {
    var out = pairs
    if let index = out.firstIndex(where: { $0.0 == key }) {
      if let value { out[index].1 = value } else { out.remove(at: index) }
    } else if let value {
      out.append((key, value))
    }
    return out
  }

  static let tickerPairs: Pairs = [
    ("e", "\"24hrTicker\""), ("E", "1672515782136"), ("s", "\"BNBBTC\""), ("p", "\"0.0015\""),
    ("P", "\"250.00\""), ("w", "\"0.0018\""), ("x", "\"0.0009\""), ("c", "\"0.0025\""),
    ("Q", "\"10\""), ("b", "\"0.0024\""), ("B", "\"10\""), ("a", "\"0.0026\""), ("A", "\"100\""),
    ("o", "\"0.0010\""), ("h", "\"0.0025\""), ("l", "\"0.0010\""), ("v", "\"10000\""),
    ("q", "\"18\""), ("O", "0"), ("C", "86400000"), ("F", "0"), ("L", "18150"), ("n", "18151"),
  ]

  static let miniPairs: Pairs = [
    ("e", "\"24hrMiniTicker\""), ("E", "1672515782136"), ("s", "\"BNBBTC\""), ("c", "\"0.0025\""),
    ("o", "\"0.0010\""), ("h", "\"0.0025\""), ("l", "\"0.0010\""), ("v", "\"10000\""),
    ("q", "\"18\""),
  ]

  static let kPairs: Pairs = [
    ("t", "1672515780000"), ("T", "1672515839999"), ("s", "\"BNBBTC\""), ("i", "\"1m\""),
    ("f", "100"), ("L", "200"), ("o", "\"0.0010\""), ("c", "\"0.0020\""), ("h", "\"0.0025\""),
    ("l", "\"0.0015\""), ("v", "\"1000\""), ("n", "100"), ("x", "false"), ("q", "\"1.0000\""),
    ("V", "\"500\""), ("Q", "\"0.500\""), ("B", "\"123456\""),
  ]

  static func klinePairs(_ k: Pairs = kPairs) -> Pairs {
    [("e", "\"kline\""), ("E", "1672515782136"), ("s", "\"BNBBTC\""), ("k", object(k))]
  }

  static let ticker = object(tickerPairs)
  static let mini = object(miniPairs)
  static let kline = object(klinePairs())

  static func tickerJSON(symbol: String, time: Int64 = 1, c: String = "1.5") -> String {
    object(with(with(with(tickerPairs, "s", "\"\(symbol)\""), "E", "\(time)"), "c", "\"\(c)\""))
  }

  static func expectedTicker(
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

  static func onlyTicker(_ r: BinanceParseResult) -> TickerEvent? {
    guard r.events.count == 1, case .ticker(let t) = r.events[0] else { return nil }
    return t
  }

  static func onlyKline(_ r: BinanceParseResult) -> KlineEvent? {
    guard r.events.count == 1, case .kline(let k) = r.events[0] else { return nil }
    return k
  }

  static func isInvalidJSON(_ r: BinanceParseResult) -> Bool {
    r.events.isEmpty && r.skipped == 1 && r.unknown == 0
      && (r.firstError?.hasPrefix("invalid JSON at byte ") ?? false)
  }

  static func expectRejected(
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

  // MARK: - Random inputs

  /// SplitMix64: a seedable generator, so every randomized test runs the same inputs each time.
  struct SplitMix64: RandomNumberGenerator {
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

  static func chance(_ p: Double, _ rng: inout SplitMix64) -> Bool {
    Double.random(in: 0..<1, using: &rng) < p
  }

  static func digits(_ count: Int, _ rng: inout SplitMix64) -> String {
    String((0..<count).map { _ in Character(String(Int.random(in: 0...9, using: &rng))) })
  }

  static func randomDecimal(_ rng: inout SplitMix64) -> String {
    var s = chance(0.1, &rng) ? "-" : ""
    let longForm = chance(0.1, &rng)
    s += digits(Int.random(in: 1...(longForm ? 25 : 9), using: &rng), &rng)
    if chance(0.7, &rng) {
      s += "." + digits(Int.random(in: 1...(longForm ? 30 : 10), using: &rng), &rng)
    }
    return s
  }
}
