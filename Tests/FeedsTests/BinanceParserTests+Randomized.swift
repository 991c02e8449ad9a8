import Feeds
import Foundation
import Testing
import Tracking

/// Randomized: generated valid events round-trip exactly, and validity agrees with
/// JSONSerialization on valid and mutated input.
extension BinanceParserTests {
  // MARK: - Randomized

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
