/// Settings of the live Binance feed. The engine maps `feed.binance.*` settings onto it.
public struct BinanceFeedConfig: Sendable, Equatable {
  /// How tickers are subscribed.
  public enum TickerMode: String, Sendable, Equatable {
    /// `<symbol>@ticker` per symbol (all 24h ticker fields).
    case full
    /// One `!miniTicker@arr` stream for the whole market (fewer fields; every symbol).
    case mini
  }

  /// Explicit symbols (e.g. `BTCUSDT`); used when not empty.
  public var symbols: [String]
  /// When `symbols` is empty: every TRADING spot symbol with this quote asset (`exchangeInfo`).
  public var quote: String?
  /// Symbols subscribed at most (the first ones, in the given or `exchangeInfo` order).
  public var maxSymbols: Int
  /// Kline intervals to subscribe and backfill (the ones the loaded strategies declare).
  public var intervals: [String]
  public var ticker: TickerMode
  /// WebSocket base URL; combined streams are at `wsURL + "/stream?streams=..."`.
  public var wsURL: String
  /// REST base URL (`/api/v3/klines`, `/api/v3/exchangeInfo`).
  public var restURL: String
  /// Candles fetched per symbol and interval at start and after a reconnect (`limit`, 1...1000).
  public var backfillCandles: Int
  /// A connection with no message for this long is considered dead and reconnected.
  public var staleAfterSeconds: Double
  /// When set, every message handed to the parser is appended to this file, one per line.
  public var recordPath: String?

  // Limits and tuning (defaults follow Binance's documented limits as of 2026).

  /// Streams per WebSocket connection (Binance: at most 1024).
  public var maxStreamsPerConnection: Int = 1024
  /// Streams put in the connection URL; the rest are subscribed with `SUBSCRIBE` messages.
  public var streamsInURL: Int = 100
  /// Streams per `SUBSCRIBE` message.
  public var streamsPerSubscribe: Int = 200
  /// Control messages sent per second per connection (Binance: 5 incoming messages per
  /// second, pongs included, so 3 leaves room).
  public var controlMessagesPerSecond: Double = 3
  /// Connections opened per 5 minutes at most (Binance: 300 per IP).
  public var connectionsPer5Minutes: Int = 250
  /// A connection is replaced (new one first, then the old one closed) after this long
  /// (Binance cuts connections at 24 h).
  public var maxConnectionAgeSeconds: Double = 23 * 3600
  /// Reconnect back-off: first delay, doubling up to the maximum, with jitter (50–100 %).
  public var reconnectInitialDelaySeconds: Double = 0.5
  public var reconnectMaxDelaySeconds: Double = 30
  /// REST requests in flight at most.
  public var restConcurrency: Int = 4
  /// REST request weight spent per minute at most (Binance: 6000 per IP).
  public var restWeightPerMinute: Double = 4800
  /// Attempts per REST request on network errors and 5xx (429/418 are retried after their
  /// `Retry-After` and do not count).
  public var restAttempts: Int = 5
  /// Batches are handed to the queue at least this often when messages arrived.
  public var flushIntervalMs: Int = 20
  /// Live messages a (re)connecting connection holds back at most until it goes live (after
  /// its backfill); past that the oldest held message is dropped, so a slow or stuck backfill
  /// costs bounded memory. A dropped ticker is superseded by a newer one of its symbol, a
  /// dropped kline update by a later update of its candle; only a candle that closed within
  /// the dropped span can lose its final values.
  public var maxHeldMessages: Int = 100_000

  public init(
    symbols: [String] = [],
    quote: String? = nil,
    maxSymbols: Int = 4096,
    intervals: [String] = [],
    ticker: TickerMode = .full,
    wsURL: String = "wss://stream.binance.com:9443",
    restURL: String = "https://api.binance.com",
    backfillCandles: Int = 500,
    staleAfterSeconds: Double = 60,
    recordPath: String? = nil
  ) {
    self.symbols = symbols
    self.quote = quote
    self.maxSymbols = maxSymbols
    self.intervals = intervals
    self.ticker = ticker
    self.wsURL = wsURL
    self.restURL = restURL
    self.backfillCandles = backfillCandles
    self.staleAfterSeconds = staleAfterSeconds
    self.recordPath = recordPath
  }

