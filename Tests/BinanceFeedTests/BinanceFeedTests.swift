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

// MARK: - Fixtures

private let baseTime: Int64 = 1_700_000_000_000

/// Deterministic `/api/v3/klines` answer: `limit` one-minute candles.
private func restKlines(symbol: String, interval: String, limit: Int) -> String {
  let seed = Double(symbol.utf8.reduce(0) { $0 + Int($1) } % 97 + 10)
  var rows: [String] = []
  for i in 0..<limit {
    let t = baseTime + Int64(i) * 60_000
    let o = seed + Double(i)
    rows.append(
      #"[\#(t),"\#(o)","\#(o + 2)","\#(o - 1)","\#(o + 1)","\#(100 + i)",\#(t + 59_999),"\#(o * 100)",\#(10 + i),"50","5000","0"]"#
    )
  }
  return "[" + rows.joined(separator: ",") + "]"
}

/// The kline events a backfill of `restKlines` must deliver (event time aside).
private func backfillEvents(symbol: String, interval: String, limit: Int) -> [MarketEvent] {
  let seed = Double(symbol.utf8.reduce(0) { $0 + Int($1) } % 97 + 10)
  return (0..<limit).map { i in
    let o = seed + Double(i)
    return .kline(
      KlineEvent(
        symbol: symbol, eventTime: 0, interval: interval, openTime: baseTime + Int64(i) * 60_000,
        open: o, high: o + 2, low: o - 1, close: o + 1, volume: Double(100 + i), isClosed: true))
  }
}

private func withoutTime(_ event: MarketEvent) -> MarketEvent {
  switch event {
  case .kline(var k):
    k.eventTime = 0
    return .kline(k)
  case .ticker(var t):
    t.eventTime = 0
    return .ticker(t)
  }
}

private func ticker(_ symbol: String, time: Int64, price: Double) -> String {
  let data =
    #"{"e":"24hrTicker","E":\#(time),"s":"\#(symbol)","p":"1.5","P":"0.7","w":"\#(price - 1)","c":"\#(price)","Q":"2","b":"\#(price - 0.5)","B":"3","a":"\#(price + 0.5)","A":"4","o":"\#(price - 1.5)","h":"\#(price + 5)","l":"\#(price - 5)","v":"1000","q":"\#(price * 1000)","O":0,"C":\#(time),"F":1,"L":2,"n":3}"#
  return #"{"stream":"\#(symbol.lowercased())@ticker","data":\#(data)}"#
}

private func kline(_ symbol: String, _ interval: String, time: Int64, open t: Int64, close: Double)
  -> String
{
  let data =
    #"{"e":"kline","E":\#(time),"s":"\#(symbol)","k":{"t":\#(t),"T":\#(t + 59_999),"s":"\#(symbol)","i":"\#(interval)","f":1,"L":2,"o":"\#(close - 1)","c":"\#(close)","h":"\#(close + 1)","l":"\#(close - 2)","v":"7","n":3,"x":false,"q":"70","V":"3","Q":"30","B":"0"}}"#
  return #"{"stream":"\#(symbol.lowercased())@kline_\#(interval)","data":\#(data)}"#
}

/// Frames for `symbols`: tickers and 1m klines, event times from `start`.
private func frames(_ symbols: [String], count: Int, start: Int64) -> [String] {
  (0..<count).map { i in
    let symbol = symbols[i % symbols.count]
    let time = start + Int64(i) * 100
    return i % 2 == 0
      ? ticker(symbol, time: time, price: 100 + Double(i))
      : kline(symbol, "1m", time: time, open: baseTime + 10 * 60_000, close: 50 + Double(i))
  }
}

private func parsed(_ lines: [String]) -> [MarketEvent] {
  lines.flatMap { BinanceParser().parse($0).events }
}

