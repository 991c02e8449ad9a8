import Foundation
import Testing
import Tracking

@testable import Engine
@testable import Evaluation

/// A strategy stuck in a runaway library call must cost the others nothing: its calls fail
/// at the budget (or the call timeout), it never matches, it is reported by id, and every
/// other strategy prints exactly what it prints alone.
@Suite("Runaway strategies are contained", .serialized, .timeLimit(.minutes(5)))
struct RunawayStrategyTests {
  static let feed = ReplayFixtures.write(
    ReplayFixtures.simulatedLines(symbols: 30, steps: 10, seed: 33), name: "runaway")

  /// The four pattern functions on a pathological pattern, each in a strategy of its own.
  static let runaways: [String: String] = [
    "zz_find":
      #"return { filter = function(s) return string.find(string.rep("a", 4000), ".-.-.-.-b") ~= nil end }"#,
    "zz_match":
      #"return { filter = function(s) return s.symbol:rep(500):match(".-.-.-.-b") ~= nil end }"#,
    "zz_gmatch":
      #"return { filter = function(s) for m in string.gmatch(string.rep("a", 4000), ".-.-.-.-b") do return true end return false end }"#,
    "zz_gsub":
      #"return { filter = function(s) return select(2, string.gsub(string.rep("a", 4000), ".-.-.-.-b", "")) > 0 end }"#,
  ]

  @Test(
    "pattern runaways fail at the budget, never match, and leave the others' diffs unchanged",
    arguments: [1, 2])
  func patterns(workers: Int) throws {
    let clean = try ReplayFixtures.replay(
      Self.feed, strategies: ReplayFixtures.strategies([:]), workers: workers)
    #expect(clean.output.count > 100)
    let run = try ReplayFixtures.replay(
      Self.feed, strategies: ReplayFixtures.strategies(Self.runaways), workers: workers)
    let lines = run.output.split(separator: "\n", omittingEmptySubsequences: true)
    #expect(!lines.contains { $0.contains("\"strategy\":\"zz_") })
    #expect(lines.joined(separator: "\n") + "\n" == clean.output)
    for id in Self.runaways.keys {
      #expect(
        run.log.contains { $0.contains("strategy \(id):") && $0.contains("instruction budget") },
        "\(id) not reported")
    }
  }

  @Test("a call running past sandbox.call_timeout_ms is stopped and reported by id")
  func timeout() throws {
    // Two long strings compared in a loop: each comparison is one instruction however long
    // the strings, so only the wall clock bounds the call.
    let slow = """
      local a, b
      return { filter = function(s)
        if s.symbol ~= "AAA0USDT" and s.symbol ~= "BTCUSDT" then return false end
        a = a or string.rep("x", 4e6)
        b = b or string.rep("x", 4e6)
        while a == b do end
      end }
      """
    let clean = try ReplayFixtures.replay(Self.feed, strategies: ReplayFixtures.strategies([:]))
    let run = try ReplayFixtures.replay(
      Self.feed, strategies: ReplayFixtures.strategies(["zz_slow": slow])
    ) {
      $0.instructionBudget = Int(Int32.max)
      $0.callTimeoutMs = 200
    }
    #expect(run.output == clean.output)
    #expect(run.log.contains { $0.contains("strategy zz_slow:") && $0.contains("stopped") })
  }

  @Test(
    "compiling a strategy whose returned table loops or grows in a metamethod is stopped",
    arguments: [
      "return { timeframes = setmetatable({}, { __index = function(t, i) while true do end end }), filter = function(s) return true end }",
      "return { timeframes = setmetatable({}, { __index = function(t, i) return '1m' end }), filter = function(s) return true end }",
    ])
  func hostileStrategyTable(source: String) throws {
    let runtime = try StrategyRuntime(
      store: MarketStore(maxSymbols: 4, maxCandles: 10),
      limits: SandboxLimits(memoryBytes: 16 << 20))
    #expect(throws: EngineError.self) {
      _ = try runtime.compile(StrategySource(id: "t", path: "Strategies/t.lua", source: source))
    }
  }
}
