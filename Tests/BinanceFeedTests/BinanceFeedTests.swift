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
