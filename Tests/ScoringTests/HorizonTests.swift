import Scoring
import Testing

@Suite("Horizons")
struct HorizonTests {
  @Test("a list like 1m,5m,15m,1h,1d reads as those lengths, shortest first, labels kept")
  func parsesList() throws {
    let horizons = try Horizon.parseList("1h,1m,5m,15m,1d")
    #expect(horizons.map(\.label) == ["1m", "5m", "15m", "1h", "1d"])
    #expect(horizons.map(\.milliseconds) == [60_000, 300_000, 900_000, 3_600_000, 86_400_000])
    #expect(try Horizon.parseList(" 30s , 2h ").map(\.milliseconds) == [30_000, 7_200_000])
    #expect(try Horizon.parseList(Horizon.defaultList).map(\.label) == ["1m", "5m", "15m", "1h"])
  }

  @Test(
    "a bad horizon is an error naming it and what is wrong",
    arguments: [
      ("5x", "the unit must be s, m, h or d"),
      ("5", "the unit must be s, m, h or d"),
      ("m", "expected a whole number before the unit"),
      ("1.5m", "expected a whole number before the unit"),
      ("-1m", "expected a whole number before the unit"),
      ("0m", "a horizon must be positive"),
      ("99999999999999999999d", "the number is too large"),
      ("999999999999999d", "the number is too large"),
    ])
  func rejectsBadHorizon(text: String, problem: String) {
    #expect(throws: HorizonError(text: text, problem: problem)) { try Horizon.parseList(text) }
  }

  @Test("an empty item, an empty list and two horizons of the same length are errors")
  func rejectsBadLists() {
    #expect(throws: HorizonError.self) { try Horizon.parseList("") }
    #expect(throws: HorizonError.self) { try Horizon.parseList("1m,,5m") }
    #expect(throws: HorizonError(text: "60s", problem: "the same horizon as \"1m\"")) {
      try Horizon.parseList("1m,60s")
    }
    let error = HorizonError(text: "5x", problem: "the unit must be s, m, h or d")
    #expect(
      error.description
        == "horizon \"5x\": the unit must be s, m, h or d (expected a list like 1m,5m,15m,1h,1d)")
  }
}