private func defaultREST(exchangeInfo: String = #"{"symbols":[]}"#)
  -> @Sendable (TestServer.Request, Int) -> RestReply
{
  { request, _ in
    switch request.path {
    case "/api/v3/klines":
      return RestReply(
        body: restKlines(
          symbol: request.query["symbol"] ?? "", interval: request.query["interval"] ?? "",
          limit: Int(request.query["limit"] ?? "") ?? 500))
    case "/api/v3/exchangeInfo":
      return RestReply(body: exchangeInfo)
    default:
      return RestReply(status: 404, body: #"{"code":-1,"msg":"not found"}"#)
    }
  }
}

private func config(
  _ server: TestServer, symbols: [String], intervals: [String], record: String? = nil
) -> BinanceFeedConfig {
  var c = BinanceFeedConfig(
    symbols: symbols, intervals: intervals, wsURL: server.wsURL, restURL: server.restURL,
    backfillCandles: 5, staleAfterSeconds: 30, recordPath: record)
  c.streamsInURL = 2
  c.streamsPerSubscribe = 2
  c.controlMessagesPerSecond = 50
  c.reconnectInitialDelaySeconds = 0.05
  return c
}

/// Polls `condition` until it holds or `timeout` seconds pass (generous: loaded CI machines).
/// Waits until `condition` holds. The bound is generous (no cost when things are fast):
/// under ThreadSanitizer on a loaded 2-core machine the backfill took more than 30 s to start.
private func eventually(timeout: Double = 120, _ condition: () -> Bool) async -> Bool {
  let deadline = ContinuousClock.now + .seconds(timeout)
  while ContinuousClock.now < deadline {
    if condition() { return true }
    try? await Task.sleep(for: .milliseconds(20))
  }
  return condition()
}

/// Runs a feed on its own thread and collects what it delivers on another, as the engine does.
private final class Harness: Sendable {
  struct Collected: Sendable {
    var events: [MarketEvent] = []
    var skipped = 0
    var unknown = 0
    var lines = 0
    var problems: [FeedProblem] = []
    var failures: [String] = []
  }

  let feed: BinanceFeed
  let queue = FeedQueue(capacity: 256)
  let stop = StopFlag()
  let collected = Mutex(Collected())
  let logLines = LogLines()
  private let feedDone = Atomic<Bool>(false)
  private let collectorDone = Atomic<Bool>(false)

  init(_ config: BinanceFeedConfig) {
    let logLines = self.logLines
    feed = BinanceFeed(config: config, log: { line in logLines.append(line) })
  }

  var events: [MarketEvent] { collected.withLock { $0.events } }
  var logs: [String] { logLines.lines.withLock { $0 } }
  var stats: BinanceFeedStats.Snapshot { feed.stats.snapshot() }
  var isLive: Bool { stats.connections.first?.state == .live }

  func start() {
    Thread.detachNewThread { [self] in
      feed.run(into: queue, stop: stop)
      feedDone.store(true, ordering: .releasing)
    }
    Thread.detachNewThread { [self] in
      while !(stop.isRaised && feedDone.load(ordering: .acquiring)) {
        guard let message = queue.pop(timeoutMs: 20) else { continue }
        collected.withLock {
          switch message {
          case .batch(let batch):
            $0.events += batch.events
            $0.skipped += batch.skipped
            $0.unknown += batch.unknown
            $0.lines += batch.lines
            $0.problems += batch.problems
          case .failed(let why): $0.failures.append(why)
          case .end: $0.failures.append("unexpected end")
          }
        }
      }
      collectorDone.store(true, ordering: .releasing)
    }
  }

  func finish() async {
    stop.raise()
    let done = await eventually(timeout: 60) {
      feedDone.load(ordering: .acquiring) && collectorDone.load(ordering: .acquiring)
    }
    #expect(done, "the feed did not stop")
  }
}

private final class LogLines: Sendable {
  let lines = Mutex<[String]>([])
  func append(_ line: String) { lines.withLock { $0.append(line) } }
}

private func withServer(
  rest: @escaping @Sendable (TestServer.Request, Int) -> RestReply = defaultREST(),
  _ body: (TestServer) async throws -> Void
) async throws {
  let server = TestServer(rest: rest)
  try await server.start()
  do {
    try await body(server)
  } catch {
    await server.shutdown()
    throw error
  }
  await server.shutdown()
}

// MARK: - Tests

@Suite("Binance feed against a local server", .serialized)
struct BinanceFeedTests {
  @Test("backfills every symbol × interval, subscribes, and delivers the server's frames")
  func backfillAndSubscribe() async throws {
    let record = FileManager.default.temporaryDirectory
      .appendingPathComponent("binance-record-\(UUID().uuidString).jsonl").path
    defer { try? FileManager.default.removeItem(atPath: record) }
    try await withServer { server in
      let harness = Harness(
        config(server, symbols: ["BTCUSDT", "ethusdt"], intervals: ["1m", "5m"], record: record))
      harness.start()
      let expectedStreams: Set = [
        "btcusdt@ticker", "btcusdt@kline_1m", "btcusdt@kline_5m",
        "ethusdt@ticker", "ethusdt@kline_1m", "ethusdt@kline_5m",
      ]
      #expect(
        await eventually {
          Set(server.connections.first?.streams ?? []) == expectedStreams
            && server.requests(path: "/api/v3/klines").count == 4
        })
      // 2 streams in the URL, the other 4 in two SUBSCRIBE messages of 2.
      #expect(server.connections.count == 1)
      #expect(server.connections.first?.subscribeMessages == 2)
      let asked = Set(
        server.requests(path: "/api/v3/klines").map {
          "\($0.query["symbol"] ?? "") \($0.query["interval"] ?? "") \($0.query["limit"] ?? "")"
        })
      #expect(asked == ["BTCUSDT 1m 5", "BTCUSDT 5m 5", "ETHUSDT 1m 5", "ETHUSDT 5m 5"])

      let sent = frames(["BTCUSDT", "ETHUSDT"], count: 40, start: baseTime + 3_600_000)
      try await server.send(sent, on: 0)
      let live = parsed(sent)
      #expect(live.count == 40)
      #expect(await eventually { harness.events.count == 20 + live.count })
      await harness.finish()

      let events = harness.events
      // Backfill first (each series in order), then the live frames exactly.
      let backfill = events.prefix(20).map(withoutTime)
      for symbol in ["BTCUSDT", "ETHUSDT"] {
        for interval in ["1m", "5m"] {
          let series = backfill.filter {
            if case .kline(let k) = $0 {
              k.symbol == symbol && k.interval == interval
            } else {
              false
            }
          }
          #expect(series == backfillEvents(symbol: symbol, interval: interval, limit: 5))
        }
      }
      #expect(Array(events.suffix(live.count)) == live)
      #expect(harness.collected.withLock { $0.failures.isEmpty && $0.skipped == 0 })

      // The recording holds the frames as sent, in order, and replays to the same events.
      let lines = try String(contentsOfFile: record, encoding: .utf8)
        .split(separator: "\n").map(String.init)
      #expect(lines.filter { Set(sent).contains($0) } == sent)
      var batcher = MessageBatcher(source: record)
      for line in lines { batcher.add(line) }
      #expect(batcher.batch.events == events)
      #expect(lines.count == harness.collected.withLock { $0.lines })
    }
  }

  @Test("reconnects after the server drops the connection, backfills the gap, loses nothing")
  func reconnectAfterDrop() async throws {
    try await withServer { server in
      let harness = Harness(config(server, symbols: ["BTCUSDT"], intervals: ["1m"]))
      harness.start()
      #expect(await eventually { harness.isLive && harness.events.count == 5 })

      let before = frames(["BTCUSDT"], count: 10, start: baseTime + 3_600_000)
      try await server.send(before, on: 0)
      #expect(await eventually { harness.events.count == 15 })

      await server.drop(0)
      #expect(
        await eventually {
          server.connections.count == 2 && server.requests(path: "/api/v3/klines").count == 2
            && harness.isLive && harness.events.count == 20
        })
      #expect(server.connections.last?.streams == ["btcusdt@ticker", "btcusdt@kline_1m"])

      let after = frames(["BTCUSDT"], count: 10, start: baseTime + 7_200_000)
      try await server.send(after, on: 1)
      #expect(await eventually { harness.events.count == 30 })
      await harness.finish()

      let events = harness.events
      let expectedBackfill = backfillEvents(symbol: "BTCUSDT", interval: "1m", limit: 5)
      #expect(events[0..<5].map(withoutTime) == expectedBackfill)
      #expect(Array(events[5..<15]) == parsed(before))
      #expect(events[15..<20].map(withoutTime) == expectedBackfill)
      #expect(Array(events[20...]) == parsed(after))
      #expect(harness.stats.reconnects == 1)
      #expect(harness.logs.contains { $0.contains("reconnecting") })
    }
  }

  @Test("answers the server's pings with pongs")
  func answersPings() async throws {
    try await withServer { server in
      let harness = Harness(config(server, symbols: ["BTCUSDT"], intervals: []))
      harness.start()
      #expect(await eventually { harness.isLive })
      try await server.ping("ping-1700000000000", on: 0)
      #expect(
        await eventually { server.connections.first?.pongs == ["ping-1700000000000"] })
      // Still delivering afterwards.
      let sent = frames(["BTCUSDT"], count: 2, start: baseTime)
      try await server.send(sent, on: 0)
      #expect(await eventually { harness.events == parsed(sent) })
      await harness.finish()
    }
  }

  @Test("a 429 with Retry-After: 1 pauses REST requests, then the backfill is retried")
  func honoursRetryAfter() async throws {
    let normal = defaultREST()
    try await withServer(rest: { request, n in
      if request.path == "/api/v3/klines" && n == 0 {
        return RestReply(
          status: 429, headers: ["Retry-After": "1"],
          body: #"{"code":-1003,"msg":"Too many requests"}"#)
      }
      return normal(request, n)
    }) { server in
      let harness = Harness(config(server, symbols: ["BTCUSDT"], intervals: ["1m"]))
      harness.start()
      #expect(await eventually { harness.isLive && harness.events.count == 5 })
      let requests = server.requests(path: "/api/v3/klines")
      #expect(requests.count == 2)
      if requests.count == 2 {
        #expect(requests[1].time - requests[0].time >= .milliseconds(950))
      }
      #expect(harness.stats.restBackoffs == 1)
      #expect(
        harness.events.map(withoutTime)
          == backfillEvents(symbol: "BTCUSDT", interval: "1m", limit: 5))
      await harness.finish()
    }
  }

  @Test("malformed and unknown frames are counted and skipped, never fatal")
  func malformedFrames() async throws {
    try await withServer { server in
      let harness = Harness(config(server, symbols: ["BTCUSDT"], intervals: []))
      harness.start()
      #expect(await eventually { harness.isLive })
      let good = ticker("BTCUSDT", time: baseTime, price: 10)
      try await server.send(
        [
          "this is not JSON {",
          #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT"}}"#,
          #"{"stream":"btcusdt@ticker","data":{"e":"24hrTicker","E":2,"s":"BTCUSDT","c":"12..5"}}"#,
          "",
          good,
        ], on: 0)
      #expect(await eventually { harness.events.count == 1 })
      let later = ticker("BTCUSDT", time: baseTime + 1000, price: 11)
      try await server.send([later], on: 0)
      #expect(await eventually { harness.events.count == 2 })
      await harness.finish()
      let collected = harness.collected.withLock { $0 }
      #expect(collected.events == parsed([good, later]))
      #expect(collected.skipped == 2)
      #expect(collected.unknown == 1)
      #expect(collected.problems.map(\.line) == [1, 3])
      #expect(collected.failures.isEmpty)
      #expect(harness.stats.reconnects == 0)
    }
  }

  @Test("quote selection: TRADING spot symbols of the quote asset, at most max_symbols")
  func quoteSelection() async throws {
    let info = """
      {"timezone":"UTC","symbols":[
      {"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","isSpotTradingAllowed":true},
      {"symbol":"ETHBTC","status":"TRADING","baseAsset":"ETH","quoteAsset":"BTC","isSpotTradingAllowed":true},
      {"symbol":"LUNAUSDT","status":"BREAK","baseAsset":"LUNA","quoteAsset":"USDT","isSpotTradingAllowed":true},
      {"symbol":"MARGUSDT","status":"TRADING","baseAsset":"MARG","quoteAsset":"USDT","isSpotTradingAllowed":false},
      {"symbol":"ETHUSDT","status":"TRADING","baseAsset":"ETH","quoteAsset":"USDT","isSpotTradingAllowed":true},
      {"symbol":"BNBUSDT","status":"TRADING","baseAsset":"BNB","quoteAsset":"USDT"},
      {"symbol":"SOLUSDT","status":"TRADING","baseAsset":"SOL","quoteAsset":"USDT","isSpotTradingAllowed":true}
      ]}
      """
    try await withServer(rest: defaultREST(exchangeInfo: info)) { server in
      var c = config(server, symbols: [], intervals: ["1m"])
      c.quote = "USDT"
      c.maxSymbols = 3
      c.streamsInURL = 100
      let harness = Harness(c)
      harness.start()
      #expect(await eventually { harness.isLive })
      #expect(
        server.connections.first?.streams == [
          "btcusdt@ticker", "btcusdt@kline_1m", "ethusdt@ticker", "ethusdt@kline_1m",
          "bnbusdt@ticker", "bnbusdt@kline_1m",
        ])
      #expect(
        Set(server.requests(path: "/api/v3/klines").compactMap { $0.query["symbol"] })
          == ["BTCUSDT", "ETHUSDT", "BNBUSDT"])
      #expect(server.requests(path: "/api/v3/exchangeInfo").count == 1)
      await harness.finish()
    }
  }

  @Test("a serverShutdown event opens and subscribes a new connection before the old one closes")
  func serverShutdownRollover() async throws {
    try await withServer { server in
      let harness = Harness(config(server, symbols: ["BTCUSDT"], intervals: ["1m"]))
      harness.start()
      #expect(await eventually { harness.isLive && harness.events.count == 5 })
      try await server.send([#"{"e":"serverShutdown","E":1700000000000}"#], on: 0)
      #expect(
        await eventually {
          server.connections.count == 2 && server.connections[0].open == false
            && harness.stats.connections.first?.state == .live
        })
      #expect(server.connections[1].streams == ["btcusdt@ticker", "btcusdt@kline_1m"])
      // No gap, so no backfill and no reconnect.
      #expect(server.requests(path: "/api/v3/klines").count == 1)
      let after = frames(["BTCUSDT"], count: 6, start: baseTime + 3_600_000)
      try await server.send(after, on: 1)
      #expect(await eventually { harness.events.count == 11 })
      #expect(Array(harness.events.suffix(6)) == parsed(after))
      #expect(harness.stats.reconnects == 0)
      await harness.finish()
    }
  }

  @Test("a slow backfill holds at most max_held_messages live messages: the newest, in order")
  func heldMessagesCap() async throws {
    try await withServer { server in
      server.hold(path: "/api/v3/klines")
      var c = config(server, symbols: ["BTCUSDT"], intervals: ["1m"])
      c.maxHeldMessages = 5
      let harness = Harness(c)
      harness.start()
      // The backfill has asked for its klines (the answer is held): the connection is up and
      // holding back its live messages.
      #expect(await eventually { server.requests(path: "/api/v3/klines").count == 1 })
      let held = frames(["BTCUSDT"], count: 12, start: baseTime + 3_600_000)
      try await server.send(held, on: 0)
      #expect(await eventually { harness.stats.frames == 12 && harness.stats.heldDropped == 7 })
      #expect(harness.stats.connections.first?.state == .backfilling)
      let capLog = "held more than 5 messages while backfilling; dropping the oldest"
      #expect(harness.logs.filter { $0.contains(capLog) }.count == 1)
      #expect(harness.collected.withLock { $0.lines } == 0)

      server.release(path: "/api/v3/klines")
      #expect(await eventually { harness.isLive && harness.events.count >= 10 })
      // Live messages are not capped.
      let after = frames(["BTCUSDT"], count: 8, start: baseTime + 7_200_000)
      try await server.send(after, on: 0)
      #expect(await eventually { harness.events.count >= 18 })
      await harness.finish()

      let events = harness.events
      #expect(events.count == 18)
      if events.count == 18 {
        #expect(
          events[0..<5].map(withoutTime)
            == backfillEvents(symbol: "BTCUSDT", interval: "1m", limit: 5))
        #expect(Array(events[5..<10]) == parsed(Array(held.suffix(5))))
        #expect(Array(events[10...]) == parsed(after))
      }
      #expect(harness.stats.heldDropped == 7)
      #expect(harness.logs.filter { $0.contains(capLog) }.count == 1)
      #expect(
        harness.logs.filter {
          $0.contains("binance: connection 0 dropped 7 held messages while backfilling")
        }.count == 1)
      #expect(harness.logs.filter { $0.contains("max_held_messages") }.count == 1)
    }
  }

  @Test("a backfill that drops nothing logs nothing about held messages")
  func heldMessagesUnderCap() async throws {
    try await withServer { server in
      server.hold(path: "/api/v3/klines")
      var c = config(server, symbols: ["BTCUSDT"], intervals: ["1m"])
      c.maxHeldMessages = 5
      let harness = Harness(c)
      harness.start()
      #expect(await eventually { server.requests(path: "/api/v3/klines").count == 1 })
      let held = frames(["BTCUSDT"], count: 5, start: baseTime + 3_600_000)
      try await server.send(held, on: 0)
      #expect(await eventually { harness.stats.frames == 5 })
      server.release(path: "/api/v3/klines")
      #expect(await eventually { harness.isLive && harness.events.count >= 10 })
      await harness.finish()
      #expect(Array(harness.events.dropFirst(5)) == parsed(held))
      #expect(harness.stats.heldDropped == 0)
      #expect(!harness.logs.contains { $0.contains("held") })
    }
  }

  @Test("a connection with no message for staleAfterSeconds is reconnected")
  func staleConnection() async throws {
    try await withServer { server in
      var c = config(server, symbols: ["BTCUSDT"], intervals: [])
      c.staleAfterSeconds = 0.5
      let harness = Harness(c)
      harness.start()
      #expect(await eventually { server.connections.count >= 2 && harness.stats.reconnects >= 1 })
      #expect(harness.logs.contains { $0.contains("stale") })
      #expect(await eventually { server.connections[0].open == false })
      await harness.finish()
    }
  }
}

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
