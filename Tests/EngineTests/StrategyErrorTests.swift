import Foundation
import Testing

@testable import Engine

@Suite("Strategy errors", .serialized)
struct StrategyErrorTests {
  static let feed = ReplayFixtures.write(
    ReplayFixtures.simulatedLines(symbols: 80, steps: 30, seed: 3), name: "errors")

  static let failing = """
    -- fails on every symbol whose name starts with A, matches the others
    return {
      filter = function(s)
        if s.symbol:sub(1, 1) == "A" then
          local missing = nil
          return missing.field > 1
        end
        return s.price > 0, 1
      end,
    }
    """

  @Test("a strategy failing on some symbols changes no other strategy's diffs")
  func isolation() throws {
    let clean = try ReplayFixtures.replay(Self.feed, strategies: ReplayFixtures.strategies([:]))
    let dirty = try ReplayFixtures.replay(
      Self.feed, strategies: ReplayFixtures.strategies(["zz_failing": Self.failing]))
    let others = dirty.output.split(separator: "\n").filter {
      !$0.contains("\"strategy\":\"zz_failing\"")
    }
    #expect(others.joined(separator: "\n") + "\n" == clean.output)
    // It still matches the symbols it does not fail on, and never the ones it fails on.
    let own = dirty.output.split(separator: "\n").filter {
      $0.contains("\"strategy\":\"zz_failing\"")
    }
    #expect(!own.isEmpty)
    #expect(!own.contains { $0.contains("\"symbol\":\"A") })
    #expect(dirty.summary.filterErrors > 10)
  }

  @Test("the error is reported with the strategy id, file and line, not once per symbol")
  func reported() throws {
    let dir = ReplayFixtures.strategies(["zz_failing": Self.failing], includeExamples: false)
    let run = try ReplayFixtures.replay(Self.feed, strategies: dir)
    let reports = run.log.filter { $0.hasPrefix("strategy zz_failing:") }
    #expect(reports.count >= 1)
    #expect(reports.count < run.summary.filterErrors)
    #expect(reports.count <= 2)  // rate-limited: one per 10 s of wall time
    let first = try #require(reports.first)
    #expect(first.contains("zz_failing.lua:6:"))
    #expect(first.contains("attempt to index a nil value"))
  }

  @Test("an endless loop in a filter is aborted and the other strategies carry on")
  func endlessLoop() throws {
    let clean = try ReplayFixtures.replay(Self.feed, strategies: ReplayFixtures.strategies([:]))
    let looping = """
      return { filter = function(s) if s.symbol == "BTCUSDT" then while true do end end return false end }
      """
    let run = try ReplayFixtures.replay(
      Self.feed, strategies: ReplayFixtures.strategies(["zz_loop": looping]))
    #expect(run.output == clean.output)
    #expect(
      run.log.contains { $0.contains("zz_loop") && $0.contains("instruction budget exceeded") })
  }

  @Test("a strategy that does not compile is reported with file:line and left out; the rest run")
  func compileError() throws {
    let broken = "return {\n  filter = function(s)\n    return s.price >\n  end\n}"
    let clean = try ReplayFixtures.replay(Self.feed, strategies: ReplayFixtures.strategies([:]))
    let run = try ReplayFixtures.replay(
      Self.feed, strategies: ReplayFixtures.strategies(["broken": broken]))
    #expect(run.output == clean.output)
    #expect(run.log.contains { $0.contains("broken.lua:4:") && $0.contains("not loaded") })
  }

  @Test(
    "a strategy returning no filter is refused with a clear message",
    arguments: [
      ("return 42", "must return a table"),
      ("return {}", "needs a 'filter' function"),
      ("return { filter = function() end, timeframes = '1m' }", "'timeframes' must be a list"),
      (
        "return { filter = function() end, min_candles = -1 }",
        "'min_candles' must be a non-negative integer"
      ),
    ])
  func badTables(source: String, message: String) throws {
    let dir = ReplayFixtures.strategies(["bad": source], includeExamples: false)
    let run = try ReplayFixtures.replay(Self.feed, strategies: dir)
    #expect(run.output.isEmpty)
    #expect(run.log.contains { $0.contains("bad.lua") && $0.contains(message) }, "\(run.log)")
  }

  @Test("the symbol view is read-only and fields the feed never sent are nil")
  func readOnlyView() throws {
    let probe = """
      return {
        timeframes = { "1m" },
        filter = function(s)
          local ok1 = not pcall(function() s.price = 1 end)
          local ok2 = not pcall(function() rawset(s, "price", 1) end)
          local ok3 = not pcall(function() s.klines["1m"] = nil end)
          local ok4 = not pcall(function() setmetatable(s, nil) end)
          local k = s.klines["1m"]
          local ok5 = k.close[0] == nil and k.close[#k + 1] == nil and #k.close == #k
          local ok6 = s.nonexistent == nil and s.klines["5m"] == nil
          local ok7 = type(s.time) == "number" and type(s.symbol) == "string"
          return ok1 and ok2 and ok3 and ok4 and ok5 and ok6 and ok7, "ok"
        end,
      }
      """
    let dir = ReplayFixtures.strategies(["probe": probe], includeExamples: false)
    let run = try ReplayFixtures.replay(Self.feed, strategies: dir)
    let enters = run.output.split(separator: "\n").filter { $0.contains("\"event\":\"enter\"") }
    #expect(enters.count == 80)
    #expect(run.summary.filterErrors == 0)
  }
}
