import Foundation
import Testing

@testable import EngineBench

/// `engine bench` on a tiny market: every section runs and reports its figures, with values
/// that hold whatever the machine's speed (no timing is asserted).
@Suite("engine bench", .serialized)
struct BenchmarkTests {
  static func tinyOptions(_ strategies: String) -> Benchmark.Options {
    var o = Benchmark.Options()
    o.strategies = strategies
    o.plugins = BenchFixtures.plugins
    o.symbols = 60
    o.cycles = 3
    o.repeats = 1
    o.candles = 40
    o.workers = 2
    return o
  }

  @Test("every section reports its figures, and the JSON has the documented keys")
  func allSections() throws {
    let dir = BenchFixtures.strategies([
      "tick": "return { filter = function(s) return s.change_pct > 5 end }"
    ])
    let r = try Benchmark(Self.tinyOptions(dir)).run()
    #expect(r.strategies?.map(\.id) == ["tick"])
    #expect(r.strategies?.allSatisfy { $0.nanosPerEval > 0 } == true)
    // The split: worker 0 evaluates on the cycle thread, so its CPU time counts as evaluate
    // and is taken out of close (neither lost nor counted twice).
    for cost in (r.strategies ?? []) + (r.referenceCosts ?? []) {
      #expect((cost.evaluateNanosPerEval ?? 0) > 0, "\(cost.id)")
      #expect((cost.applyNanosPerEval ?? -1) >= 0, "\(cost.id)")
      #expect((cost.closeNanosPerEval ?? -1) >= 0, "\(cost.id)")
    }
    #expect(Set(r.reference?.keys.map { $0 } ?? []) == ["floor", "ticker", "rsi"])
    #expect(
      Set(r.baseline?.keys.map { $0 } ?? [])
        == ["native_ticker", "lua_args_ticker", "native_rsi", "lua_args_rsi"])
    #expect(r.baseline?.values.allSatisfy { $0 > 0 && $0.isFinite } == true)
    #expect(r.targetRatios?["ticker_vs_lua_args"].map { $0 > 0 } == true)
    #expect(r.targetRatios?["rsi_vs_lua_args"].map { $0 > 0 } == true)
    #expect(r.targetRatios?["rsi_vs_lua_args_ticker"].map { $0 > 0 } == true)
    #expect(r.tracking?["churn_10"] != nil && r.tracking?["churn_100"] != nil)
    #expect(r.scaling?["workers"] == 2)
    #expect(r.batch?["batched_ms"] != nil && r.batch?["single_pass_ms"] != nil)
    let ingest = try #require(r.ingest)
    #expect(ingest["messages"] ?? 0 > 0)
    // The typed JSONDecoder comparison decodes every message the engine parsed.
    #expect(ingest["jsondecoder_messages"] == ingest["messages"])
    #expect(ingest["ratio_to_jsondecoder"] ?? 0 > 0)
    #expect(r.latencyMilliseconds?["p50"] != nil)
    #expect(r.memory?["flag_bytes_4096"] == 1024)
    let sizes = try #require(r.resultBytes)
    #expect(sizes["diffs"] ?? 0 < sizes["full"] ?? 0)

    let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(r)) as? [String: Any]
    for key in [
      "strategies", "tracking", "scaling", "batch", "ingest", "latency_ms", "memory",
      "result_bytes", "baseline", "target_ratios", "reference_costs",
    ] {
      #expect(json?[key] != nil, "\(key)")
    }
  }

  @Test("--only runs the sections named and leaves the others out")
  func onlySections() throws {
    var o = Self.tinyOptions(BenchFixtures.strategies([:]))
    o.only = ["memory"]
    let r = try Benchmark(o).run()
    #expect(r.memory != nil)
    #expect(r.strategies == nil && r.tracking == nil && r.ingest == nil && r.baseline == nil)
  }

  @Test("the baseline's incremental RSI equals Wilder's RSI over the same closes")
  func wilder() {
    var w = Benchmark.Wilder()
    var closes: [Double] = []
    var value = Double.nan
    for i in 0..<40 {
      let c = 100 + sin(Double(i) / 3) * 5 + Double(i % 4)
      closes.append(c)
      value = w.update(openTime: Int64(i), close: c)
    }
    // A replaced newest candle changes only the newest step.
    closes[closes.count - 1] = 90
    value = w.update(openTime: 39, close: 90)
    let p = 14.0
    var gain = 0.0
    var loss = 0.0
    for i in 1...14 {
      let d = closes[i] - closes[i - 1]
      gain += max(d, 0) / p
      loss += max(-d, 0) / p
    }
    for i in 15..<closes.count {
      let d = closes[i] - closes[i - 1]
      gain = (gain * (p - 1) + max(d, 0)) / p
      loss = (loss * (p - 1) + max(-d, 0)) / p
    }
    let expected = 100 - 100 / (1 + gain / loss)
    #expect(abs(value - expected) < 1e-9)
  }
}
