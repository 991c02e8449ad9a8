// The engine's settings and their sources.
//
// Each setting is resolved, first match wins, from:
//   1. a command-line option (passed to `Settings.load` as `overrides`, keyed by key path),
//   2. an environment variable (the key path upper-cased, dots as underscores:
//      `tracking.mode` → `TRACKING_MODE`, `cycle_ms` → `CYCLE_MS`),
//   3. the YAML config file (`config/engine.yaml` by default; nested mappings or dotted keys),
//   4. the built-in default below.
// Loading lives in Settings+Loading.swift (swift-configuration's ConfigReader does the lookup).

import Foundation
import Evaluation

/// Which symbols each cycle reports.
public enum TrackingMode: String, Sendable, CaseIterable {
  /// Only the symbols that changed since the previous cycle.
  case changed
  /// Every tracked symbol.
  case all
}

/// How results are written.
public enum OutputFormat: String, Sendable, CaseIterable {
  /// One JSON object per line.
  case jsonl
  /// Human-readable text.
  case pretty
  /// `pretty` on a terminal, `jsonl` otherwise.
  case auto
}

/// The engine's settings. `Settings()` is the built-in defaults.
public struct Settings: Sendable, Equatable {
  /// `strategies`: directory of strategy scripts.
  public var strategies: String = "Strategies"
  /// `plugins`: directory of plugins.
  public var plugins: String = "Plugins"
  /// `feed.source` (`--feed`): `sim`, `replay:FILE` or `binance`.
  public var feed: String = "sim"
  /// `workers`: 0 = one per active processor (see `effectiveWorkers`), else 1...256.
  public var workers: Int = 0
  /// `output`: jsonl | pretty | auto.
  public var output: OutputFormat = .auto
  /// `cycle_ms`: cycle length in milliseconds, >= 1.
  public var cycleMs: Int = 1000
  /// `cycle_grace_ms`: live feeds close a quiet cycle this long after `cycle_ms` of wall-clock
  /// time, in milliseconds, >= 0.
  public var cycleGraceMs: Int = 250
  /// `min_update_interval_ms`: a symbol evaluated less than this long ago (event time) is
  /// deferred to a later cycle, in milliseconds, >= 0.
  public var minUpdateIntervalMs: Int = 100
  /// `batch_threshold`: share (0...1) of known symbols changed in a cycle above which workers
  /// evaluate in batches.
  public var batchThreshold: Double = 0.5
  /// `batch_size`: symbols per batch, >= 1.
  public var batchSize: Int = 20
  /// `max_symbols`: 1...1_000_000.
  public var maxSymbols: Int = 4096
  /// `max_candles`: candles kept per symbol, 1...100_000.
  public var maxCandles: Int = 500
  /// `tracking.mode`: changed | all.
  public var trackingMode: TrackingMode = .changed
  /// `sim.symbols`: symbols the simulator generates, 1...max_symbols.
  public var simSymbols: Int = 500
  /// `sim.seed`: the simulator's random seed.
  public var simSeed: UInt64 = 42
  /// `speed`: replay/simulation speed multiplier (> 0), or nil (`"max"`) = as fast as possible.
  public var speed: Double? = 1
  /// `strict`: replay stops at the first malformed line instead of skipping it.
  public var strict: Bool = false
  /// `debug_updates`: keep the last 100 update events; print them on SIGUSR1 and at exit.
  public var debugUpdates: Bool = false
  /// `sandbox.instruction_budget`: Lua instructions one filter call may run, >= 1000.
  public var instructionBudget: Int = 1_000_000
  /// `sandbox.memory_mb`: memory cap of one Lua state while strategy code runs, in MiB, >= 1.
  public var memoryMB: Int = 64
  /// `sandbox.max_failing_cycles`: a strategy failing on more than half its calls in this many
  /// consecutive cycles is disabled until its file changes; 0 = never.
  public var maxFailingCycles: Int = 10
  /// `sandbox.call_timeout_ms`: a filter call still running after this long (wall-clock time)
  /// is reported and stopped at its next Lua instruction; 0 = never.
  public var callTimeoutMs: Int = 1000

