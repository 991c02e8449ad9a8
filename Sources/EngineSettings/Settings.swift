// The engine's settings.
//
// Each setting is resolved, first match wins, from:
//   1. a command-line option (passed to `Settings.load` as `overrides`, keyed by key path),
//   2. an environment variable (the key path upper-cased, dots as underscores:
//      `tracking.mode` → `TRACKING_MODE`, `cycle_ms` → `CYCLE_MS`),
//   3. the YAML config file (`config/engine.yaml` by default; nested mappings or dotted keys),
//   4. the built-in default.
// The keys, their defaults and their parsers are declared once, in `SettingsTable`; loading
// is `SettingsLoader`'s.

import Foundation

/// The engine's settings. `Settings()` is the built-in defaults, which `SettingsTable` declares.
public struct Settings: Sendable, Equatable {
  /// `strategies`: directory of strategy scripts.
  public var strategies: String = SettingsTable.strategies.defaultValue
  /// `plugins`: directory of plugins.
  public var plugins: String = SettingsTable.plugins.defaultValue
  /// `feed.source` (`--feed`): `sim`, `replay:FILE` or `binance`.
  public var feed: String = SettingsTable.feedSource.defaultValue
  /// `workers`: 0 = one per active processor (see `effectiveWorkers`), else 1...256.
  public var workers: Int = SettingsTable.workers.defaultValue
  /// `output`: jsonl | pretty | auto.
  public var output: OutputFormat = SettingsTable.output.defaultValue
  /// `cycle_ms`: cycle length in milliseconds, >= 1.
  public var cycleMs: Int = SettingsTable.cycleMs.defaultValue
  /// `cycle_grace_ms`: live feeds close a quiet cycle this long after `cycle_ms` of wall-clock
  /// time, in milliseconds, >= 0.
  public var cycleGraceMs: Int = SettingsTable.cycleGraceMs.defaultValue
  /// `min_update_interval_ms`: a symbol evaluated less than this long ago (event time) is
  /// deferred to a later cycle, in milliseconds, >= 0.
  public var minUpdateIntervalMs: Int = SettingsTable.minUpdateIntervalMs.defaultValue
  /// `batch_threshold`: share (0...1) of known symbols changed in a cycle above which workers
  /// evaluate in batches.
  public var batchThreshold: Double = SettingsTable.batchThreshold.defaultValue
  /// `batch_size`: symbols per batch, >= 1.
  public var batchSize: Int = SettingsTable.batchSize.defaultValue
  /// `max_symbols`: 1...1_000_000.
  public var maxSymbols: Int = SettingsTable.maxSymbols.defaultValue
  /// `max_candles`: candles kept per symbol, 1...100_000.
  public var maxCandles: Int = SettingsTable.maxCandles.defaultValue
  /// `tracking.mode`: changed | all.
  public var trackingMode: TrackingMode = SettingsTable.trackingMode.defaultValue
  /// `sim.symbols`: symbols the simulator generates, 1...max_symbols.
  public var simSymbols: Int = SettingsTable.simSymbols.defaultValue
  /// `sim.seed`: the simulator's random seed.
  public var simSeed: UInt64 = SettingsTable.simSeed.defaultValue
  /// `speed`: replay/simulation speed multiplier (> 0), or nil (`"max"`) = as fast as possible.
  public var speed: Double? = SettingsTable.speed.defaultValue
  /// `strict`: replay stops at the first malformed line instead of skipping it.
  public var strict: Bool = SettingsTable.strict.defaultValue
  /// `debug_updates`: keep the last update events; print them on SIGUSR1 and at exit.
  public var debugUpdates: Bool = SettingsTable.debugUpdates.defaultValue
  /// `sandbox.instruction_budget`: Lua instructions one filter call may run, >= 1000.
  public var instructionBudget: Int = SettingsTable.instructionBudget.defaultValue
  /// `sandbox.memory_mb`: memory cap of one Lua state while strategy code runs, in MiB, >= 1.
  public var memoryMB: Int = SettingsTable.memoryMB.defaultValue
  /// `sandbox.max_failing_cycles`: a strategy failing on more than half its calls in this many
  /// consecutive cycles is disabled until its file changes; 0 = never.
  public var maxFailingCycles: Int = SettingsTable.maxFailingCycles.defaultValue
  /// `sandbox.call_timeout_ms`: a filter call still running after this long (wall-clock time)
  /// is reported and stopped at its next Lua instruction; 0 = never.
  public var callTimeoutMs: Int = SettingsTable.callTimeoutMs.defaultValue

