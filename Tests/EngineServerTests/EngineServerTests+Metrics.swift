import Foundation
import Testing

/// `/metrics` in the Prometheus text format, with `/status` and `/debug/updates`.
extension EngineServerTests {
  @Test("/metrics parses as Prometheus text, with the engine's names and types; counters rise")
  func metricsScrape() async throws {
    let run = try EngineRun(debugUpdates: true)
    let base = try await run.start()
    #expect(await Support.waitUntil(30) { run.cycleCount >= 5 })
    let first = try await Support.request(base + "/metrics")
    #expect(first.status == 200)
    let a = try PrometheusText(first.body)
    // The simulator's history closes many cycles at once, so a count reached before the first
    // scrape says nothing about cycles after it: wait for live cycles closed since then.
    let seen = run.cycleCount
    #expect(await Support.waitUntil(30) { run.cycleCount >= max(12, seen + 3) })
    let second = try await Support.request(base + "/metrics")
    let b = try PrometheusText(second.body)

    let expectedTypes: [String: String] = [
      "engine_cycles_total": "counter",
      "engine_feed_events_total": "counter",
      "engine_feed_lines_total": "counter",
      "engine_changed_symbols": "gauge",
      "engine_changed_symbols_per_cycle": "histogram",
      "engine_symbol_evaluations_total": "counter",
      "engine_filter_calls_total": "counter",
      "engine_efficiency_ratio": "gauge",
      "engine_batch_cycles_total": "counter",
      "engine_buffer_swap_seconds": "histogram",
      "engine_cycle_latency_seconds": "histogram",
      "engine_strategy_filter_calls_total": "counter",
      "engine_strategy_errors_total": "counter",
      "engine_strategy_ns_per_call": "gauge",
      "engine_strategy_cpu_seconds_total": "counter",
      "engine_reloads_total": "counter",
      "engine_feed_reconnects": "gauge",
      "engine_mode_cycles_total": "counter",
      "engine_mode_cycle_latency_avg_seconds": "gauge",
      "engine_mode_evaluations_per_cycle_avg": "gauge",
      "engine_tracking_mode": "gauge",
    ]
    for (name, type) in expectedTypes {
      #expect(b.types[name] == type, "\(name): \(b.types[name] ?? "missing")")
    }
    #expect(b.help["engine_strategy_ns_per_call"]?.contains("timed") == true)
    for counter in [
      "engine_cycles_total", "engine_filter_calls_total", "engine_symbol_evaluations_total",
      "engine_symbol_cycles_total",
    ] {
      #expect((b.value(counter) ?? 0) > (a.value(counter) ?? 0), "\(counter) did not rise")
    }
    #expect((b.value("engine_feed_events_total", labels: "outcome=\"applied\"") ?? 0) > 0)
    #expect((b.value("engine_cycle_latency_seconds_count") ?? 0) >= 12)
    #expect(b.value("engine_strategy_filter_calls_total", labels: "strategy=\"flipper\"") != nil)
    #expect(b.value("engine_tracking_mode", labels: "mode=\"changed\"") == 1)

    // swift-metrics is bootstrapped onto the same registry: the HTTP middleware's metrics show.
    let third = try await Support.request(base + "/metrics")
    #expect(third.body.contains("hb_requests") || third.body.contains("hb_request_duration"))

    // A feed can report reconnections later.
    run.services.setFeedReconnects(3)
    let fourth = try PrometheusText(try await Support.request(base + "/metrics").body)
    #expect(fourth.value("engine_feed_reconnects") == 3)

    // /status and /debug/updates.
    let status = try await Support.request(base + "/status")
    let json = try #require(
      JSONSerialization.jsonObject(with: Data(status.body.utf8)) as? [String: Any])
    #expect(json["feed"] as? String == "sim")
    #expect(json["workers"] as? Int == 2)
    #expect(json["trackingMode"] as? String == "changed")
    #expect((json["strategies"] as? [Any])?.count == 10)
    #expect((json["uptimeSeconds"] as? Double ?? 0) > 0)
    let updates = try await Support.request(base + "/debug/updates")
    let ring = try #require(
      JSONSerialization.jsonObject(with: Data(updates.body.utf8)) as? [String: Any])
    #expect(ring["enabled"] as? Bool == true)
    #expect(((ring["entries"] as? [Any])?.count ?? 0) > 0)
    await run.stop()
  }

  @Test("a strategy looping 10x longer shows about 10x its ns per call in /metrics and /status")
  func perStrategyCost() async throws {
    func looping(_ n: Int) -> String {
      "return { filter = function(s) local x = 0 for i = 1, \(n) do x = x + i end return x < 0 end }"
    }
    let run = try EngineRun(
      includeExamples: false, extraStrategies: ["short": looping(2_000), "long": looping(20_000)])
    let base = try await run.start()
    #expect(
      await Support.waitUntil(60) {
        (run.cycles.withLock { $0.last?.strategyProfiles.map(\.timedCalls).min() } ?? 0) >= 30
      })
    let scrape = try PrometheusText(try await Support.request(base + "/metrics").body)
    let short = try #require(
      scrape.value("engine_strategy_ns_per_call", labels: "strategy=\"short\""))
    let long = try #require(
      scrape.value("engine_strategy_ns_per_call", labels: "strategy=\"long\""))
    #expect(long / short > 5 && long / short < 20, "\(long) / \(short)")
    #expect(
      (scrape.value("engine_strategy_cpu_seconds_total", labels: "strategy=\"long\"") ?? 0) > 0)
    let status = try await Support.request(base + "/status")
    #expect(status.body.contains("\"nsPerCall\""))
    await run.stop()
  }
}