  /// `feed.binance.symbols`: comma-separated symbols to subscribe (empty: use the quote).
  public var binanceSymbols: [String] = []
  /// `feed.binance.quote`: with no symbols, every TRADING spot symbol with this quote asset.
  public var binanceQuote: String = "USDT"
  /// `feed.binance.max_symbols`: symbols subscribed at most.
  public var binanceMaxSymbols: Int = 200
  /// `feed.binance.ticker`: `full` (`<symbol>@ticker` each) or `mini` (`!miniTicker@arr`).
  public var binanceTicker: String = "full"
  /// `feed.binance.ws_url` (`--binance-ws-url`): WebSocket base URL.
  public var binanceWSURL: String = "wss://stream.binance.com:9443"
  /// `feed.binance.rest_url` (`--binance-rest-url`): REST base URL.
  public var binanceRESTURL: String = "https://api.binance.com"
  /// `feed.binance.max_held_messages`: live messages one connection holds while it backfills;
  /// past it the oldest are dropped (counted and logged).
  public var binanceMaxHeldMessages: Int = 100_000
  /// `record` (`--record`): live runs append every received message to this file (empty: off).
  public var record: String = ""

  /// `http.port` (`--http-port`): serve the dashboard, `/metrics` and `/status` (nil: off;
  /// 0: any free port).
  public var httpPort: Int? = nil
  /// `http.host`: the address the HTTP server binds (loopback by default).
  public var httpHost: String = "127.0.0.1"
  /// `sinks.webhook.url` (`--webhook`): comma-separated URLs each cycle's diffs are POSTed to.
  public var webhookURLs: [String] = []
  /// `sinks.webhook.secret`: HMAC-SHA256 key for the `X-Engine-Signature` header (nil: none).
  public var webhookSecret: String? = nil
  /// `sinks.webhook.queue_capacity`: batches queued per webhook before the oldest is dropped.
  public var webhookQueueCapacity: Int = 1000
  /// `sinks.webhook.timeout_ms`: per-request timeout.
  public var webhookTimeoutMs: Int = 5000
  /// `sinks.webhook.backoff_ms` / `backoff_max_ms`: retry back-off, doubling up to the cap.
  public var webhookBackoffMs: Int = 250
  public var webhookBackoffMaxMs: Int = 30000

  /// The sandbox limits these settings describe.
  public var sandboxLimits: SandboxLimits {
    SandboxLimits(
      instructionBudget: instructionBudget, memoryBytes: memoryMB << 20,
      maxFailingCycles: maxFailingCycles, callTimeoutMs: callTimeoutMs)
  }

  public init() {}
}

/// A setting that could not be loaded: one line naming the source and the key,
/// e.g. `config/engine.yaml: tracking.mode: expected "changed" or "all", got "sometimes"`.
public struct SettingsError: Error, CustomStringConvertible, Sendable, Equatable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

extension Settings {
  /// Every key path, in the order of the fields above (and of config/engine.yaml).
  public static let keys: [String] = [
    "strategies", "plugins", "feed.source", "workers", "output",
    "cycle_ms", "cycle_grace_ms", "min_update_interval_ms",
    "batch_threshold", "batch_size", "max_symbols", "max_candles",
    "tracking.mode", "sim.symbols", "sim.seed", "speed", "strict", "debug_updates",
    "sandbox.instruction_budget", "sandbox.memory_mb", "sandbox.max_failing_cycles",
    "sandbox.call_timeout_ms",
    "feed.binance.symbols", "feed.binance.quote", "feed.binance.max_symbols",
    "feed.binance.ticker", "feed.binance.ws_url", "feed.binance.rest_url",
    "feed.binance.max_held_messages", "record",
    "http.port", "http.host", "sinks.webhook.url", "sinks.webhook.secret",
    "sinks.webhook.queue_capacity", "sinks.webhook.timeout_ms", "sinks.webhook.backoff_ms",
    "sinks.webhook.backoff_max_ms",
  ]

  /// The config file used when no `--config` is given (relative to the working directory).
  public static let defaultConfigPath = "config/engine.yaml"

  /// The environment variable read for a key path: upper-cased, dots as underscores
  /// (`tracking.mode` → `TRACKING_MODE`). This is what swift-configuration's
  /// `EnvironmentVariablesProvider` looks up for the snake_case keys used here.
  public static func environmentVariableName(forKey key: String) -> String {
    String(key.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
  }

  /// `workers`, with 0 replaced by the number of active processors.
  public var effectiveWorkers: Int {
    workers == 0 ? max(1, ProcessInfo.processInfo.activeProcessorCount) : workers
  }
}
