import Feeds
import Foundation
import Synchronization
import Testing
import Tracking
import Engine
import EngineSettings
@testable import BinanceFeed
import Support
@testable import Evaluation

@Suite("Binance feed: connection planning and settings")
struct BinanceFeedPlanTests {
  @Test("splits streams over connections of at most 1024, keeping a symbol's streams together")
  func planSplitsStreams() {
    let symbols = (0..<600).map { "S\($0)USDT" }
    let plans = BinanceFeedConfig(symbols: symbols, intervals: ["1m"]).plan(symbols: symbols)
    #expect(plans.map(\.streams.count) == [1024, 176])
    #expect(plans.map(\.symbols.count) == [512, 88])
    #expect(plans[0].streams.prefix(2) == ["s0usdt@ticker", "s0usdt@kline_1m"])

    let mini = BinanceFeedConfig(symbols: symbols, intervals: ["1m", "5m"], ticker: .mini)
      .plan(symbols: symbols)
    #expect(mini.map(\.streams.count) == [1023, 178])
    #expect(mini[0].streams.first == "!miniTicker@arr")
  }

  @Test("validation names the bad setting")
  func validation() {
    #expect(BinanceFeedConfig(symbols: ["BTCUSDT"]).validate() == nil)
    #expect(BinanceFeedConfig().validate()?.contains("feed.binance") == true)
    #expect(BinanceFeedConfig(symbols: ["BTC/USDT"]).validate()?.contains("symbols") == true)
    #expect(BinanceFeedConfig(symbols: ["X"], intervals: ["2m"]).validate()?.contains("2m") == true)
    #expect(
      BinanceFeedConfig(symbols: ["X"], wsURL: "http://x").validate()?.contains("ws_url") == true)
  }

  @Test("max_held_messages defaults to 100000 and must be at least 1")
  func heldMessagesValidation() {
    var c = BinanceFeedConfig(symbols: ["BTCUSDT"])
    #expect(c.maxHeldMessages == 100_000)
    c.maxHeldMessages = 1
    #expect(c.validate() == nil)
    c.maxHeldMessages = 0
    #expect(c.validate() == "feed.binance.max_held_messages: expected at least 1, got 0")
    c.maxHeldMessages = -3
    #expect(c.validate() == "feed.binance.max_held_messages: expected at least 1, got -3")
  }

  @Test("held messages keep the newest, oldest first, and count the dropped")
  func heldMessagesRing() {
    var held = HeldMessages(capacity: 5)
    #expect((1...5).map { held.append("m\($0)") } == Array(repeating: false, count: 5))
    #expect((6...12).map { held.append("m\($0)") } == Array(repeating: true, count: 7))
    #expect(held.count == 5)
    #expect(held.dropped == 7)
    #expect(held.drain() == ["m8", "m9", "m10", "m11", "m12"])
    #expect(held.count == 0)
    #expect(held.dropped == 7)

    var one = HeldMessages(capacity: 1)
    #expect(one.append("a") == false)
    #expect(one.append("b") == true)
    #expect(one.drain() == ["b"])

    var under = HeldMessages(capacity: 5)
    for m in ["a", "b", "c"] { _ = under.append(m) }
    #expect(under.drain() == ["a", "b", "c"])
    #expect(under.dropped == 0)
  }

  @Test("backfill candles become Binance kline events")
  func restKlineMessage() throws {
    let rows = try JSONDecoder().decode(
      [RestKline].self,
      from: Data(
        #"[[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]]"#
          .utf8))
    let line = rows[0].message(symbol: "ETHBTC", interval: "1m", now: 1_499_644_800_000)
    #expect(
      line
        == #"{"e":"kline","E":1499644800000,"s":"ETHBTC","k":{"t":1499040000000,"T":1499644799999,"s":"ETHBTC","i":"1m","o":"0.01634790","c":"0.01577100","h":"0.80000000","l":"0.01575800","v":"148976.11427815","n":308,"x":true,"q":"2434.19055334","V":"1756.87402397","Q":"28.46694368","B":"0"}}"#
    )
    #expect(BinanceParser().parse(line).events.count == 1)
  }
}

