import Feeds
import Foundation
import Synchronization
import Testing
import Tracking

@testable import BinanceFeed

/// The stand-in's history: one candle a minute per symbol, values from the minute number, so
/// every derived ticker can be recomputed here. GAPUSDT has no candle in `gap`; NEWUSDT has
/// none before `listed`.
private enum History {
  static let minute: Int64 = 60_000
  static let day: Int64 = 86_400_000
  /// The end of the fetched span (exclusive), on a minute boundary.
  static let end: Int64 = 1_700_006_400_000
  static let start = end - day
  static let warmStart = start - day
  static let gap = (warmStart + 1940 * minute)..<(warmStart + 2640 * minute)
  static let listed = start + 100 * minute

  struct Candle {
    var openTime: Int64
    var open, high, low, close, volume, quoteVolume: Double
  }

  static func candle(_ symbol: String, _ openTime: Int64) -> Candle? {
    if symbol == "GAPUSDT" && gap.contains(openTime) { return nil }
    if symbol == "NEWUSDT" && openTime < listed { return nil }
    let m = openTime / minute
    let k = Double(symbol.utf8.reduce(0) { $0 + Int($1) } % 13)
    let open = 100 + Double(m % 50) + k
    let close = open + Double(m % 3 - 1) * 0.5
    let volume = Double(1 + m % 4)
    return Candle(
      openTime: openTime, open: open, high: max(open, close) + 0.25,
      low: min(open, close) - 0.25, close: close, volume: volume, quoteVolume: volume * close)
  }

  /// `/api/v3/klines` as Binance answers it: candles with open time in
  /// [startTime, endTime], at most `limit`, oldest first.
  static func klines(_ query: [String: String]) -> String {
    let symbol = query["symbol"] ?? ""
    let from = Int64(query["startTime"] ?? "") ?? 0
    let until = Int64(query["endTime"] ?? "") ?? Int64.max
    let limit = min(1000, Int(query["limit"] ?? "") ?? 500)
    var rows: [String] = []
    var t = (from + minute - 1) / minute * minute
    while t <= until && rows.count < limit {
      if let c = candle(symbol, t) {
        rows.append(
          #"[\#(t),"\#(c.open)","\#(c.high)","\#(c.low)","\#(c.close)","\#(c.volume)",\#(t + minute - 1),"\#(c.quoteVolume)",10,"0","0","0"]"#
        )
      }
      t += minute
    }
    return "[" + rows.joined(separator: ",") + "]"
  }