  /// `feed.binance.symbols`: symbols to subscribe (empty: use the quote).
  public var binanceSymbols: [String] = SettingsTable.binanceSymbols.defaultValue
  /// `feed.binance.quote`: with no symbols, every TRADING spot symbol with this quote asset.
  public var binanceQuote: String = SettingsTable.binanceQuote.defaultValue
  /// `feed.binance.max_symbols`: symbols subscribed at most.
  public var binanceMaxSymbols: Int = SettingsTable.binanceMaxSymbols.defaultValue
  /// `feed.binance.ticker`: `full` (`<symbol>@ticker` each) or `mini` (`!miniTicker@arr`).
  public var binanceTicker: String = SettingsTable.binanceTicker.defaultValue
  /// `feed.binance.ws_url` (`--binance-ws-url`): WebSocket base URL.
  public var binanceWSURL: String = SettingsTable.binanceWSURL.defaultValue
  /// `feed.binance.rest_url` (`--binance-rest-url`): REST base URL.
  public var binanceRESTURL: String = SettingsTable.binanceRESTURL.defaultValue
  /// `feed.binance.max_held_messages`: live messages one connection holds while it backfills;
  /// past it the oldest are dropped (counted and logged).
  public var binanceMaxHeldMessages: Int = SettingsTable.binanceMaxHeldMessages.defaultValue
  /// `record` (`--record`): live runs append every received message to this file (empty: off).
  public var record: String = SettingsTable.record.defaultValue

  /// `http.port` (`--http-port`): serve the dashboard, `/metrics` and `/status` (nil: off;
  /// 0: any free port).
  public var httpPort: Int? = SettingsTable.httpPort.defaultValue
  /// `http.host`: the address the HTTP server binds (loopback by default).
  public var httpHost: String = SettingsTable.httpHost.defaultValue
  /// `sinks.webhook.url` (`--webhook`): URLs each cycle's diffs are POSTed to.
  public var webhookURLs: [String] = SettingsTable.webhookURLs.defaultValue
  /// `sinks.webhook.secret`: HMAC-SHA256 key for the `X-Engine-Signature` header (nil: none).
  public var webhookSecret: String? = SettingsTable.webhookSecret.defaultValue
  /// `sinks.webhook.queue_capacity`: batches queued per webhook before the oldest is dropped.
  public var webhookQueueCapacity: Int = SettingsTable.webhookQueueCapacity.defaultValue
  /// `sinks.webhook.timeout_ms`: per-request timeout.
  public var webhookTimeoutMs: Int = SettingsTable.webhookTimeoutMs.defaultValue
  /// `sinks.webhook.backoff_ms`: first retry back-off, doubling up to `webhookBackoffMaxMs`.
  public var webhookBackoffMs: Int = SettingsTable.webhookBackoffMs.defaultValue
  /// `sinks.webhook.backoff_max_ms`: the cap of the retry back-off.
  public var webhookBackoffMaxMs: Int = SettingsTable.webhookBackoffMaxMs.defaultValue

  /// The raw values of the table's dynamic sections, by section prefix, then by the key's
  /// environment form (`STRATEGY_MOMENTUM_PARAMS_RSI_LEN`): text not yet parsed, for the step
  /// that knows the names to validate. Empty while the table declares no section.
  public var sectionValues: [String: [String: SettingsRawValue]] = [:]

  public init() {}
}

extension Settings {
  /// Every key path, in the order of the settings table.
  public static let keys: [String] = SettingsTable.entries.map(\.key)

  /// The config file used when no `--config` is given (relative to the working directory).
  public static let defaultConfigPath = "config/engine.yaml"

  /// The environment variable read for a key path: upper-cased, dots (and any other character
  /// that is not a letter or a digit) as underscores: `tracking.mode` → `TRACKING_MODE`.
  public static func environmentVariableName(forKey key: String) -> String {
    String(key.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
  }

  /// `workers`, with 0 replaced by the number of active processors.
  public var effectiveWorkers: Int {
    workers == 0 ? max(1, ProcessInfo.processInfo.activeProcessorCount) : workers
  }
}