  /// Kline intervals Binance serves.
  public static let validIntervals: Set<String> = [
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w",
    "1M",
  ]

  /// One line naming the first bad setting, or nil.
  public func validate() -> String? {
    if symbols.isEmpty && (quote ?? "").isEmpty && !(ticker == .mini && intervals.isEmpty) {
      return "feed.binance: set feed.binance.symbols or feed.binance.quote"
    }
    for symbol in symbols where Self.normalizedSymbol(symbol) == nil {
      return "feed.binance.symbols: \"\(symbol)\" is not a Binance symbol"
    }
    if let quote, !quote.isEmpty, Self.normalizedSymbol(quote) == nil {
      return "feed.binance.quote: \"\(quote)\" is not an asset name"
    }
    if maxSymbols < 1 { return "feed.binance.max_symbols: expected at least 1, got \(maxSymbols)" }
    for interval in intervals where !Self.validIntervals.contains(interval) {
      return "feed.binance: kline interval \"\(interval)\" is not one Binance serves"
    }
    for (key, url, schemes) in [
      ("feed.binance.ws_url", wsURL, ["ws://", "wss://"]),
      ("feed.binance.rest_url", restURL, ["http://", "https://"]),
    ] where !schemes.contains(where: { url.hasPrefix($0) }) || url.count <= 8 {
      return "\(key): expected a \(schemes.joined(separator: " or ")) URL, got \"\(url)\""
    }
    if !(1...1000).contains(backfillCandles) {
      return "feed.binance: backfill candles must be 1...1000, got \(backfillCandles)"
    }
    if !(staleAfterSeconds > 0) { return "feed.binance: stale-after must be positive" }
    if maxHeldMessages < 1 {
      return "feed.binance.max_held_messages: expected at least 1, got \(maxHeldMessages)"
    }
    if maxStreamsPerConnection < 2 || streamsInURL < 1 || streamsPerSubscribe < 1
      || !(controlMessagesPerSecond > 0) || connectionsPer5Minutes < 1
      || !(maxConnectionAgeSeconds > 0) || restConcurrency < 1 || !(restWeightPerMinute > 0)
      || restAttempts < 1 || flushIntervalMs < 1
    {
      return "feed.binance: a limit setting is out of range"
    }
    return nil
  }

  /// Upper-cased symbol if it is 1–20 ASCII letters or digits, else nil.
  static func normalizedSymbol(_ symbol: String) -> String? {
    let upper = symbol.uppercased()
    guard (1...20).contains(upper.utf8.count),
      upper.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) })
    else { return nil }
    return upper
  }
}

/// The streams of one WebSocket connection and the symbols whose klines it carries.
struct ConnectionPlan: Sendable, Equatable {
  var streams: [String]
  /// Symbols to backfill klines for after (re)connecting.
  var symbols: [String]
}

extension BinanceFeedConfig {
  /// Splits symbols × (ticker + intervals) streams over connections of at most
  /// `maxStreamsPerConnection` streams, keeping each symbol's streams on one connection
  /// (so a reconnect's backfill covers exactly the symbols whose live messages it held back).
  func plan(symbols: [String]) -> [ConnectionPlan] {
    let intervals = self.intervals.filter { Self.validIntervals.contains($0) }
    var plans: [ConnectionPlan] = []
    var current = ConnectionPlan(streams: [], symbols: [])
    if ticker == .mini { current.streams.append("!miniTicker@arr") }
    let perSymbol = (ticker == .full ? 1 : 0) + intervals.count
    if perSymbol > 0 {
      for symbol in symbols {
        if current.streams.count + perSymbol > maxStreamsPerConnection, !current.streams.isEmpty {
          plans.append(current)
          current = ConnectionPlan(streams: [], symbols: [])
        }
        let lower = symbol.lowercased()
        if ticker == .full { current.streams.append("\(lower)@ticker") }
        for interval in intervals { current.streams.append("\(lower)@kline_\(interval)") }
        if !intervals.isEmpty { current.symbols.append(symbol) }
      }
    }
    if !current.streams.isEmpty { plans.append(current) }
    return plans
  }
}
