import EngineSettings
import Engine
import Testing

/// Runtime A/B: `POST /control/tracking` switches the tracking mode between cycles.
extension EngineServerTests {
  @Test("POST /control/tracking flips the mode at the next cycle, with no gap in cycles")
  func trackingFlip() async throws {
    let run = try EngineRun(cycleMs: 200)
    let base = try await run.start()
    #expect(await Support.waitUntil(30) { run.cycleCount >= 6 })

    let bad = try await Support.request(base + "/control/tracking", post: true, body: "sometimes")
    #expect(bad.status == 400)
    let flip = try await Support.request(base + "/control/tracking", post: true, body: "all")
    #expect(flip.status == 200)
    #expect(flip.body.contains("\"mode\":\"all\""))
    let switchedAt = run.cycleCount
    #expect(await Support.waitUntil(30) { run.cycleCount >= switchedAt + 8 })
    let back = try await Support.request(
      base + "/control/tracking", post: true, body: "{\"mode\":\"changed\"}")
    #expect(back.status == 200)
    #expect(run.engine.trackingMode == .changed)
    let backAt = run.cycleCount
    #expect(await Support.waitUntil(30) { run.cycleCount >= backAt + 6 })
    await run.stop()

    let statuses = run.cycles.withLock { $0 }
    // No gap: every cycle that had feed events was closed, across both switches, and cycle
    // numbers only increase.
    #expect(run.missingCycles().isEmpty)
    for (a, b) in zip(statuses, statuses.dropFirst()) { #expect(b.cycle > a.cycle) }
    // The order of modes is changed…, all…, changed… (each switch at one cycle boundary).
    var runs: [TrackingMode] = []
    for s in statuses where runs.last != s.trackingMode { runs.append(s.trackingMode) }
    #expect(runs == [.changed, .all, .changed])
    // In "all" every known symbol is evaluated; in "changed" only the changed ones.
    let all = statuses.filter { $0.trackingMode == .all && $0.knownSymbols > 0 }
    let changed = statuses.filter { $0.trackingMode == .changed && $0.knownSymbols > 0 }.dropFirst()
    #expect(all.count >= 6)
    #expect(all.allSatisfy { $0.evaluatedSymbols == $0.knownSymbols })
    #expect(changed.allSatisfy { $0.evaluatedSymbols == $0.changedSymbols })
    let modes = run.services.monitor.modes
    let costAll = try #require(modes["all"])
    let costChanged = try #require(modes["changed"])
    #expect(costAll.avgEvaluations > costChanged.avgEvaluations)
    #expect(costAll.avgFilterCalls > costChanged.avgFilterCalls)
    // The efficiency shown (share skipped in the cycle) differs between the modes.
    let history = run.services.monitor.history
    let skippedAll = history.filter { $0.mode == "all" }.map(\.cycleSkipped)
    let skippedChanged = history.filter { $0.mode == "changed" }.map(\.cycleSkipped)
    #expect(skippedAll.allSatisfy { $0 == 0 })
    #expect(skippedChanged.reduce(0, +) / Double(max(skippedChanged.count, 1)) > 0.3)
    // Metrics carry both modes' cost.
    let metrics = try PrometheusText(run.services.metrics.exposition())
    #expect(
      (metrics.value("engine_mode_evaluations_per_cycle_avg", labels: "mode=\"all\"") ?? 0)
        > (metrics.value("engine_mode_evaluations_per_cycle_avg", labels: "mode=\"changed\"") ?? 0))
    print(
      "A/B: all \(costAll.avgEvaluations) evaluations, \(costAll.avgLatencyMs) ms per cycle; changed \(costChanged.avgEvaluations), \(costChanged.avgLatencyMs) ms"
    )
  }
}
