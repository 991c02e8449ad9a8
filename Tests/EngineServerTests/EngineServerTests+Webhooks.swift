import Crypto
import EngineServer
import Foundation
import Synchronization
import Testing

/// Webhooks: in order, at least once, signed; a receiver that is down costs the cycles nothing.
extension EngineServerTests {
  @Test("webhook: every diff arrives once, in order, after 500s and a 429; signed with HMAC")
  func webhookDeliversInOrderAfterRetries() async throws {
    let receiver = Receiver(script: [
      (500, nil), (500, nil), (503, nil), (429, "1"),
    ])
    let url = try await receiver.start()
    let secret = "s3cret"
    let run = try EngineRun(
      http: false,
      webhooks: [
        WebhookOptions(url: url, secret: secret, timeoutMs: 5000, backoffMs: 50, backoffMaxMs: 400)
      ],
      includeExamples: false)
    try await run.start()
    // Enough cycles with diffs, and the receiver past its failures (the bound is generous:
    // ThreadSanitizer builds on a loaded machine are many times slower).
    #expect(
      await Support.waitUntil(180) {
        run.capture.snapshot.count >= 15 && receiver.accepted.count >= 5
      })
    await run.stop(flush: .seconds(20))
    await receiver.stop()

    let expected = run.capture.snapshot
    // Delivery is at least once (documented): an attempt the client saw fail may still have
    // reached the receiver, which then sees that cycle twice, back to back. A receiver
    // de-duplicates on the cycle; what it keeps must be every cycle once, in order.
    let raw = receiver.accepted
    var accepted: [(body: String, cycleHeader: String?, signature: String?)] = []
    for request in raw where accepted.last?.cycleHeader != request.cycleHeader {
      accepted.append((request.body, request.cycleHeader, request.signature))
    }
    let sink = try #require(run.services.webhooks.first)
    let stats = sink.stats
    #expect(stats.retries >= 4)
    // Each duplicate is an attempt the client retried although the receiver had taken it (a
    // timeout: rare, but it happens under ThreadSanitizer on a loaded machine), so duplicates
    // never outnumber the retries beyond the 4 refused attempts.
    #expect(raw.count - accepted.count <= stats.retries - 4)
    #expect(stats.dropped == 0)
    #expect(stats.queueDepth == 0)
    #expect(receiver.received.withLock { $0.filter { $0.status != 200 }.count } == 4)
    // Exactly once and in order: one accepted request per captured cycle, same bytes.
    #expect(accepted.count == expected.count)
    #expect(stats.delivered == expected.count)
    for (got, want) in zip(accepted, expected) {
      let body =
        "{\"cycle\":\(want.cycle),\"time\":\(want.time),\"diffs\":[\(want.lines.joined(separator: ","))]}"
      #expect(got.body == body)
      #expect(got.cycleHeader == String(want.cycle))
      #expect(got.signature == WebhookSink.signature(body: Data(got.body.utf8), secret: secret))
      let mac = HMAC<SHA256>.authenticationCode(
        for: Data(got.body.utf8), using: SymmetricKey(data: Data(secret.utf8)))
      #expect(got.signature == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
    }
    // The failed attempts were the first batch, sent again (never a later one first).
    let firstCycle = try #require(expected.first?.cycle)
    #expect(
      receiver.received.withLock {
        $0.prefix(5).allSatisfy { $0.cycleHeader == String(firstCycle) }
      })
    let diffs = expected.reduce(0) { $0 + $1.lines.count }
    #expect(stats.deliveredDiffs == diffs)
    print(
      "webhook: \(expected.count) cycles, \(diffs) diffs delivered after \(stats.retries) retries")
  }

  @Test("webhook: with the receiver down, cycles keep their pace and the drop counter rises")
  func webhookReceiverDown() async throws {
    let url = "http://127.0.0.1:\(Support.closedPort())/hook"
    let timing = Mutex<TimingSink?>(nil)
    let run = try EngineRun(
      cycleMs: 100, http: false,
      webhooks: [
        WebhookOptions(url: url, queueCapacity: 3, timeoutMs: 300, backoffMs: 20, backoffMaxMs: 100)
      ],
      includeExamples: false,
      wrap: { sink in
        let t = TimingSink(sink)
        timing.withLock { $0 = t }
        return t
      })
    try await run.start(cycleMs: 100)
    let sink = try #require(run.services.webhooks.first)
    let began = Date()
    #expect(await Support.waitUntil(30) { sink.stats.dropped >= 3 })
    let firstDrops = sink.stats.dropped
    let cyclesBefore = run.cycleCount
    try await Task.sleep(for: .seconds(3))
    let cyclesAfter = run.cycleCount
    let secondDrops = sink.stats.dropped
    await run.stop(flush: .milliseconds(200))

    // 100 ms cycles: about 30 in 3 s; at least 15 even on a loaded machine.
    #expect(cyclesAfter - cyclesBefore >= 15)
    #expect(secondDrops > firstDrops)
    #expect(sink.stats.delivered == 0)
    #expect(sink.stats.queueDepth <= 3)
    // The sink's write never waited for the network: one that did would take the 300 ms
    // connect timeout. (The bound leaves room for a busy machine's scheduling delays; it is a
    // structural check, not a speed claim.)
    let worst = try #require(timing.withLock { $0 }).worstNanos.load(ordering: .relaxed)
    #expect(worst < 250_000_000)
    // Cycle numbers have no gaps while the receiver is down.
    #expect(run.missingCycles().isEmpty)
    // Metrics show the drops.
    let text = run.services.metrics.exposition()
    #expect(text.contains("engine_sink_dropped_total{sink=\"\(url)\"}"))
    print(
      "receiver down: \(cyclesAfter - cyclesBefore) cycles in 3 s, dropped \(firstDrops) → \(secondDrops), worst write \(worst / 1000) µs, after \(Date().timeIntervalSince(began)) s"
    )
  }
}
