import Indicators
import Testing

/// Every indicator in expected.csv, so each gets its own parameterized test case.
let fixtureIndicators = [
  "SMA", "EMA", "RSI", "STDDEV", "MAX", "MIN", "MACD", "BBANDS", "ATR", "VWAP",
  "STOCH", "ADX", "OBV", "ROC", "WMA", "MFI", "CCI", "WILLR",
]

@Suite("TA-Lib reference fixtures")
struct TAlibFixtureTests {
  @Test(
    "matches TA-Lib's last output (nil when TA-Lib gives none) within 1e-8 relative",
    arguments: fixtureIndicators)
  func matchesTALib(indicator: String) throws {
    let fx = Fixtures.shared
    let cases = fx.cases.filter { $0.indicator == indicator }
    #expect(cases.count > 50, "too few fixture cases for \(indicator)")
    var worst = 0.0
    var worstCase = ""
    for c in cases {
      let d = try #require(fx.datasets[c.dataset])
      let got = compute(c, d)
      guard let exp = c.expected else {
        #expect(got == nil, "\(c): expected nil, got \(String(describing: got))")
        continue
      }
      guard let got else {
        Issue.record("\(c): expected \(exp), got nil")
        continue
      }
      let rel = (got - exp).magnitude / scale(c, d)
      if rel > worst { worst = rel; worstCase = "\(c)" }
      #expect(rel <= 1e-8, "\(c): expected \(exp), got \(got) (rel err \(rel))")
    }
    print(
      "[fixtures] \(indicator): \(cases.count) cases, worst relative error \(worst) \(worstCase)")
  }

  @Test("fixtures cover the real data sets and the edge-case series")
  func coverage() {
    let names = Set(Fixtures.shared.cases.map(\.dataset))
    for n in [
      "GOOG", "EURUSD", "FLAT", "ZEROVOL", "ZEROS", "RAMP", "DOWN", "PLATEAU", "TINY", "MICRO",
      "ULP",
    ] {
      #expect(names.contains(n), "missing data set \(n)")
    }
    #expect(Set(Fixtures.shared.cases.map(\.indicator)) == Set(fixtureIndicators))
    #expect(Fixtures.shared.datasets["GOOG"]?.close.count == 2000)
  }
}
