// The settings table: every key the engine reads, declared once.

/// Every setting, declared once: its key path, default, parser, help, command-line option and
/// the `Settings` field it sets.
///
/// Everything else about a key comes from here: `Settings.keys`, its environment variable (the
/// key path upper-cased, dots as underscores), the unknown-key check of the config file and of
/// the command line, its value in `Settings()`, and the help of its command-line option. Tests
/// hold the README's configuration table, config/engine.yaml and `engine --help` to this table,
/// so a key added here and not documented there fails them.
///
/// To add a key: declare its `Settings` field with `= SettingsTable.<name>.defaultValue`, add
/// an entry below and list it in `entries` (a test fails while a field has no entry). Keys
/// resolve in the order of `entries`, so an entry whose parser reads another key (a bound)
/// comes after that key. An entry with an `option` also needs its `@Option` in the command
/// line's option groups, named and described with `.setting(entry)`; the help test fails
/// until it has one.
package enum SettingsTable {
  /// Every entry, in the order keys resolve and the documentation lists them.
  package static let entries: [any AnySetting] = [
    strategies, plugins, feedSource, workers, output, cycleMs, cycleGraceMs, minUpdateIntervalMs,
    batchThreshold, batchSize, maxSymbols, maxCandles, trackingMode, simSymbols, simSeed, speed,
    strict, debugUpdates, instructionBudget, memoryMB, maxFailingCycles, callTimeoutMs,
    binanceSymbols, binanceQuote, binanceMaxSymbols, binanceTicker, binanceWSURL, binanceRESTURL,
    binanceMaxHeldMessages, record, httpPort, httpHost, webhookURLs, webhookSecret,
    webhookQueueCapacity, webhookTimeoutMs, webhookBackoffMs, webhookBackoffMaxMs,
  ]

  /// The dynamic sections: subtrees whose keys are named at run time.
  ///
  /// `strategy.<id>.params.<name>`, `strategy.<id>.from`, `strategy.<id>.confirm_s`,
  /// `strategy.<id>.cooldown_s` and `strategy.<id>.trigger`, whose ids and names only the
  /// loaded strategies know: every key under `strategy.` passes the unknown-key check of the
  /// file and of the command line, and the raw text of each one (from the command line, the
  /// environment's `STRATEGY_…` variables or the file, first match wins) lands unparsed in
  /// `Settings.sectionValues["strategy"]`, keyed by its environment form
  /// (`STRATEGY_MOMENTUM_PARAMS_RSI_LEN`). The engine validates them against the strategies
  /// (`StrategySettings` in the Engine module), each bad one reported as one line naming its
  /// source and key like every other setting. The README table lists the section as one row,
  /// `strategy.*`.
  package static let sections: [SettingsSection] = [
    SettingsSection(
      prefix: "strategy",
      help: "per-strategy settings: params, instances (from), confirm_s, cooldown_s, trigger")
  ]

  // MARK: - Files and the feed

  package static let strategies = Setting(
    "strategies", \.strategies, default: "Strategies", .nonEmpty("a non-empty path"),
    option: "strategies", help: "Directory of strategy files (NAME.lua).")
  package static let plugins = Setting(
    "plugins", \.plugins, default: "Plugins", .nonEmpty("a non-empty path"), option: "plugins",
    help: "Directory of Lua plugins strategies may require.")
  package static let feedSource = Setting(
    "feed.source", \.feed, default: "sim",
    SettingParser(
      expected: "\"sim\", \"binance\" or \"replay:FILE\"",
      parse: { feed in
        feed == "sim" || feed == "binance" || hasScheme(feed, ["replay:"]) ? feed : nil
      }, format: { $0 }),
    option: "feed",
    help:
      "Market data: sim (the built-in simulator), replay:FILE (a recorded file at its pace) or binance (live)."
  )

  // MARK: - Cycles and workers

  package static let workers = Setting(
    "workers", \.workers, default: 0,
    .integer(in: 0...256, expected: "0 (one per active processor) or an integer from 1 to 256"),
    option: "workers",
    help: "Worker threads, each owning one Lua state (0: one per active processor).")
  package static let output = Setting(
    "output", \.output, default: OutputFormat.auto, .choice, option: "output",
    help: "Diff format on stdout: jsonl, pretty, or auto (pretty when stdout is a terminal).")
  package static let cycleMs = Setting(
    "cycle_ms", \.cycleMs, default: 1000, .integer(in: 1...Int.max), option: "cycle-ms",
    help: "Cycle length in ms of event time.")
  package static let cycleGraceMs = Setting(
    "cycle_grace_ms", \.cycleGraceMs, default: 250, .integer(in: 0...Int.max),
    option: "cycle-grace-ms",
    help: "Live feeds: close a quiet cycle this long (ms) after cycle_ms of wall-clock time.")
  package static let minUpdateIntervalMs = Setting(
    "min_update_interval_ms", \.minUpdateIntervalMs, default: 100, .integer(in: 0...Int.max),
    option: "min-update-interval-ms",
    help:
      "Rate limit: a symbol evaluated less than this long ago (ms of event time) waits for a later cycle."
  )
  package static let batchThreshold = Setting(
    "batch_threshold", \.batchThreshold, default: 0.5, .number(in: 0...1),
    option: "batch-threshold",
    help:
      "Share of known symbols changed in a cycle (0 to 1) above which workers go through their share in batches."
  )
  package static let batchSize = Setting(
    "batch_size", \.batchSize, default: 20, .integer(in: 1...Int.max), option: "batch-size",
    help: "Symbols per batch in batch mode.")
  package static let maxSymbols = Setting(
    "max_symbols", \.maxSymbols, default: 4096, .integer(in: 1...1_000_000),
    option: "max-symbols",
    help: "Symbols the engine tracks at most; events for more are reported and skipped.")
  package static let maxCandles = Setting(
    "max_candles", \.maxCandles, default: 500, .integer(in: 1...100_000), option: "max-candles",
    help: "Candles kept per symbol and kline interval.")
  package static let trackingMode = Setting(
    "tracking.mode", \.trackingMode, default: TrackingMode.changed, .choice, option: "tracking",
    help:
      "changed: evaluate only the symbols whose data changed; all: every symbol every cycle (the A/B baseline)."
  )

  // MARK: - Simulator and replay

  package static let simSymbols = Setting(
    "sim.symbols", \.simSymbols, default: 500,
    .integer(
      in: { 1...max(1, $0.maxSymbols) },
      expected: { "an integer from 1 to max_symbols (\($0.maxSymbols))" }),
    option: "symbols", help: "Simulator: number of symbols.",
    whenUnset: { settings in
      // A lowered max_symbols must not leave the simulator's default above it.
      guard settings.simSymbols > settings.maxSymbols else { return nil }
      return SettingConflict(
        key: "max_symbols",
        message: "expected at least sim.symbols (\(settings.simSymbols), its default), got "
          + "\(SettingsError.quoted(String(settings.maxSymbols))); lower sim.symbols too")
    })
  package static let simSeed = Setting(
    "sim.seed", \.simSeed, default: 42, .unsigned, option: "seed",
    help: "Simulator: random seed (the same seed gives the same market).")
  package static let speed = Setting(
    "speed", \.speed, default: 1, .speed, option: "speed",
    help: "Replay and simulator pace: a factor of real time, or max (as fast as possible).")
  package static let strict = Setting(
    "strict", \.strict, default: false, .bool, option: "strict",
    help: "Replay: stop at the first malformed line, naming it (exit 1), instead of skipping it.")
  package static let debugUpdates = Setting(
    "debug_updates", \.debugUpdates, default: false, .bool, option: "debug-updates",
    help: "Keep the last 100 update events; print them on SIGUSR1 and at exit.")

  // MARK: - Sandbox

  package static let instructionBudget = Setting(
    "sandbox.instruction_budget", \.instructionBudget, default: 1_000_000,
    .integer(in: 1000...Int(Int32.max)),
    help: "Lua instructions one filter call may run before it is aborted.")
  package static let memoryMB = Setting(
    "sandbox.memory_mb", \.memoryMB, default: 64, .integer(in: 1...65536),
    help: "Memory cap of one worker's Lua state while strategy code runs, in MiB.")
  package static let maxFailingCycles = Setting(
    "sandbox.max_failing_cycles", \.maxFailingCycles, default: 10, .integer(in: 0...Int.max),
    help:
      "A strategy failing on more than half its calls this many cycles in a row is disabled until its file changes (0: never)."
  )
  package static let callTimeoutMs = Setting(
    "sandbox.call_timeout_ms", \.callTimeoutMs, default: 1000, .integer(in: 0...3_600_000),
    help: "A filter call running longer (ms of wall-clock time) is reported and stopped (0: never)."
  )

  // MARK: - Binance

  package static let binanceSymbols = Setting(
    "feed.binance.symbols", \.binanceSymbols, default: [],
    .list("comma-separated symbols like \"BTCUSDT,ETHUSDT\"") { item in
      let symbol = item.uppercased()
      return symbol.allSatisfy(isAlphanumeric) ? symbol : nil
    },
    help: "Binance: comma-separated symbols to subscribe; empty: every symbol of the quote asset.")
  package static let binanceQuote = Setting(
    "feed.binance.quote", \.binanceQuote, default: "USDT", .asset("a quote asset like \"USDT\""),
    help: "Binance: with no symbols, every trading spot symbol with this quote asset.")
  package static let binanceMaxSymbols = Setting(
    "feed.binance.max_symbols", \.binanceMaxSymbols, default: 200, .integer(in: 1...100_000),
    help: "Binance: symbols subscribed at most.")
  package static let binanceTicker = Setting(
    "feed.binance.ticker", \.binanceTicker, default: "full", .oneOf(["full", "mini"]),
    help: "Binance tickers: full (<symbol>@ticker each) or mini (!miniTicker@arr: fewer fields).")
  package static let binanceWSURL = Setting(
    "feed.binance.ws_url", \.binanceWSURL, default: "wss://stream.binance.com:9443",
    .url(schemes: ["ws://", "wss://"]), option: "binance-ws-url",
    help: "Binance WebSocket base URL.")
  package static let binanceRESTURL = Setting(
    "feed.binance.rest_url", \.binanceRESTURL, default: "https://api.binance.com",
    .url(schemes: ["http://", "https://"]), option: "binance-rest-url",
    help: "Binance REST base URL (klines backfill, exchangeInfo).")
  package static let binanceMaxHeldMessages = Setting(
    "feed.binance.max_held_messages", \.binanceMaxHeldMessages, default: 100_000,
    .integer(in: 1...100_000_000),
    help:
      "Binance: live messages one connection holds while it backfills; past it the oldest are dropped and counted."
  )
  package static let record = Setting(
    "record", \.record, default: "", .text("a file path"), option: "record",
    help:
      "Live runs: also append every received message to this file, for `engine replay` (empty: off)."
  )

  // MARK: - HTTP and webhooks

  package static let httpPort = Setting(
    "http.port", \.httpPort, default: nil, .port, option: "http-port",
    help:
      "Serve the live dashboard, /metrics and /status on this port (0: any free port; empty: no server)."
  )
  package static let httpHost = Setting(
    "http.host", \.httpHost, default: "127.0.0.1", .nonEmpty("a host address like 127.0.0.1"),
    help: "Address the HTTP server binds.")
  package static let webhookURLs = Setting(
    "sinks.webhook.url", \.webhookURLs, default: [],
    .list("comma-separated http:// or https:// URLs") {
      hasScheme($0, ["http://", "https://"]) ? $0 : nil
    },
    option: "webhook",
    help: "POST each cycle's diffs to these URLs (comma-separated; the option can be repeated).")
  package static let webhookSecret = Setting(
    "sinks.webhook.secret", \.webhookSecret, default: nil, .optionalText("a secret"),
    help: "HMAC-SHA256 key: webhook requests carry X-Engine-Signature (empty: unsigned).")
  package static let webhookQueueCapacity = Setting(
    "sinks.webhook.queue_capacity", \.webhookQueueCapacity, default: 1000,
    .integer(in: 1...1_000_000),
    help: "Batches queued per webhook; when full the oldest is dropped and counted.")
  package static let webhookTimeoutMs = Setting(
    "sinks.webhook.timeout_ms", \.webhookTimeoutMs, default: 5000, .integer(in: 1...600_000),
    help: "Timeout of one webhook request, in ms.")
  package static let webhookBackoffMs = Setting(
    "sinks.webhook.backoff_ms", \.webhookBackoffMs, default: 250, .integer(in: 1...Int.max),
    help: "First webhook retry back-off, in ms; it doubles up to sinks.webhook.backoff_max_ms.")
  package static let webhookBackoffMaxMs = Setting(
    "sinks.webhook.backoff_max_ms", \.webhookBackoffMaxMs, default: 30000,
    .integer(
      in: { $0.webhookBackoffMs...Int.max },
      expected: { "an integer of at least sinks.webhook.backoff_ms (\($0.webhookBackoffMs))" }),
    help: "Longest webhook retry back-off, in ms.")
}
