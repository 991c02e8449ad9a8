import EngineSettings
import Foundation
import Synchronization
import Testing

/// The shipped config/engine.yaml, found from this file (the test's working directory varies).
private let shippedConfigPath = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("config/engine.yaml").path

/// A fresh temporary directory holding `engine.yaml` with `contents`; returns the file's path.
private func tempConfig(_ contents: String) throws -> String {
  let directory = FileManager.default.temporaryDirectory
    .appendingPathComponent("SettingsTests-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  let file = directory.appendingPathComponent("engine.yaml")
  try contents.write(to: file, atomically: false, encoding: .utf8)
  return file.path
}

private func removeTemp(_ path: String) {
  try? FileManager.default.removeItem(
    atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path)
}

/// The error `Settings.load` throws, or nil.
private func loadError(
  overrides: [String: String] = [:], configPath: String? = nil, environment: [String: String] = [:]
) -> SettingsError? {
  do {
    _ = try Settings.load(overrides: overrides, configPath: configPath, environment: environment)
    return nil
  } catch {
    return error
  }
}

@Suite("Settings")
struct SettingsTests {
  @Test("defaults with no file, an empty file and an all-comment file")
  func defaults() throws {
    // nil = config/engine.yaml in the working directory if present; the shipped one is all defaults.
    #expect(try Settings.load(overrides: [:], configPath: nil, environment: [:]) == Settings())
    for contents in ["", "# nothing set\n\n# here either\n"] {
      let path = try tempConfig(contents)
      defer { removeTemp(path) }
      #expect(try Settings.load(overrides: [:], configPath: path, environment: [:]) == Settings())
    }
    let d = Settings()
    #expect(d.strategies == "Strategies" && d.plugins == "Plugins" && d.feed == "sim")
    #expect(d.workers == 0 && d.effectiveWorkers >= 1 && d.output == .auto)
    #expect(d.cycleMs == 1000 && d.cycleGraceMs == 250 && d.minUpdateIntervalMs == 100)
    #expect(
      d.batchThreshold == 0.5 && d.batchSize == 20 && d.maxSymbols == 4096 && d.maxCandles == 500)
    #expect(d.trackingMode == .changed && d.simSymbols == 500 && d.simSeed == 42 && d.speed == 1)
    #expect(!d.strict && !d.debugUpdates)
  }

  @Test("the shipped config/engine.yaml loads to exactly the defaults and documents every key")
  func shippedConfig() throws {
    #expect(FileManager.default.fileExists(atPath: shippedConfigPath))
    #expect(
      try Settings.load(overrides: [:], configPath: shippedConfigPath, environment: [:])
        == Settings())
    let text = try String(contentsOfFile: shippedConfigPath, encoding: .utf8)
    for key in Settings.keys {
      #expect(text.contains("Env: \(Settings.environmentVariableName(forKey: key))"), "\(key)")
    }
  }

  @Test("keys and their environment variable names")
  func keysAndEnvironmentNames() {
    #expect(Settings.keys.count == 38)
    #expect(Set(Settings.keys).count == 38)
    #expect(Settings.environmentVariableName(forKey: "tracking.mode") == "TRACKING_MODE")
    #expect(Settings.environmentVariableName(forKey: "cycle_ms") == "CYCLE_MS")
    #expect(Settings.environmentVariableName(forKey: "sim.symbols") == "SIM_SYMBOLS")
    #expect(
      Settings.environmentVariableName(forKey: "min_update_interval_ms") == "MIN_UPDATE_INTERVAL_MS"
    )
  }

  @Test("every key is read from its environment variable (the library's name mapping matches)")
  func everyEnvironmentVariable() throws {
    let values: [String: String] = [
      "strategies": "S2", "plugins": "P2", "feed.source": "replay:data/day1.jsonl", "workers": "8",
      "output": "jsonl", "cycle_ms": "500", "cycle_grace_ms": "0", "min_update_interval_ms": "7",
      "batch_threshold": "0.25", "batch_size": "5", "max_symbols": "1000", "max_candles": "99",
      "tracking.mode": "all", "sim.symbols": "1000", "sim.seed": "18446744073709551615",
      "speed": "max", "strict": "true", "debug_updates": "yes",
      "sandbox.instruction_budget": "5000", "sandbox.memory_mb": "8",
      "sandbox.max_failing_cycles": "0", "sandbox.call_timeout_ms": "0",
      "feed.binance.symbols": "btcusdt, ETHUSDT", "feed.binance.max_held_messages": "7",
      "feed.binance.quote": "fdusd", "feed.binance.max_symbols": "50",
      "feed.binance.ticker": "mini",
      "feed.binance.ws_url": "ws://127.0.0.1:9000",
      "feed.binance.rest_url": "http://127.0.0.1:9001",
      "record": "session.jsonl", "http.port": "8080", "http.host": "0.0.0.0",
      "sinks.webhook.url": "http://a.example/hook, https://b.example/x",
      "sinks.webhook.secret": "s3cret", "sinks.webhook.queue_capacity": "10",
      "sinks.webhook.timeout_ms": "100", "sinks.webhook.backoff_ms": "5",
      "sinks.webhook.backoff_max_ms": "50",
    ]
    #expect(Set(values.keys) == Set(Settings.keys))
    var expected = Settings()
    expected.strategies = "S2"
    expected.plugins = "P2"
    expected.feed = "replay:data/day1.jsonl"
    expected.workers = 8
    expected.output = .jsonl
    expected.cycleMs = 500
    expected.cycleGraceMs = 0
    expected.minUpdateIntervalMs = 7
    expected.batchThreshold = 0.25
    expected.batchSize = 5
    expected.maxSymbols = 1000
    expected.maxCandles = 99
    expected.trackingMode = .all
    expected.simSymbols = 1000
    expected.simSeed = .max
    expected.speed = nil
    expected.strict = true
    expected.debugUpdates = true
    expected.instructionBudget = 5000
    expected.memoryMB = 8
    expected.maxFailingCycles = 0
    expected.callTimeoutMs = 0
    expected.binanceMaxHeldMessages = 7
    expected.binanceSymbols = ["BTCUSDT", "ETHUSDT"]
    expected.binanceQuote = "FDUSD"
    expected.binanceMaxSymbols = 50
    expected.binanceTicker = "mini"
    expected.binanceWSURL = "ws://127.0.0.1:9000"
    expected.binanceRESTURL = "http://127.0.0.1:9001"
    expected.record = "session.jsonl"
    expected.httpPort = 8080
    expected.httpHost = "0.0.0.0"
    expected.webhookURLs = ["http://a.example/hook", "https://b.example/x"]
    expected.webhookSecret = "s3cret"
    expected.webhookQueueCapacity = 10
    expected.webhookTimeoutMs = 100
    expected.webhookBackoffMs = 5
    expected.webhookBackoffMaxMs = 50
    let environment = Dictionary(
      uniqueKeysWithValues: values.map { (Settings.environmentVariableName(forKey: $0), $1) })
    let empty = try tempConfig("")
    defer { removeTemp(empty) }
    #expect(
      try Settings.load(overrides: [:], configPath: empty, environment: environment) == expected)
    // The same values as command-line overrides, and in a YAML file.
    #expect(try Settings.load(overrides: values, configPath: empty, environment: [:]) == expected)
    let yaml = values.sorted { $0.key < $1.key }.map { "\($0): \"\($1)\"" }.joined(separator: "\n")
    let file = try tempConfig(yaml)
    defer { removeTemp(file) }
    #expect(try Settings.load(overrides: [:], configPath: file, environment: [:]) == expected)
  }

  @Test(
    "precedence: command line > environment > file > default",
    arguments: [
      // key, default, file, environment, command line
      ("tracking.mode", "changed", "all", "changed", "all"),
      ("cycle_ms", "1000", "2000", "3000", "4000"),
      ("sim.symbols", "500", "10", "20", "30"),
      ("speed", "1.0", "2.5", "max", "0.5"),
      ("output", "auto", "pretty", "jsonl", "pretty"),
      ("strict", "false", "true", "false", "true"),
    ])
  func precedence(key: String, builtIn: String, file: String, env: String, cli: String) throws {
    let envName = Settings.environmentVariableName(forKey: key)
    let path = try tempConfig("\(key): \(file)\n")
    defer { removeTemp(path) }
    let empty = try tempConfig("")
    defer { removeTemp(empty) }
    func value(_ s: Settings) -> String {
      switch key {
      case "tracking.mode": s.trackingMode.rawValue
      case "cycle_ms": String(s.cycleMs)
      case "sim.symbols": String(s.simSymbols)
      case "speed": s.speed.map { String($0) } ?? "max"
      case "output": s.output.rawValue
      case "strict": String(s.strict)
      default: "?"
      }
    }
    func load(_ o: [String: String], _ p: String, _ e: [String: String]) throws -> String {
      value(try Settings.load(overrides: o, configPath: p, environment: e))
    }
    #expect(try load([key: cli], path, [envName: env]) == cli)
    #expect(try load([:], path, [envName: env]) == env)
    #expect(try load([:], path, ["UNRELATED": "1"]) == file)
    #expect(try load([:], empty, [:]) == builtIn)
  }

  @Test("nested mappings and dotted keys in the file are the same key")
  func nestedAndDotted() throws {
    let nested = try tempConfig("tracking:\n  mode: all\nsim:\n  seed: 7\n")
    let dotted = try tempConfig("tracking.mode: all\nsim.seed: 7\n")
    defer {
      removeTemp(nested)
      removeTemp(dotted)
    }
    let a = try Settings.load(overrides: [:], configPath: nested, environment: [:])
    let b = try Settings.load(overrides: [:], configPath: dotted, environment: [:])
    #expect(a == b && a.trackingMode == .all && a.simSeed == 7)
  }

  @Test("the examples: bad values name the source and key on one line")
  func exampleErrors() throws {
    let path = try tempConfig("tracking:\n  mode: sometimes\n")
    defer { removeTemp(path) }
    #expect(
      loadError(configPath: path)?.description
        == "\(path): tracking.mode: expected \"changed\" or \"all\", got \"sometimes\"")
    #expect(
      loadError(configPath: path, environment: ["CYCLE_MS": "abc", "TRACKING_MODE": "all"])?
        .description
        == "environment CYCLE_MS: expected a positive integer, got \"abc\"")
    #expect(
      loadError(overrides: ["workers": "300"], configPath: path)?.description
        == "command-line option workers: expected 0 (one per active processor) or an integer from 1 to 256, got \"300\""
    )
  }

  @Test(
    "every kind of bad value is one line naming the source and key",
    arguments: [
      ("strategies", ""), ("plugins", " "), ("feed.source", "replay:"), ("feed.source", "kraken"),
      ("workers", "-1"),
      ("workers", "257"), ("workers", "four"), ("output", "xml"), ("cycle_ms", "0"),
      ("cycle_ms", "1.5"),
      ("cycle_grace_ms", "-1"), ("min_update_interval_ms", "x"), ("batch_threshold", "1.5"),
      ("batch_threshold", "nan"), ("batch_size", "0"), ("max_symbols", "1000001"),
      ("max_candles", "0"),
      ("tracking.mode", "ALL"), ("sim.symbols", "5000"), ("sim.symbols", "0"), ("sim.seed", "-1"),
      ("speed", "0"), ("speed", "-2"), ("speed", "inf"), ("speed", "fast"), ("strict", "maybe"),
      ("debug_updates", "2"),
    ])
  func badValues(key: String, bad: String) throws {
    let envName = Settings.environmentVariableName(forKey: key)
    let quotedBad = "\"\(bad.trimmingCharacters(in: .whitespaces))\""
    let path = try tempConfig("\(key): \"\(bad)\"\n")
    defer { removeTemp(path) }
    let cases: [(SettingsError?, String)] = [
      (loadError(configPath: path), "\(path): \(key): expected "),
      (loadError(environment: [envName: bad]), "environment \(envName): expected "),
      (loadError(overrides: [key: bad]), "command-line option \(key): expected "),
    ]
    for (error, prefix) in cases {
      let line = try #require(error).description
      #expect(line.hasPrefix(prefix), "\(line)")
      #expect(line.hasSuffix(", got \(quotedBad)"), "\(line)")
      #expect(!line.contains("\n"))
    }
  }

  @Test("values that are not scalars, invalid YAML, and limits that contradict a default")
  func otherBadFiles() throws {
    let list = try tempConfig("feed:\n  source: [sim, binance]\n")
    let syntax = try tempConfig("cycle_ms: [1000\n")
    let scalar = try tempConfig("- just\n- a list\n")
    defer {
      removeTemp(list)
      removeTemp(syntax)
      removeTemp(scalar)
    }
    #expect(
      loadError(configPath: list)?.description
        == "\(list): feed.source: expected \"sim\", \"binance\" or \"replay:FILE\", got a list")
    #expect(
      loadError(configPath: syntax)?.description
        == "\(syntax): invalid YAML at line 2, column 1: parser: while parsing a flow sequence in line 1, "
        + "column 11; did not find expected ',' or ']'")
    #expect(
      loadError(configPath: scalar)?.description
        == "\(scalar): invalid YAML: Top level YAML value is not a mapping")
    let empty = try tempConfig("")
    defer { removeTemp(empty) }
    #expect(
      loadError(configPath: empty, environment: ["MAX_SYMBOLS": "100"])?.description
        == "environment MAX_SYMBOLS: expected at least sim.symbols (500, its default), got \"100\"; lower sim.symbols too"
    )
    #expect(
      loadError(configPath: shippedConfigPath, environment: ["MAX_SYMBOLS": "100"])?.description
        == "\(shippedConfigPath): sim.symbols: expected an integer from 1 to max_symbols (100), got \"500\""
    )
    #expect(
      try Settings.load(
        overrides: ["sim.symbols": "100"], configPath: nil, environment: ["MAX_SYMBOLS": "100"]
      )
      .simSymbols == 100)
  }

  @Test("an unknown key in the file is an error naming it")
  func unknownKeys() throws {
    let cases: [(String, String)] = [
      ("trackin.mode: all\n", "unknown key \"trackin.mode\""),
      ("tracking:\n  mode: all\n  moed: all\n", "unknown key \"tracking.moed\""),
      ("tracking: all\n", "unknown key \"tracking\""),
      ("cycle_ms: 5\ncycleMs: 5\n", "unknown key \"cycleMs\""),
      (
        "sim:\n  symbols: 5\n  extra: [1, 2]\nbogus: \"a, b=c\"\n",
        "unknown keys \"bogus\", \"sim.extra\""
      ),
      ("CYCLE_MS: 5\n", "unknown key \"CYCLE_MS\""),
    ]
    for (yaml, message) in cases {
      let path = try tempConfig(yaml)
      defer { removeTemp(path) }
      #expect(loadError(configPath: path)?.description == "\(path): \(message)")
    }
    #expect(
      loadError(overrides: ["trackin.mode": "all"])?.description
        == "command-line option: unknown key \"trackin.mode\"")
  }

  @Test("a missing explicit --config file is an error")
  func missingConfig() {
    let path = "/nonexistent/engine-\(UUID().uuidString).yaml"
    #expect(loadError(configPath: path)?.description == "\(path): config file not found")
    let directory = FileManager.default.temporaryDirectory.path
    #expect(
      loadError(configPath: directory)?.description == "\(directory): cannot read the config file")
  }

  @Test("the watcher sees an edit and keeps the previous settings on a bad edit")
  func watcher() async throws {
    let path = try tempConfig("cycle_ms: 1000\n")
    defer { removeTemp(path) }
    let initial = try Settings.load(
      overrides: [:], configPath: path, environment: ["SIM_SEED": "9"])
    let changes = Mutex<[Settings]>([])
    let errors = Mutex<[String]>([])
    let watcher = SettingsWatcher(
      configPath: path, environment: ["SIM_SEED": "9"], initial: initial,
      interval: .milliseconds(100),
      onError: { error in errors.withLock { $0.append(error.description) } },
      onChange: { settings in changes.withLock { $0.append(settings) } })
    watcher.start()
    defer { watcher.stop() }

    func waitUntil(_ condition: () -> Bool) async throws -> Bool {
      for _ in 0..<100 {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
      }
      return condition()
    }

    try "cycle_ms: 25000\ntracking:\n  mode: all\n".write(
      toFile: path, atomically: false, encoding: .utf8)
    #expect(try await waitUntil { changes.withLock { !$0.isEmpty } })
    var edited = initial
    edited.cycleMs = 25000
    edited.trackingMode = .all
    #expect(changes.withLock { $0 } == [edited])
    #expect(watcher.current == edited)
    #expect(watcher.current.simSeed == 9)  // the environment still applies

    try "cycle_ms: 25000\ntracking:\n  mode: sometimes\n".write(
      toFile: path, atomically: false, encoding: .utf8)
    #expect(try await waitUntil { errors.withLock { !$0.isEmpty } })
    #expect(
      errors.withLock { $0 } == [
        "\(path): tracking.mode: expected \"changed\" or \"all\", got \"sometimes\""
      ])
    #expect(watcher.current == edited)
    #expect(changes.withLock { $0.count } == 1)

    // Replacing the file (write to a temporary file and rename, as editors do) is seen too.
    try "cycle_ms: 7\n".write(toFile: path, atomically: true, encoding: .utf8)
    #expect(try await waitUntil { changes.withLock { $0.count == 2 } })
    #expect(watcher.current.cycleMs == 7 && watcher.current.trackingMode == .changed)
    #expect(errors.withLock { $0.count } == 1)
  }

  @Test("the watcher stops")
  func watcherStops() async throws {
    let path = try tempConfig("cycle_ms: 1000\n")
    defer { removeTemp(path) }
    let changes = Mutex(0)
    let watcher = SettingsWatcher(
      configPath: path, environment: [:], initial: Settings(), interval: .milliseconds(50),
      onChange: { _ in changes.withLock { $0 += 1 } })
    watcher.start()
    watcher.stop()
    try await Task.sleep(for: .milliseconds(150))
    try "cycle_ms: 2000000\n".write(toFile: path, atomically: false, encoding: .utf8)
    try await Task.sleep(for: .milliseconds(300))
    #expect(changes.withLock { $0 } == 0)
    watcher.poll()  // an explicit poll still works
    #expect(changes.withLock { $0 } == 1 && watcher.current.cycleMs == 2_000_000)
  }
}
