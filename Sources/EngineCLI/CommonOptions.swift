import ArgumentParser
import Engine
import Evaluation

/// Options shared by `engine`, `engine replay` and `engine bench`. Each one overrides the
/// setting of the same key (environment variable, then config file, then default).
struct CommonOptions: ParsableArguments {
  @Option(
    help: "Directory of strategy files (NAME.lua). [setting: strategies, default: Strategies]")
  var strategies: String?

  @Option(help: "Worker threads, each owning one Lua state (0 = active processor count). [workers]")
  var workers: String?

  @Option(
    help:
      "changed: evaluate only symbols whose data changed; all: every symbol every cycle (A/B baseline). [tracking.mode, default: changed]"
  )
  var tracking: String?

  @Option(
    name: .customLong("cycle-ms"),
    help: "Cycle length in ms of event time. [cycle_ms, default: 1000]")
  var cycleMs: String?

  @Option(
    name: .customLong("cycle-grace-ms"),
    help:
      "Live feeds: close a quiet cycle this long after cycle_ms of wall-clock time. [cycle_grace_ms, default: 250]"
  )
  var cycleGraceMs: String?

  @Option(
    name: .customLong("min-update-interval-ms"),
    help:
      "Rate limit: a symbol evaluated less than this long ago (event time) waits for a later cycle. [min_update_interval_ms, default: 100]"
  )
  var minUpdateIntervalMs: String?

  @Option(
    name: .customLong("batch-threshold"),
    help:
      "Share of known symbols changed in a cycle above which workers go through their share in batches (0...1). [batch_threshold, default: 0.5]"
  )
  var batchThreshold: String?

  @Option(
    name: .customLong("batch-size"),
    help: "Symbols per batch in batch mode. [batch_size, default: 20]")
  var batchSize: String?

  @Option(
    name: .customLong("max-symbols"),
    help: "Symbols the engine tracks at most. [max_symbols, default: 4096]")
  var maxSymbols: String?

  @Option(
    name: .customLong("max-candles"),
    help: "Candles kept per symbol and interval. [max_candles, default: 500]")
  var maxCandles: String?

  @Option(help: "Config file (YAML). [default: config/engine.yaml when present]")
  var config: String?

  @Option(help: "Directory of Lua plugins strategies may require. [plugins, default: Plugins]")
  var plugins: String?

  @Option(
    help:
      "Diff format on stdout: jsonl or pretty. [output, default: jsonl unless stdout is a terminal]"
  )
  var output: String?

  @Flag(
    name: .customLong("debug-updates"),
    help: "Keep the last 100 update events; print them on SIGUSR1 and at exit. [debug_updates]")
  var debugUpdates = false

  @Flag(
    help:
      "Replay: stop at the first malformed line, naming it (exit 1), instead of skipping it. [strict]"
  )
  var strict = false

  @Option(
    name: .customLong("http-port"),
    help:
      "Serve the live dashboard, /metrics and /status on this port (0: any free port). [http.port]")
  var httpPort: String?

  @Option(
    name: .customLong("webhook"),
    help: "POST each cycle's diffs to this URL (repeatable). [sinks.webhook.url]")
  var webhooks: [String] = []

  /// The command-line overrides, keyed by setting key path.
  var overrides: [String: String] {
    var o: [String: String] = [:]
    o["strategies"] = strategies
    o["workers"] = workers
    o["tracking.mode"] = tracking
    o["cycle_ms"] = cycleMs
    o["cycle_grace_ms"] = cycleGraceMs
    o["min_update_interval_ms"] = minUpdateIntervalMs
    o["batch_threshold"] = batchThreshold
    o["batch_size"] = batchSize
    o["max_symbols"] = maxSymbols
    o["max_candles"] = maxCandles
    o["plugins"] = plugins
    o["output"] = output
    if debugUpdates { o["debug_updates"] = "true" }
    if strict { o["strict"] = "true" }
    o["http.port"] = httpPort
    if !webhooks.isEmpty { o["sinks.webhook.url"] = webhooks.joined(separator: ",") }
    return o
  }
}
