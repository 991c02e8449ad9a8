import AsyncHTTPClient
import Foundation

/// What `engine fetch` downloads: which symbols, which candles, over which span, from where.
public struct HistoryRequest: Sendable, Equatable {
  /// Explicit symbols (e.g. `BTCUSDT`); used when not empty.
  public var symbols: [String]
  /// When `symbols` is empty: every TRADING spot symbol with this quote asset (`exchangeInfo`).
  public var quote: String?
  /// Symbols fetched at most (the first ones, in the given or `exchangeInfo` order).
  public var maxSymbols: Int
  /// Kline interval, one with a fixed length (`1m`, `5m`, `1h`, `1d`, …; not `1M`).
  public var interval: String
  /// Days of history written.
  public var days: Int
  /// The end of the history (exclusive), ms since the epoch, rounded down to the interval;
  /// nil: now.
  public var end: Int64?
  /// REST base URL (`/api/v3/klines`, `/api/v3/exchangeInfo`).
  public var restURL: String
  /// REST requests in flight at most, weight per minute at most, attempts per request on
  /// network errors and 5xx (429 and 418 wait for `Retry-After` and do not count).
  public var restConcurrency = 4
  public var restWeightPerMinute: Double = 4800
  public var restAttempts = 5

  public init(
    symbols: [String] = [], quote: String? = nil, maxSymbols: Int = 200, interval: String = "1m",
    days: Int = 1, end: Int64? = nil, restURL: String = "https://api.binance.com"
  ) {
    self.symbols = symbols
    self.quote = quote
    self.maxSymbols = maxSymbols
    self.interval = interval
    self.days = days
    self.end = end
    self.restURL = restURL
  }

  /// The length of each interval Binance serves that has a fixed one, ms.
  public static let intervalMilliseconds: [String: Int64] = [
    "1s": 1000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
    "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000,
    "12h": 43_200_000, "1d": 86_400_000, "3d": 259_200_000, "1w": 604_800_000,
  ]

  /// One line naming the first bad field, or nil.
  public func validate() -> String? {
    if symbols.isEmpty && (quote ?? "").isEmpty { return "fetch: give --symbols or --quote" }
    for symbol in symbols where BinanceFeedConfig.normalizedSymbol(symbol) == nil {
      return "fetch: \"\(symbol)\" is not a Binance symbol"
    }
    if let quote, !quote.isEmpty, BinanceFeedConfig.normalizedSymbol(quote) == nil {
      return "fetch: --quote \"\(quote)\" is not an asset name"
    }
    if maxSymbols < 1 { return "fetch: --max-symbols must be at least 1" }
    if Self.intervalMilliseconds[interval] == nil {
      let known = Self.intervalMilliseconds.sorted { $0.value < $1.value }.map(\.key)
      return "fetch: --interval \"\(interval)\" is not one of \(known.joined(separator: ", "))"
    }
    if !(1...3650).contains(days) { return "fetch: --days must be from 1 to 3650, got \(days)" }
    if let end, end <= 0 { return "fetch: --end must be a time in ms since the epoch" }
    if !(restURL.hasPrefix("http://") || restURL.hasPrefix("https://")) || restURL.count <= 8 {
      return "fetch: --rest-url: expected an http:// or https:// URL, got \"\(restURL)\""
    }
    return nil
  }
}

/// How far a fetch is: requests answered of those planned, and the rate-limit waits so far.
public struct HistoryProgress: Sendable, Equatable {
  public var requestsDone: Int
  public var requestsPlanned: Int
  public var backoffs: Int
}

/// What a fetch wrote.
public struct HistorySummary: Sendable, Equatable {
  public var symbols: [String]
  /// The span written: candles with open time in `start..<end`.
  public var start: Int64
  public var end: Int64
  public var klines: Int
  public var tickers: Int
  /// `/api/v3/klines` requests sent (retries included) and 429/418 waits honoured.
  public var requests: Int
  public var backoffs: Int
}

