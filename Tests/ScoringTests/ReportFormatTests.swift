import Foundation
import Scoring
import Testing

@Suite("Report formats")
struct ReportFormatTests {
  /// The hand-made market of the figure tests, with one signal of `s` and a silent `quiet`.
  static let report: ScoreReport = {
    let prices = PriceIndex(events: [
      Market.ticker("B", 0, 50), Market.ticker("A", 500, 100), Market.ticker("A", 1500, 110),
      Market.ticker("B", 2000, 55), Market.ticker("A", 2500, 90), Market.ticker("A", 3500, 105),
      Market.ticker("B", 5000, 60),
    ])
    return Scorer(horizons: Market.horizons("2s,10s")).score(
      diffs: [
        Market.enter("s", "A", 1000, 100), Market.exit("s", "A", 3000, 90),
        Market.enter("s", "B", 3000, 0),
      ], prices: prices, strategies: ["s", "quiet"])
  }()

  @Test("--json: one object, keys in the documented order, null where there is no data")
  func json() throws {
    let text = Self.report.json
    #expect(text.hasSuffix("}\n") && text.split(separator: "\n").count == 1)
    #expect(
      text.hasPrefix(
        #"{"horizons":["2s","10s"],"strategies":[{"id":"quiet","signals":0,"open":0,"skipped":0,"mean_match_s":null,"horizons":{"2s":{"n":0,"open":0,"mean":null,"median":null,"hit_rate":null,"mfe":null,"mae":null,"excess_mean":null}"#
      ))
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    #expect(object["horizons"] as? [String] == ["2s", "10s"])
    let strategies = try #require(object["strategies"] as? [[String: Any]])
    #expect(strategies.map { $0["id"] as? String } == ["quiet", "s"])
    let s = strategies[1]
    #expect(s["signals"] as? Int == 2 && s["skipped"] as? Int == 1 && s["open"] as? Int == 1)
    #expect(s["mean_match_s"] as? Double == 2)
    let horizons = try #require(s["horizons"] as? [String: [String: Any]])
    let two = try #require(horizons["2s"])
    #expect(two["n"] as? Int == 1)
    #expect(close(two["mean"] as? Double, -0.1))
    #expect(two["hit_rate"] as? Double == 0)
    #expect(close(two["mfe"] as? Double, 0.1) && close(two["mae"] as? Double, -0.1))
    #expect(close(two["excess_mean"] as? Double, -0.1))
    #expect(horizons["10s"]?["n"] as? Int == 0 && horizons["10s"]?["open"] as? Int == 1)
    #expect(horizons["10s"]?["mean"] is NSNull)
  }

  @Test("the table: a header, one row per strategy and horizon, columns aligned")
  func table() {
    let lines = Self.report.table.split(separator: "\n").map(String.init)
    #expect(lines.count == 1 + 2 * 2)
    #expect(lines[0].hasPrefix("strategy  signals  open  skipped  match_s  horizon"))
    #expect(lines[1].hasPrefix("quiet"))
    #expect(lines[3].hasPrefix("s "))
    #expect(lines[3].contains("-10.000%") && lines[3].contains("0.0%"))
    #expect(lines[4].hasPrefix("  ") && lines[4].contains("10s"))
    // Right-aligned numbers: each column of a row ends where the header's column ends.
    let header = lines[0]
    let end = header.range(of: "signals").map {
      header.distance(from: header.startIndex, to: $0.upperBound)
    }
    for line in lines[1...] where line.contains("2s") {
      let cut = line.prefix(end ?? 0)
      #expect(cut.last?.isNumber == true, "\(line)")
    }
  }

  @Test("the HTML page is self-contained: no script, style or image from anywhere else")
  func htmlSelfContained() {
    let page = Self.report.html(title: "day<1>.jsonl")
    #expect(page.hasPrefix("<!doctype html>"))
    #expect(!page.contains("src="))
    #expect(!page.contains("<link"))
    #expect(!page.contains("@import"))
    #expect(page.contains("id=\"score-data\""))
    // Names are escaped in markup.
    #expect(page.contains("day&lt;1&gt;.jsonl"))
    #expect(page.contains("data-strategy=\"quiet\"") && page.contains("data-strategy=\"s\""))
  }

  @Test("a name that could close the data script is escaped inside it")
  func scriptEscaping() {
    let report = Scorer(horizons: Market.horizons("1s")).score(
      diffs: [], prices: PriceIndex(), strategies: ["x</script><b>"])
    let page = report.html(title: "t")
    #expect(page.components(separatedBy: "</script>").count - 1 == 3)
    #expect(page.contains(#""x\u003c/script>\u003cb>""#))
  }
}
