import BinanceFeed
import Engine
import EngineServer
import EngineSettings
import Evaluation
import Feeds
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// From the settings to the parts a run is made of: the strategies, the feed, the diff sinks
/// and the HTTP and webhook services.
enum Wiring {
  /// The strategies and plugins the settings name; a directory that cannot be read stops the
  /// command (exit 2).
  static func code(for settings: Settings) throws -> CodeSet {
    try code(strategies: settings.strategies, settings: settings)
  }

  /// The strategies of `strategies` with the plugins and the `strategy.*` settings (params,
  /// instances, signal hygiene) of `settings`; a directory that cannot be read or a setting
  /// for no strategy stops the command (exit 2).
  static func code(strategies: String, settings: Settings) throws -> CodeSet {
    do {
      let files = try CodeSet.load(strategies: strategies, plugins: settings.plugins)
      return try StrategySettings.apply(settings.sectionValues["strategy"] ?? [:], to: files)
    } catch {
      throw EngineFailure(message: error.description, code: 2)
    }
  }

  /// Whether diffs are written as text: `pretty`, or `auto` while stdout is a terminal.
  static func isPretty(_ settings: Settings) -> Bool {
    settings.output == .pretty || (settings.output == .auto && isatty(1) == 1)
  }

  /// The writer of diffs on stdout; text is coloured on a terminal.
  static func stdoutSink(pretty: Bool) -> DiffSink {
    pretty ? PrettyWriter(colour: isatty(1) == 1) : JSONLinesWriter()
  }

  /// The HTTP server and webhooks the settings ask for, or nil when they ask for neither.
  static func services(for settings: Settings) -> EngineServices? {
    guard settings.httpPort != nil || !settings.webhookURLs.isEmpty else { return nil }
    return EngineServices(
      http: settings.httpPort.map { HTTPServerOptions(host: settings.httpHost, port: $0) },
      webhooks: settings.webhookURLs.map {
        WebhookOptions(
          url: $0, secret: settings.webhookSecret, queueCapacity: settings.webhookQueueCapacity,
          timeoutMs: settings.webhookTimeoutMs, backoffMs: settings.webhookBackoffMs,
          backoffMaxMs: settings.webhookBackoffMaxMs)
      })
  }

  /// The Binance feed's configuration from the settings; `intervals` are the kline
  /// intervals the loaded strategies declare.
  static func binanceConfig(_ settings: Settings, intervals: [String], record: String?)
    -> BinanceFeedConfig
  {
    var config = BinanceFeedConfig(
      symbols: settings.binanceSymbols, quote: settings.binanceQuote,
      maxSymbols: min(settings.binanceMaxSymbols, settings.maxSymbols),
      intervals: intervals.isEmpty ? ["1m"] : intervals,
      ticker: settings.binanceTicker == "mini" ? .mini : .full, wsURL: settings.binanceWSURL,
      restURL: settings.binanceRESTURL, backfillCandles: min(1000, settings.maxCandles),
      recordPath: record)
    config.maxHeldMessages = settings.binanceMaxHeldMessages
    return config
  }

  /// The feed `feed.source` names. A live run records to `record` when set; a replay that is
  /// not live goes as fast as possible.
  static func feed(for settings: Settings, live: Bool, intervals: [String] = []) throws -> Feed {
    let record = live && !settings.record.isEmpty ? settings.record : nil
    if settings.feed == "sim" {
      let start =
        Int64(Date().timeIntervalSince1970 * 1000) / Int64(settings.cycleMs)
        * Int64(settings.cycleMs)
      let config = SimulatorConfig(
        symbols: settings.simSymbols, seed: settings.simSeed, cycleMs: Int64(settings.cycleMs),
        startTime: start)
      return SimFeed(config: config, speed: settings.speed, recordPath: record)
    }
    if settings.feed == "binance" {
      let config = binanceConfig(settings, intervals: intervals, record: record)
      if let problem = config.validate() { throw EngineFailure(message: problem, code: 2) }
      return BinanceFeed(config: config)
    }
    if settings.feed.hasPrefix("replay:") {
      let path = String(settings.feed.dropFirst("replay:".count))
      guard FileManager.default.isReadableFile(atPath: path) else {
        throw EngineFailure(message: "feed \(settings.feed): cannot read \(path)", code: 2)
      }
      return ReplayFeed(path: path, speed: live ? settings.speed : nil, strict: settings.strict)
    }
    throw EngineFailure(message: "feed \(settings.feed): unknown feed", code: 2)
  }
}