/// A fetch that failed, in one line.
public struct HistoryError: Error, Sendable, CustomStringConvertible {
  public var description: String
}

/// Writes Binance kline history as a replay file (`engine fetch`).
///
/// The file holds, in event-time order, for each candle of each symbol, the kline message a
/// WebSocket would have sent when the candle closed (`E` = close time + 1, `x` true), then
/// a *derived* `24hrTicker` of that symbol computed from its candles of the preceding 24 h
/// (see `TickerWindow`: not Binance's ticker; no bid or ask). The day before the span is
/// fetched too, only to fill the first tickers' 24 h window. Candles are fetched in windows
/// of 1000 intervals, every symbol's window before the next, so memory stays at one window
/// per symbol whatever the span; requests go through the feed's REST gate (concurrency,
/// weight per minute, 429/418 `Retry-After`).
public enum HistoryFetcher {
  public static func fetch(
    _ request: HistoryRequest, to path: String,
    log: @escaping @Sendable (String) -> Void = { _ in },
    progress: @escaping @Sendable (HistoryProgress) -> Void = { _ in }
  ) async throws -> HistorySummary {
    if let problem = request.validate() { throw HistoryError(description: problem) }
    let step = request.intervalMilliseconds
    let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    let end = (request.end ?? now) / step * step
    let start = end - Int64(request.days) * 86_400_000
    let day: Int64 = 86_400_000
    let warmStart = (start - day) / step * step
    let stats = BinanceFeedStats()
    var base = request.restURL
    while base.hasSuffix("/") { base.removeLast() }
    let rest = BinanceREST(
      baseURL: base,
      gate: RestGate(
        concurrency: request.restConcurrency, weightPerMinute: request.restWeightPerMinute),
      attempts: request.restAttempts, stats: stats, log: log, client: HTTPClient.shared)
    let symbols = try await selectSymbols(request, rest: rest, log: log)

    let partial = path + ".part"
    guard FileManager.default.createFile(atPath: partial, contents: nil),
      let handle = FileHandle(forWritingAtPath: partial)
    else { throw HistoryError(description: "\(path): cannot create the output file") }
    var finished = false
    defer {
      try? handle.close()
      if !finished { try? FileManager.default.removeItem(atPath: partial) }
    }

    let windowSpan = Int64(BinanceREST.maxKlinesPerRequest) * step
    let windows = Array(stride(from: warmStart, to: end, by: Int(windowSpan)))
    let planned = windows.count * symbols.count
    var done = 0
    var summary = HistorySummary(
      symbols: symbols, start: start, end: end, klines: 0, tickers: 0, requests: 0, backoffs: 0)
    var tickerWindows = symbols.map { _ in TickerWindow(span: day) }
    progress(HistoryProgress(requestsDone: 0, requestsPlanned: planned, backoffs: 0))
    for from in windows {
      let until = min(from + windowSpan, end)
      var rows = Array(repeating: [RestKline](), count: symbols.count)
      do {
        try await withThrowingTaskGroup(of: (Int, [RestKline]).self) { group in
          for (i, symbol) in symbols.enumerated() {
            group.addTask {
              (
                i,
                try await rest.klineRows(
                  symbol: symbol, interval: request.interval, step: step, from: from,
                  until: until)
              )
            }
          }
          for try await (i, page) in group {
            rows[i] = page
            done += 1
            let backoffs = stats.snapshot().restBackoffs
            progress(
              HistoryProgress(requestsDone: done, requestsPlanned: planned, backoffs: backoffs))
          }
        }
      } catch let error as RestError {
        throw HistoryError(description: "binance: \(error)")
      }
      try merge(
        rows, symbols: symbols, writeFrom: start, closedBefore: now, windows: &tickerWindows,
        interval: request.interval, summary: &summary
      ) { text in
        do {
          try handle.write(contentsOf: Data(text.utf8))
        } catch {
          throw HistoryError(description: "\(path): \(error.localizedDescription)")
        }
      }
    }
    try? handle.close()
    do {
      if FileManager.default.fileExists(atPath: path) {
        try FileManager.default.removeItem(atPath: path)
      }
      try FileManager.default.moveItem(atPath: partial, toPath: path)
    } catch {
      throw HistoryError(description: "\(path): cannot write the output file (\(error))")
    }
    finished = true
    let snapshot = stats.snapshot()
    summary.requests = snapshot.klineRequests
    summary.backoffs = snapshot.restBackoffs
    return summary
  }