  static func rest(_ request: TestServer.Request, _ n: Int) -> RestReply {
    switch request.path {
    case "/api/v3/klines": return RestReply(body: klines(request.query))
    case "/api/v3/exchangeInfo":
      return RestReply(
        body: #"""
          {"symbols":[
            {"symbol":"AAAUSDT","status":"TRADING","quoteAsset":"USDT","isSpotTradingAllowed":true},
            {"symbol":"OLDUSDT","status":"BREAK","quoteAsset":"USDT"},
            {"symbol":"AAABTC","status":"TRADING","quoteAsset":"BTC"},
            {"symbol":"BBBUSDT","status":"TRADING","quoteAsset":"USDT"},
            {"symbol":"CCCUSDT","status":"TRADING","quoteAsset":"USDT"}
          ]}
          """#)
    default: return RestReply(status: 404, body: #"{"code":-1,"msg":"not found"}"#)
    }
  }

  /// The ticker a symbol's candles give at the candle opening at `openTime`.
  static func expectedTicker(_ symbol: String, _ openTime: Int64) -> [String: Double] {
    var window: [Candle] = []
    var t = openTime - day + minute
    while t <= openTime {
      if let c = candle(symbol, t) { window.append(c) }
      t += minute
    }
    let o = window[0].open
    let c = window[window.count - 1].close
    let v = window.reduce(0) { $0 + $1.volume }
    let q = window.reduce(0) { $0 + $1.quoteVolume }
    return [
      "o": o, "c": c, "h": window.map(\.high).max() ?? 0, "l": window.map(\.low).min() ?? 0,
      "v": v, "q": q, "p": c - o, "P": 100 * (c - o) / o, "w": q / v,
      "O": Double(window[0].openTime),
    ]
  }
}

/// A fetch against the stand-in, with the file it wrote (as parsed JSON objects).
private struct Fetched {
  var summary: HistorySummary
  var lines: [String]
  var objects: [[String: Any]]
}

private func fetch(
  _ server: TestServer, symbols: [String] = [], quote: String? = nil, maxSymbols: Int = 200
) async throws -> Fetched {
  let path = FileManager.default.temporaryDirectory.appendingPathComponent(
    "engine-fetch-\(UUID().uuidString).jsonl"
  ).path
  let request = HistoryRequest(
    symbols: symbols, quote: quote, maxSymbols: maxSymbols, interval: "1m", days: 1,
    end: History.end + 30_000, restURL: server.restURL)
  let summary = try await HistoryFetcher.fetch(request, to: path)
  let text = try String(contentsOfFile: path, encoding: .utf8)
  let lines = text.split(separator: "\n").map(String.init)
  let objects = try lines.map {
    try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
  }
  #expect(!FileManager.default.fileExists(atPath: path + ".part"))
  return Fetched(summary: summary, lines: lines, objects: objects)
}

private func serve(
  _ rest: @escaping @Sendable (TestServer.Request, Int) -> RestReply = History.rest,
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

private func number(_ object: [String: Any], _ key: String) -> Double? {
  if let s = object[key] as? String { return Double(s) }
  return (object[key] as? NSNumber)?.doubleValue
}

@Suite("engine fetch against a local stand-in", .serialized)
struct HistoryFetchTests {
  @Test("pages by startTime, 1000 candles a request, over the warm-up day and the span")
  func pagination() async throws {
    try await serve { server in
      let fetched = try await fetch(server, symbols: ["AAAUSDT", "bbbusdt"])
      let requests = server.requests(path: "/api/v3/klines")
      for symbol in ["AAAUSDT", "BBBUSDT"] {
        let mine = requests.filter { $0.query["symbol"] == symbol }
          .sorted {
            (Int64($0.query["startTime"] ?? "") ?? 0) < (Int64($1.query["startTime"] ?? "") ?? 0)
          }
        let windows = [0, 1000, 2000].map { History.warmStart + Int64($0) * History.minute }
        #expect(mine.map { Int64($0.query["startTime"] ?? "") } == windows)
        #expect(
          mine.map { Int64($0.query["endTime"] ?? "") }
            == [windows[1] - 1, windows[2] - 1, History.end - 1])
        #expect(mine.allSatisfy { $0.query["limit"] == "1000" && $0.query["interval"] == "1m" })
      }
      #expect(fetched.summary.symbols == ["AAAUSDT", "BBBUSDT"])
      #expect(fetched.summary.klines == 2 * 1440 && fetched.summary.tickers == 2 * 1440)
      #expect(fetched.summary.requests == 6 && fetched.summary.backoffs == 0)
      #expect(fetched.lines.count == 4 * 1440)
    }
  }

  @Test("each closed candle is a kline at close + 1, followed by its symbol's derived ticker")
  func messages() async throws {
    try await serve { server in
      let fetched = try await fetch(server, symbols: ["AAAUSDT", "BBBUSDT"])
      // The whole file parses with the feed's parser, in event-time order.
      let events = fetched.lines.flatMap { BinanceParser().parse($0).events }
      #expect(events.count == fetched.lines.count)
      #expect(zip(events, events.dropFirst()).allSatisfy { $0.eventTime <= $1.eventTime })
      for (i, object) in fetched.objects.enumerated() {
        let data = object
        if i % 2 == 0 {
          #expect(data["e"] as? String == "kline")
          let k = try #require(data["k"] as? [String: Any])
          let open = try #require((k["t"] as? NSNumber)?.int64Value)
          #expect((data["E"] as? NSNumber)?.int64Value == open + History.minute)
          #expect(k["x"] as? Bool == true)
          #expect(open >= History.start && open < History.end)
        } else {
          #expect(data["e"] as? String == "24hrTicker")
          #expect(data["s"] as? String == fetched.objects[i - 1]["s"] as? String)
          #expect((data["E"] as? NSNumber) == (fetched.objects[i - 1]["E"] as? NSNumber))
          #expect(data["b"] == nil && data["a"] == nil)
        }
      }
      // Derived tickers equal a direct computation over the preceding 24 h of candles (the
      // first one's window is the whole warm-up day).
      for (index, symbol) in [
        (1, "AAAUSDT"), (1443, "BBBUSDT"), (fetched.lines.count - 1, "BBBUSDT"),
      ] {
        let ticker = fetched.objects[index]
        #expect(ticker["s"] as? String == symbol)
        let openTime = try #require(
          ((fetched.objects[index - 1]["k"] as? [String: Any])?["t"] as? NSNumber)?.int64Value)
        let expected = History.expectedTicker(symbol, openTime)
        for (key, value) in expected {
          let got = try #require(number(ticker, key), "\(key) missing")
          let tolerance = key == "P" ? 0.0005 : 1e-8 * max(1, abs(value))
          #expect(abs(got - value) <= tolerance, "\(symbol) \(key): \(got) vs \(value)")
        }
      }
    }
  }

  @Test("a 429 with Retry-After: 1 pauses the fetch, which then completes")
  func rateLimited() async throws {
    try await serve({ request, n in
      if request.path == "/api/v3/klines" && n == 0 {
        return RestReply(
          status: 429, headers: ["Retry-After": "1"],
          body: #"{"code":-1003,"msg":"Too many requests"}"#)
      }
      return History.rest(request, n)
    }) { server in
      let fetched = try await fetch(server, symbols: ["AAAUSDT"])
      #expect(fetched.summary.backoffs == 1)
      #expect(fetched.summary.klines == 1440 && fetched.lines.count == 2 * 1440)
      let requests = server.requests(path: "/api/v3/klines")
      #expect(requests.count == 4)
      if requests.count == 4 {
        #expect(requests[1].time - requests[0].time >= .milliseconds(950))
      }
    }
  }

  @Test("a symbol with a gap has no message in it; its tickers cover only the candles there are")
  func gapAndListing() async throws {
    try await serve { server in
      let fetched = try await fetch(server, symbols: ["AAAUSDT", "GAPUSDT", "NEWUSDT"])
      func klineTimes(_ symbol: String) -> [Int64] {
        fetched.objects.compactMap { o in
          guard o["e"] as? String == "kline", o["s"] as? String == symbol else { return nil }
          return ((o["k"] as? [String: Any])?["t"] as? NSNumber)?.int64Value
        }
      }
      #expect(klineTimes("AAAUSDT").count == 1440)
      let gapped = klineTimes("GAPUSDT")
      let inSpan = History.gap.clamped(to: History.start..<History.end)
      #expect(gapped.count == 1440 - Int((inSpan.upperBound - inSpan.lowerBound) / History.minute))
      #expect(!gapped.contains { History.gap.contains($0) })
      #expect(klineTimes("NEWUSDT").first == History.listed)
      #expect(klineTimes("NEWUSDT").count == Int((History.end - History.listed) / History.minute))
      // Every ticker of every symbol, including the first after the gap and the first of the
      // newly listed symbol, matches the direct computation.
      var checked = 0
      for (i, o) in fetched.objects.enumerated() where o["e"] as? String == "24hrTicker" {
        let symbol = try #require(o["s"] as? String)
        guard symbol != "AAAUSDT" else { continue }
        let openTime = try #require(
          ((fetched.objects[i - 1]["k"] as? [String: Any])?["t"] as? NSNumber)?.int64Value)
        let expected = History.expectedTicker(symbol, openTime)
        for key in ["o", "h", "l", "c", "v", "q", "O"] {
          let got = number(o, key) ?? .nan
          let want = expected[key] ?? .nan
          #expect(abs(got - want) <= 1e-8 * max(1, abs(want)), "\(symbol) at \(openTime): \(key)")
        }
        checked += 1
      }
      #expect(checked == klineTimes("GAPUSDT").count + klineTimes("NEWUSDT").count)
    }
  }

  @Test("--quote selects the quote asset's trading symbols in exchangeInfo order, at most max")
  func quoteSelection() async throws {
    try await serve { server in
      let fetched = try await fetch(server, quote: "USDT", maxSymbols: 2)
      #expect(fetched.summary.symbols == ["AAAUSDT", "BBBUSDT"])
      #expect(server.requests(path: "/api/v3/exchangeInfo").count == 1)
    }
  }

  @Test(
    "a bad request is refused before any request, naming what is wrong",
    arguments: [
      (HistoryRequest(), "fetch: give --symbols or --quote"),
      (HistoryRequest(symbols: ["BTC-USDT"]), "fetch: \"BTC-USDT\" is not a Binance symbol"),
      (
        HistoryRequest(symbols: ["BTCUSDT"], days: 0), "fetch: --days must be from 1 to 3650, got 0"
      ),
      (
        HistoryRequest(symbols: ["BTCUSDT"], restURL: "ftp://x"),
        "fetch: --rest-url: expected an http:// or https:// URL, got \"ftp://x\""
      ),
    ])
  func validation(request: HistoryRequest, message: String) {
    #expect(request.validate() == message)
  }

  @Test("engine fetch's file replays with no skipped line and engine score scores it end to end")
  func fetchThenScore() async throws {
    let engine = try #require(EngineExecutable.url, "no engine executable beside the tests")
    try await serve { server in
      let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
        "engine-fetch-score-\(UUID().uuidString)")
      let strategies = dir.appendingPathComponent("strategies")
      try FileManager.default.createDirectory(at: strategies, withIntermediateDirectories: true)
      // One ticker filter (it reads the derived tickers) and one kline filter.
      try """
      return { filter = function(s) return s.change_pct > 0 and s.price > s.vwap end }
      """.write(
        to: strategies.appendingPathComponent("above_vwap.lua"), atomically: true, encoding: .utf8)
      try """
      return {
        timeframes = { "1m" }, min_candles = 5,
        filter = function(s) local k = s.klines["1m"]; return k.close[#k] > ta.sma(k.close, 5) end,
      }
      """.write(
        to: strategies.appendingPathComponent("over_sma.lua"), atomically: true, encoding: .utf8)
      let file = dir.appendingPathComponent("history.jsonl").path
      let fetched = try EngineExecutable.run(
        engine,
        [
          "fetch", "--symbols", "AAAUSDT,GAPUSDT", "--days", "1", "--end", String(History.end),
          "--out", file, "--rest-url", server.restURL,
        ])
      #expect(fetched.status == 0, "\(fetched.stderr)")
      #expect(fetched.stderr.contains("derived tickers"))

      let common = [
        "--strategies", strategies.path, "--plugins", strategies.path, "--workers", "2",
      ]
      let replay = try EngineExecutable.run(engine, ["replay", file] + common)
      #expect(replay.status == 0, "\(replay.stderr)")
      #expect(replay.stderr.contains("lines skipped: 0"))
      #expect(replay.stdout.contains("\"event\":\"enter\""))

      let diffs = dir.appendingPathComponent("diffs.jsonl").path
      let html = dir.appendingPathComponent("report.html").path
      let score = try EngineExecutable.run(
        engine,
        ["score", file, "--json", "--horizons", "1m,15m,1h", "--diffs", diffs, "--html", html]
          + common)
      #expect(score.status == 0, "\(score.stderr)")
      #expect(try String(contentsOfFile: diffs, encoding: .utf8) == replay.stdout)
      let report = try #require(
        try JSONSerialization.jsonObject(with: Data(score.stdout.utf8)) as? [String: Any])
      let rows = try #require(report["strategies"] as? [[String: Any]])
      #expect(rows.compactMap { $0["id"] as? String } == ["above_vwap", "over_sma"])
      for row in rows {
        let horizons = try #require(row["horizons"] as? [String: [String: Any]])
        #expect(((horizons["1m"]?["n"] as? Int) ?? 0) > 10, "\(row)")
        #expect(horizons["1h"]?["mean"] is Double)
      }
      #expect(FileManager.default.fileExists(atPath: html))
    }
  }

  @Test("an interval without a fixed length (1M) or unknown is refused")
  func intervals() {
    #expect(HistoryRequest(symbols: ["A"], interval: "1M").validate()?.contains("1M") == true)
    #expect(HistoryRequest(symbols: ["A"], interval: "7m").validate() != nil)
    #expect(HistoryRequest(symbols: ["A"], interval: "5m").validate() == nil)
  }
}

/// The `engine` executable built beside the tests, run as a user would.
enum EngineExecutable {
  static var url: URL? {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    return [
      beside, beside.deletingLastPathComponent(), root.appendingPathComponent(".build/debug"),
    ]
    .map { $0.appendingPathComponent("engine") }
    .first { FileManager.default.isExecutableFile(atPath: $0.path) }
  }

  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// Runs `engine arguments` to its end; output goes through files, so no pipe can fill.
  static func run(_ engine: URL, _ arguments: [String]) throws -> Result {
    let process = Process()
    process.executableURL = engine
    process.arguments = arguments
    let base = FileManager.default.temporaryDirectory.appendingPathComponent(
      "engine-run-\(UUID().uuidString)")
    let outURL = base.appendingPathExtension("out")
    let errURL = base.appendingPathExtension("err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    process.standardOutput = out
    process.standardError = err
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return Result(
      status: process.terminationStatus,
      stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
      stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
  }
}
