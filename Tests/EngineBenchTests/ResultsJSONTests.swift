import EngineSettings
import Foundation
import Testing

@testable import EngineBench

/// `engine bench --json` prints ``Benchmark/Results`` encoded: its keys are what scripts read,
/// so each field must keep its snake_case key and its meaning.
@Suite("engine bench --json keys")
struct ResultsJSONTests {
  static let resultKeys: Set<String> = [
    "symbols", "cycles", "strategies", "floor_ns_per_eval", "reference", "reference_costs",
    "baseline", "target_ratios", "tracking", "scaling", "batch", "ingest", "latency_ms", "memory",
    "result_bytes",
  ]
  static let costKeys: Set<String> = [
    "id", "ns_per_eval", "apply_ns_per_eval", "evaluate_ns_per_eval", "close_ns_per_eval",
  ]
  static let trackingKeys: Set<String> = ["changed_cpu_ms", "all_cpu_ms", "ratio"]

  /// Every field set, each to a value of its own, so a key mapped to the wrong field shows.
  static func everyField() -> Benchmark.Results {
    let cost = Benchmark.StrategyCost(
      id: "tick", nanosPerEval: 1, applyNanosPerEval: 2, evaluateNanosPerEval: 3,
      closeNanosPerEval: 4)
    var r = Benchmark.Results(symbols: 60, cycles: 3)
    r.strategies = [cost]
    r.floorNanosPerEval = 5
    r.reference = ["floor": 5]
    r.referenceCosts = [cost]
    r.baseline = ["lua_args_ticker": 6]
    r.targetRatios = ["ticker_vs_lua_args": 7]
    r.tracking = [
      "churn_10": Benchmark.TrackingCost(
        changedCPUMilliseconds: 8, allCPUMilliseconds: 9, ratio: 10)
    ]
    r.scaling = ["speedup": 11]
    r.batch = ["batched_ms": 12]
    r.ingest = ["mb_per_s": 13]
    r.latencyMilliseconds = ["p50": 14]
    r.memory = ["rss_mb": 15]
    r.resultBytes = ["diffs": 16]
    return r
  }

  static func object(_ value: some Encodable) throws -> [String: Any] {
    try #require(
      try JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) as? [String: Any])
  }

  @Test("every field encodes under its snake_case key, with its own value")
  func encodedKeys() throws {
    let json = try Self.object(Self.everyField())
    #expect(Set(json.keys) == Self.resultKeys)
    #expect(json["symbols"] as? Int == 60)
    #expect(json["cycles"] as? Int == 3)
    #expect(json["floor_ns_per_eval"] as? Double == 5)
    #expect((json["reference"] as? [String: Double])?["floor"] == 5)
    #expect((json["baseline"] as? [String: Double])?["lua_args_ticker"] == 6)
    #expect((json["target_ratios"] as? [String: Double])?["ticker_vs_lua_args"] == 7)
    #expect((json["scaling"] as? [String: Double])?["speedup"] == 11)
    #expect((json["batch"] as? [String: Double])?["batched_ms"] == 12)
    #expect((json["ingest"] as? [String: Double])?["mb_per_s"] == 13)
    #expect((json["latency_ms"] as? [String: Double])?["p50"] == 14)
    #expect((json["memory"] as? [String: Double])?["rss_mb"] == 15)
    #expect((json["result_bytes"] as? [String: Double])?["diffs"] == 16)

    for key in ["strategies", "reference_costs"] {
      let costs = try #require(json[key] as? [[String: Any]], "\(key)")
      let cost = try #require(costs.first, "\(key)")
      #expect(Set(cost.keys) == Self.costKeys, "\(key)")
      #expect(cost["id"] as? String == "tick")
      #expect(cost["ns_per_eval"] as? Double == 1)
      #expect(cost["apply_ns_per_eval"] as? Double == 2)
      #expect(cost["evaluate_ns_per_eval"] as? Double == 3)
      #expect(cost["close_ns_per_eval"] as? Double == 4)
    }

    let tracking = try #require(
      (json["tracking"] as? [String: Any])?["churn_10"] as? [String: Any])
    #expect(Set(tracking.keys) == Self.trackingKeys)
    #expect(tracking["changed_cpu_ms"] as? Double == 8)
    #expect(tracking["all_cpu_ms"] as? Double == 9)
    #expect(tracking["ratio"] as? Double == 10)
  }

  @Test("a section left out is absent from the JSON, not null")
  func absentSections() throws {
    let json = try Self.object(Benchmark.Results(symbols: 1, cycles: 2))
    #expect(Set(json.keys) == ["symbols", "cycles"])
    let cost = try Self.object(Benchmark.StrategyCost(id: "x", nanosPerEval: 1))
    #expect(Set(cost.keys) == ["id", "ns_per_eval"])
  }

  @Test("JSON with the snake_case keys decodes into the same fields")
  func decodesKeys() throws {
    let data = try JSONEncoder().encode(Self.everyField())
    let r = try JSONDecoder().decode(Benchmark.Results.self, from: data)
    #expect(r.floorNanosPerEval == 5)
    #expect(r.referenceCosts?.first?.closeNanosPerEval == 4)
    #expect(r.tracking?["churn_10"]?.allCPUMilliseconds == 9)
    #expect(r.latencyMilliseconds?["p50"] == 14)
    #expect(r.resultBytes?["diffs"] == 16)

    let text = """
      {"symbols":2,"cycles":3,"floor_ns_per_eval":4,"target_ratios":{"rsi_vs_lua_args":5},
       "strategies":[{"id":"a","ns_per_eval":6,"apply_ns_per_eval":7}],
       "tracking":{"churn_100":{"changed_cpu_ms":8,"all_cpu_ms":9,"ratio":10}}}
      """
    let decoded = try JSONDecoder().decode(Benchmark.Results.self, from: Data(text.utf8))
    #expect(decoded.floorNanosPerEval == 4)
    #expect(decoded.targetRatios?["rsi_vs_lua_args"] == 5)
    #expect(decoded.strategies?.first?.nanosPerEval == 6)
    #expect(decoded.strategies?.first?.applyNanosPerEval == 7)
    #expect(decoded.strategies?.first?.evaluateNanosPerEval == nil)
    #expect(decoded.tracking?["churn_100"]?.changedCPUMilliseconds == 8)
  }
}