  /// One window's messages in event-time order: the candles of every symbol merged by open
  /// time (symbols in the requested order within a time), each as its kline message followed
  /// by the symbol's derived ticker. Candles before `writeFrom` only fill the tickers'
  /// windows; candles not closed before `closedBefore` (wall-clock time) are left out. The
  /// text goes to `write` in pieces of about a megabyte.
  static func merge(
    _ rows: [[RestKline]], symbols: [String], writeFrom: Int64, closedBefore: Int64,
    windows: inout [TickerWindow], interval: String, summary: inout HistorySummary,
    write: (String) throws -> Void
  ) throws {
    var text = ""
    var next = Array(repeating: 0, count: rows.count)
    while true {
      var time = Int64.max
      for (i, r) in rows.enumerated() where next[i] < r.count {
        time = min(time, r[next[i]].openTime)
      }
      guard time != .max else { break }
      for i in rows.indices where next[i] < rows[i].count && rows[i][next[i]].openTime == time {
        let row = rows[i][next[i]]
        next[i] += 1
        guard row.closeTime < closedBefore, let candle = row.candle else { continue }
        windows[i].add(candle)
        guard row.openTime >= writeFrom else { continue }
        let eventTime = row.closeTime + 1
        text += row.message(symbol: symbols[i], interval: interval, now: eventTime) + "\n"
        summary.klines += 1
        if let ticker = windows[i].message(symbol: symbols[i], eventTime: eventTime) {
          text += ticker + "\n"
          summary.tickers += 1
        }
      }
      if text.utf8.count >= 1 << 20 {
        try write(text)
        text.removeAll(keepingCapacity: true)
      }
    }
    if !text.isEmpty { try write(text) }
  }

  private static func selectSymbols(
    _ request: HistoryRequest, rest: BinanceREST, log: @Sendable (String) -> Void
  ) async throws -> [String] {
    var symbols: [String] = []
    if !request.symbols.isEmpty {
      var seen = Set<String>()
      for symbol in request.symbols {
        if let s = BinanceFeedConfig.normalizedSymbol(symbol), seen.insert(s).inserted {
          symbols.append(s)
        }
      }
    } else if let quote = request.quote.flatMap(BinanceFeedConfig.normalizedSymbol) {
      do {
        symbols = try await rest.symbols(quote: quote)
      } catch let error as RestError {
        throw HistoryError(description: "binance: exchangeInfo: \(error)")
      }
      if symbols.isEmpty {
        throw HistoryError(description: "binance: no TRADING spot symbol has quote asset \(quote)")
      }
    }
    if symbols.count > request.maxSymbols {
      log(
        "fetch: \(symbols.count) symbols, keeping the first \(request.maxSymbols) (--max-symbols)")
      symbols = Array(symbols.prefix(request.maxSymbols))
    }
    return symbols
  }
}

extension HistoryRequest {
  var intervalMilliseconds: Int64 { Self.intervalMilliseconds[interval] ?? 60_000 }
}

extension RestKline {
  /// The candle as the ticker window keeps it; nil when a number does not read.
  var candle: TickerWindow.Candle? {
    guard let high = Double(high), let low = Double(low), let volume = Double(volume),
      let quoteVolume = Double(quoteVolume), Double(open) != nil, Double(close) != nil
    else { return nil }
    return TickerWindow.Candle(
      openTime: openTime, closeTime: closeTime, open: open, close: close, high: high,
      highText: self.high, low: low, lowText: self.low, volume: volume, quoteVolume: quoteVolume,
      trades: trades)
  }
}
