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

let baseTime: Int64 = 1_700_000_000_000

/// Deterministic `/api/v3/klines` answer: `limit` one-minute candles.
func restKlines(symbol: String, interval: String, limit: Int) -> String {
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
func backfillEvents(symbol: String, interval: String, limit: Int) -> [MarketEvent] {
  let seed = Double(symbol.utf8.reduce(0) { $0 + Int($1) } % 97 + 10)
  return (0..<limit).map { i in
    let o = seed + Double(i)
    return .kline(
      KlineEvent(
        symbol: symbol, eventTime: 0, interval: interval, openTime: baseTime + Int64(i) * 60_000,
        open: o, high: o + 2, low: o - 1, close: o + 1, volume: Double(100 + i), isClosed: true))
  }
}

func withoutTime(_ event: MarketEvent) -> MarketEvent {
  switch event {
  case .kline(var k):
    k.eventTime = 0
    return .kline(k)
  case .ticker(var t):
    t.eventTime = 0
    return .ticker(t)
  }
}

func ticker(_ symbol: String, time: Int64, price: Double) -> String {
  let data =
    #"{"e":"24hrTicker","E":\#(time),"s":"\#(symbol)","p":"1.5","P":"0.7","w":"\#(price - 1)","c":"\#(price)","Q":"2","b":"\#(price - 0.5)","B":"3","a":"\#(price + 0.5)","A":"4","o":"\#(price - 1.5)","h":"\#(price + 5)","l":"\#(price - 5)","v":"1000","q":"\#(price * 1000)","O":0,"C":\#(time),"F":1,"L":2,"n":3}"#
  return #"{"stream":"\#(symbol.lowercased())@ticker","data":\#(data)}"#
}

func kline(_ symbol: String, _ interval: String, time: Int64, open t: Int64, close: Double)
  -> String
{
  let data =
    #"{"e":"kline","E":\#(time),"s":"\#(symbol)","k":{"t":\#(t),"T":\#(t + 59_999),"s":"\#(symbol)","i":"\#(interval)","f":1,"L":2,"o":"\#(close - 1)","c":"\#(close)","h":"\#(close + 1)","l":"\#(close - 2)","v":"7","n":3,"x":false,"q":"70","V":"3","Q":"30","B":"0"}}"#
  return #"{"stream":"\#(symbol.lowercased())@kline_\#(interval)","data":\#(data)}"#
}

/// Frames for `symbols`: tickers and 1m klines, event times from `start`.
func frames(_ symbols: [String], count: Int, start: Int64) -> [String] {
  (0..<count).map { i in
    let symbol = symbols[i % symbols.count]
    let time = start + Int64(i) * 100
    return i % 2 == 0
      ? ticker(symbol, time: time, price: 100 + Double(i))
      : kline(symbol, "1m", time: time, open: baseTime + 10 * 60_000, close: 50 + Double(i))
  }
}

func parsed(_ lines: [String]) -> [MarketEvent] {
  lines.flatMap { BinanceParser().parse($0).events }
}

func defaultREST(exchangeInfo: String = #"{"symbols":[]}"#)
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

func config(
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
func eventually(timeout: Double = 120, _ condition: () -> Bool) async -> Bool {
  let deadline = ContinuousClock.now + .seconds(timeout)
  while ContinuousClock.now < deadline {
    if condition() { return true }
    try? await Task.sleep(for: .milliseconds(20))
  }
  return condition()
}

/// Runs a feed on its own thread and collects what it delivers on another, as the engine does.
final class Harness: Sendable {
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
          case .batch(let batch), .cycle(_, let batch):
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

final class LogLines: Sendable {
  let lines = Mutex<[String]>([])
  func append(_ line: String) { lines.withLock { $0.append(line) } }
}

func withServer(
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
