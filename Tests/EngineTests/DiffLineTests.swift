import Foundation
import Testing

@testable import Engine
@testable import Evaluation

/// The diff line format, written by hand for speed: every piece checked against
/// Foundation's JSON reader and against exact expected text.
@Suite("Diff lines")
struct DiffLineTests {
  static func line(_ d: ResolvedDiff, cycle: Int64 = 7, time: Int64 = 1_732_400_001_000) -> String {
    var out: [UInt8] = []
    JSONLinesWriter.append(d, cycle: cycle, time: time, to: &out)
    return String(decoding: out, as: UTF8.self)
  }

  @Test("an enter line with info, in the documented key order")
  func enterLine() {
    let d = ResolvedDiff(
      strategy: "momentum", symbol: "BTCUSDT", isEnter: true, price: 97_123.5, info: .number(0.25))
    #expect(
      Self.line(d)
        == #"{"cycle":7,"time":1732400001000,"strategy":"momentum","symbol":"BTCUSDT","event":"enter","price":97123.5,"info":0.25}"#
        + "\n")
  }

  @Test("an exit line carries no info; integers of any sign and size")
  func exitLine() {
    let d = ResolvedDiff(
      strategy: "s", symbol: "X", isEnter: false, price: 1e-7, info: .integer(-5))
    #expect(
      Self.line(d, cycle: 0, time: -1)
        == #"{"cycle":0,"time":-1,"strategy":"s","symbol":"X","event":"exit","price":1e-07}"#
        + "\n")
    for value in [Int64.min, -1, 0, 9, 10, 1_000_000_007, Int64.max] {
      var out: [UInt8] = []
      JSONText.appendInteger(value, to: &out)
      #expect(String(decoding: out, as: UTF8.self) == String(value))
    }
  }

  @Test("strings are escaped; every line parses back to the same values")
  func escaping() throws {
    let tricky = "a\"b\\c\nd\te\u{01}é😀"
    let d = ResolvedDiff(
      strategy: "id", symbol: "SYM", isEnter: true, price: .infinity, info: .string(tricky))
    let text = Self.line(d)
    #expect(text.contains(#""info":"a\"b\\c\nd\te\u0001é😀""#))
    #expect(text.contains(#""price":null"#))
    let object = try #require(
      JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    #expect(object["info"] as? String == tricky)
    #expect(object["symbol"] as? String == "SYM")
  }

  @Test("a cycle's lines written together equal the lines written one by one")
  func cycleLines() {
    var diffs: [ResolvedDiff] = []
    for i in 0..<50 {
      let strategy = i % 3 == 0 ? "momentum" : "rsi \"x\""
      let info: DiffInfo? = i % 4 == 0 ? .string("n\(i)") : nil
      diffs.append(
        ResolvedDiff(
          strategy: strategy, symbol: "S\(i)USDT", isEnter: i % 2 == 0, price: Double(i) * 1.5,
          info: info))
    }
    var together: [UInt8] = []
    JSONLinesWriter.append(diffs, cycle: 42, time: 1_732_400_042_000, to: &together)
    var one: [UInt8] = []
    for d in diffs { JSONLinesWriter.append(d, cycle: 42, time: 1_732_400_042_000, to: &one) }
    #expect(together == one)
    #expect(together.filter { $0 == 10 }.count == 50)
    var none: [UInt8] = [1]
    JSONLinesWriter.append([], cycle: 1, time: 1, to: &none)
    #expect(none == [1])
  }
}