@Suite("Binance feed throughput")
struct BinanceFeedThroughput {
  /// Loopback load: 2,000 symbols' tickers plus 1m klines over two connections, measured from
  /// the first frame sent to the last event queued. Run with BINANCE_FEED_BENCH=1.
  @Test(
    "messages per second on loopback",
    .enabled(if: ProcessInfo.processInfo.environment["BINANCE_FEED_BENCH"] != nil))
  func throughput() async throws {
    try await withServer { server in
      let symbols = (0..<2000).map { "S\($0)USDT" }
      var c = config(server, symbols: symbols, intervals: [])
      c.streamsInURL = 1024
      let harness = Harness(c)
      harness.start()
      #expect(
        await eventually {
          harness.stats.connections.count == 2
            && harness.stats.connections.allSatisfy { $0.state == .live }
        })
      #expect(harness.stats.connections.count == 2)
      let perConnection = 100_000
      let first = frames(Array(symbols[0..<1000]), count: perConnection, start: baseTime)
      let second = frames(Array(symbols[1000..<2000]), count: perConnection, start: baseTime)
      let bytes = (first + second).reduce(0) { $0 + $1.utf8.count }
      let cpu0 = processCPUSeconds()
      let start = ContinuousClock.now
      async let a: Void = server.send(first, on: 0)
      async let b: Void = server.send(second, on: 1)
      _ = try await (a, b)
      #expect(await eventually(timeout: 120) { harness.events.count == 2 * perConnection })
      let elapsed = seconds(ContinuousClock.now - start)
      let cpu1 = processCPUSeconds()
      let rate = Double(2 * perConnection) / elapsed
      print(
        "binance feed loopback: \(2 * perConnection) messages (\(bytes / 1_000_000) MB) in "
          + "\(String(format: "%.2f", elapsed)) s = \(Int(rate)) messages/s; process CPU "
          + "(server + feed + collector) \(String(format: "%.2f", cpu1 - cpu0)) s")
      await harness.finish()
    }
  }
}

private func processCPUSeconds() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

// MARK: - The engine on the live feed

/// Collects the diff lines an engine writes, from any thread.
private final class LineSink: DiffSink, @unchecked Sendable {
  // safe: every access goes through the Mutex.
  let lines = Mutex<[String]>([])
  func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff]) {
    var bytes: [UInt8] = []
    for d in diffs { JSONLinesWriter.append(d, cycle: cycle, time: time, to: &bytes) }
    let text = String(decoding: bytes, as: UTF8.self)
    lines.withLock { $0 += text.split(separator: "\n").map(String.init) }
  }
}

@Suite("The engine on the live Binance feed", .serialized)
struct BinanceEngineTests {
  @Test("a live run recorded with --record replays to identical diffs")
  func recordAndReplay() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "binance-engine-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    // Enters and exits as the price moves: symbols whose price is in the lower half of
    // each 4-unit band, plus a kline-based strategy.
    try "return { filter = function(s) return s.price % 4 < 2, s.price end }".write(
      to: dir.appendingPathComponent("band.lua"), atomically: true, encoding: .utf8)
    try """
    return { timeframes = { "1m" }, min_candles = 3, filter = function(s)
      local k = s.klines["1m"]
      return k.close[#k] > k.open[#k]
    end }
    """.write(to: dir.appendingPathComponent("green.lua"), atomically: true, encoding: .utf8)
    let record = dir.appendingPathComponent("live.jsonl").path
    var settings = Settings()
    settings.strategies = dir.path
    settings.workers = 2
    settings.cycleMs = 1000
    settings.cycleGraceMs = 250
    try await withServer { server in
      let feed = BinanceFeed(
        config: config(server, symbols: ["BTCUSDT", "ETHUSDT"], intervals: ["1m"], record: record),
        log: { _ in })
      let liveSink = LineSink()
      let engine = CycleEngine(settings: settings, sink: liveSink, live: true)
      engine.log = { _ in }
      try engine.start(code: CodeSet.load(strategies: dir.path, plugins: "/nonexistent"))
      let done = Atomic<Bool>(false)
      Thread.detachNewThread {
        _ = try? engine.run(feed: feed)
        done.store(true, ordering: .releasing)
      }
      #expect(await eventually { feed.stats.snapshot().connections.first?.state == .live })
      // Frames across several cycles, starting after the backfill's event time (now).
      let now = Int64(Date().timeIntervalSince1970 * 1000)
      let start = (now / 1000 + 2) * 1000
      let sent = frames(["BTCUSDT", "ETHUSDT"], count: 60, start: start)
      try await server.send(sent, on: 0)
      // Let the last cycle close on wall-clock time (cycle_ms + grace), then stop.
      #expect(await eventually { feed.stats.snapshot().messages >= 60 })
      try? await Task.sleep(for: .milliseconds(2_000))
      engine.requestStop()
      #expect(await eventually { done.load(ordering: .acquiring) })
      let live = liveSink.lines.withLock { $0 }
      #expect(live.count > 5)

      // The same file through `engine replay`.
      var replaySettings = settings
      replaySettings.workers = 1
      let replaySink = LineSink()
      let replay = CycleEngine(settings: replaySettings, sink: replaySink, live: false)
      replay.log = { _ in }
      try replay.start(code: CodeSet.load(strategies: dir.path, plugins: "/nonexistent"))
      _ = try replay.run(feed: ReplayFeed(path: record, speed: nil, strict: true))
      #expect(replaySink.lines.withLock { $0 } == live)
    }
  }
}
