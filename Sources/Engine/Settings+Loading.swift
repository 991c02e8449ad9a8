// Loading `Settings` with swift-configuration, validating every value, and watching the file.
//
// A `ConfigReader` is built over three providers, highest precedence first:
//   InMemoryProvider (command-line overrides) → EnvironmentVariablesProvider → the YAML file.
// Every key is read as a string through the reader; an access reporter tells which provider
// supplied it, so an invalid value is reported with its source. Validation is done here, not
// by the library, so that each problem is one line naming the source and key.
//
// The file is parsed by the library's `YAMLSnapshot` (the same parser `FileProvider<YAMLSnapshot>`
// uses) wrapped in a small synchronous provider: `FileProvider.init` is `async`, and loading is
// kept synchronous so the command line and the watcher thread can call it directly.

import Configuration
import Foundation
import Synchronization

extension Settings {
  /// Resolves the settings: command-line option, then environment variable, then config file,
  /// then the built-in default.
  ///
  /// - Parameters:
  ///   - overrides: command-line values keyed by key path (`"tracking.mode": "all"`).
  ///   - configPath: an explicit `--config` file (must exist), or nil for `config/engine.yaml`
  ///     in the working directory when present, else no file.
  ///   - environment: the environment, usually `ProcessInfo.processInfo.environment`.
  /// - Throws: `SettingsError` with one line naming the source and key of the first problem:
  ///   a bad value, an unknown key in the file or in `overrides`, a missing or unparsable file.
  public static func load(
    overrides: [String: String] = [:],
    configPath: String?,
    environment: [String: String]
  ) throws(SettingsError) -> Settings {
    let known = Set(keys)
    if let unknown = overrides.keys.sorted().first(where: { !known.contains($0) }) {
      throw SettingsError("command-line option: unknown key \(settingsQuoted(unknown))")
    }
    let file = try SettingsFile.load(configPath: configPath)
    let commandLine = InMemoryProvider(
      name: "command line",
      values: Dictionary(
        uniqueKeysWithValues: overrides.map { key, value in
          // ConfigKey("a.b") splits at dots; AbsoluteConfigKey(["a.b"]) would be one component.
          (AbsoluteConfigKey(ConfigKey(key)), ConfigValue(.string(value), isSecret: false))
        }))
    let env = EnvironmentVariablesProvider(environmentVariables: environment)
    var providers: [any ConfigProvider] = [commandLine, env]
    var sources: [String: SettingsSource] = [
      commandLine.providerName: .commandLine, env.providerName: .environment,
    ]
    if let file {
      providers.append(file.provider)
      sources[file.provider.providerName] = .file(file.path)
    }
    let reporter = SettingsAccessRecorder()
    let resolver = SettingsResolver(
      reader: ConfigReader(providers: providers, accessReporter: reporter),
      reporter: reporter,
      sources: sources)
    return try resolver.resolve()
  }
}

// MARK: - Sources

private enum SettingsSource: Equatable {
  case commandLine, environment
  case file(String)

  /// The prefix of an error line: `config/engine.yaml: cycle_ms`, `environment CYCLE_MS`, ...
  func label(forKey key: String) -> String {
    switch self {
    case .commandLine: "command-line option \(key)"
    case .environment: "environment \(Settings.environmentVariableName(forKey: key))"
    case .file(let path): "\(path): \(key)"
    }
  }
}

/// Records the access events of a `ConfigReader`, so each read can tell which provider answered.
private final class SettingsAccessRecorder: AccessReporter {
  private let last = Mutex<AccessEvent?>(nil)
  func report(_ event: AccessEvent) { last.withLock { $0 = event } }
  func take() -> AccessEvent? {
    last.withLock { event in
      defer { event = nil }
      return event
    }
  }
}

// MARK: - Resolving and validating

private struct SettingsResolver {
  let reader: ConfigReader
  let reporter: SettingsAccessRecorder
  /// Provider names to sources.
  let sources: [String: SettingsSource]

  /// The raw string for `key` and where it came from, or nil when no provider has it.
  func raw(_ key: String, expected: String) throws(SettingsError) -> (String, SettingsSource)? {
    let value = reader.string(forKey: ConfigKey(key))
    guard let answer = reporter.take()?.providerResults.last else { return nil }
    let source = sources[answer.providerName] ?? .file(answer.providerName)
    switch answer.result {
    case .failure:
      // The only way a provider fails a string lookup: the YAML value is a list.
      throw SettingsError("\(source.label(forKey: key)): expected \(expected), got a list")
    case .success(let lookup):
      guard lookup.value != nil, let value else { return nil }
      return (value.trimmingCharacters(in: .whitespacesAndNewlines), source)
    }
  }

  /// Reads and parses `key`; nil when no source sets it (keep the default).
  func value<T>(
    _ key: String, expected: String, _ parse: (String) -> T?
  ) throws(SettingsError) -> (T, SettingsSource)? {
    guard let (string, source) = try raw(key, expected: expected) else { return nil }
    guard let parsed = parse(string) else {
      throw SettingsError(
        "\(source.label(forKey: key)): expected \(expected), got \(settingsQuoted(string))")
    }
    return (parsed, source)
  }

  func int(_ key: String, in range: ClosedRange<Int>, expected: String) throws(SettingsError)
    -> Int?
  {
    try value(key, expected: expected) { Int($0).flatMap { range.contains($0) ? $0 : nil } }?.0
  }

  func choice<T: RawRepresentable<String> & CaseIterable>(_ key: String, _: T.Type)
    throws(SettingsError) -> T?
  {
    let names = T.allCases.map { "\"\($0.rawValue)\"" }
    let expected =
      names.count == 2
      ? "\(names[0]) or \(names[1])"
      : names.dropLast().joined(separator: ", ") + " or " + names.last!
    return try value(key, expected: expected) { T(rawValue: $0) }?.0
  }

  func bool(_ key: String) throws(SettingsError) -> Bool? {
    try value(key, expected: "true or false") { string in
      switch string.lowercased() {
      case "true", "yes", "on", "1": true
      case "false", "no", "off", "0": false
      default: nil
      }
    }?.0
  }

  func path(_ key: String) throws(SettingsError) -> String? {
    try value(key, expected: "a non-empty path") { $0.isEmpty ? nil : $0 }?.0
  }

  func resolve() throws(SettingsError) -> Settings {
    var s = Settings()
    if let v = try path("strategies") { s.strategies = v }
    if let v = try path("plugins") { s.plugins = v }
    if let v = try value(
      "feed.source", expected: "\"sim\", \"binance\" or \"replay:FILE\"",
      { feed in
        feed == "sim" || feed == "binance"
          || (feed.hasPrefix("replay:") && feed.count > "replay:".count)
          ? feed : nil
      })
    {
      s.feed = v.0
    }
    if let v = try int(
      "workers", in: 0...256, expected: "0 (one per active processor) or an integer from 1 to 256")
    {
      s.workers = v
    }
    if let v = try choice("output", OutputFormat.self) { s.output = v }
    let positive = "a positive integer"
    let nonNegative = "a non-negative integer"
    if let v = try int("cycle_ms", in: 1...Int.max, expected: positive) { s.cycleMs = v }
    if let v = try int("cycle_grace_ms", in: 0...Int.max, expected: nonNegative) {
      s.cycleGraceMs = v
    }
    if let v = try int("min_update_interval_ms", in: 0...Int.max, expected: nonNegative) {
      s.minUpdateIntervalMs = v
    }
    if let v = try value(
      "batch_threshold", expected: "a number from 0 to 1",
      { Double($0).flatMap { (0...1).contains($0) ? $0 : nil } })
    {
      s.batchThreshold = v.0
    }
    if let v = try int("batch_size", in: 1...Int.max, expected: positive) { s.batchSize = v }
    let maxSymbols = try value(
      "max_symbols", expected: "an integer from 1 to 1000000",
      { Int($0).flatMap { (1...1_000_000).contains($0) ? $0 : nil } })
    if let maxSymbols { s.maxSymbols = maxSymbols.0 }
    if let v = try int("max_candles", in: 1...100_000, expected: "an integer from 1 to 100000") {
      s.maxCandles = v
    }
    if let v = try choice("tracking.mode", TrackingMode.self) { s.trackingMode = v }
    let simExpected = "an integer from 1 to max_symbols (\(s.maxSymbols))"
    if let v = try int("sim.symbols", in: 1...s.maxSymbols, expected: simExpected) {
      s.simSymbols = v
    } else if s.simSymbols > s.maxSymbols, let maxSymbols {
      throw SettingsError(
        "\(maxSymbols.1.label(forKey: "max_symbols")): expected at least sim.symbols (\(s.simSymbols), "
          + "its default), got \(settingsQuoted(String(s.maxSymbols))); lower sim.symbols too")
    }
    if let v = try value("sim.seed", expected: "an integer from 0 to \(UInt64.max)", { UInt64($0) })
    {
      s.simSeed = v.0
    }
    if let v = try value(
      "speed", expected: "a positive number or \"max\"",
      { string -> Double?? in
        if string == "max" { return .some(nil) }
        guard let speed = Double(string), speed.isFinite, speed > 0 else { return nil }
        return .some(speed)
      })
    {
      s.speed = v.0
    }
    if let v = try bool("strict") { s.strict = v }
    if let v = try bool("debug_updates") { s.debugUpdates = v }
    if let v = try int(
      "sandbox.instruction_budget", in: 1000...Int(Int32.max),
      expected: "an integer from 1000 to \(Int32.max)")
    {
      s.instructionBudget = v
    }
    if let v = try int("sandbox.memory_mb", in: 1...65536, expected: "an integer from 1 to 65536") {
      s.memoryMB = v
    }
    if let v = try int("sandbox.max_failing_cycles", in: 0...Int.max, expected: nonNegative) {
      s.maxFailingCycles = v
    }
    if let v = try int(
      "sandbox.call_timeout_ms", in: 0...3_600_000, expected: "an integer from 0 to 3600000")
    {
      s.callTimeoutMs = v
    }
    if let v = try value(
      "feed.binance.symbols", expected: "comma-separated symbols like \"BTCUSDT,ETHUSDT\"",
      { text -> [String]? in
        let list = text.split(separator: ",").map {
          $0.trimmingCharacters(in: .whitespaces).uppercased()
        }.filter { !$0.isEmpty }
        return list.allSatisfy { $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
          ? list : nil
      })
    {
      s.binanceSymbols = v.0
    }
    if let v = try value(
      "feed.binance.quote", expected: "a quote asset like \"USDT\"",
      { q in
        !q.isEmpty && q.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
          ? q.uppercased() : nil
      })
    {
      s.binanceQuote = v.0
    }
    if let v = try int(
      "feed.binance.max_symbols", in: 1...100_000, expected: "an integer from 1 to 100000")
    {
      s.binanceMaxSymbols = v
    }
    if let v = try value(
      "feed.binance.ticker", expected: "\"full\" or \"mini\"",
      { $0 == "full" || $0 == "mini" ? $0 : nil })
    {
      s.binanceTicker = v.0
    }
    for (key, isWS) in [("feed.binance.ws_url", true), ("feed.binance.rest_url", false)] {
      let schemes = isWS ? ["ws://", "wss://"] : ["http://", "https://"]
      if let v = try value(
        key, expected: "a URL starting with \(schemes.joined(separator: " or "))",
        { url in schemes.contains { url.hasPrefix($0) && url.count > $0.count } ? url : nil })
      {
        if isWS { s.binanceWSURL = v.0 } else { s.binanceRESTURL = v.0 }
      }
    }
    if let v = try int(
      "feed.binance.max_held_messages", in: 1...100_000_000,
      expected: "an integer from 1 to 100000000")
    {
      s.binanceMaxHeldMessages = v
    }
    if let v = try value("record", expected: "a file path", { $0 }) { s.record = v.0 }
    if let v = try value(
      "http.port", expected: "a port number from 0 to 65535 (0: any free port), or empty",
      { text -> Int?? in
        if text.isEmpty { return .some(nil) }
        guard let port = Int(text), (0...65535).contains(port) else { return nil }
        return .some(port)
      })
    {
      s.httpPort = v.0
    }
    if let v = try value(
      "http.host", expected: "a host address like 127.0.0.1",
      {
        $0.isEmpty ? nil : $0
      })
    {
      s.httpHost = v.0
    }
    if let v = try value(
      "sinks.webhook.url", expected: "comma-separated http:// or https:// URLs",
      { text -> [String]? in
        let urls = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
          .filter { !$0.isEmpty }
        return urls.allSatisfy { u in
          ["http://", "https://"].contains { u.hasPrefix($0) && u.count > $0.count }
        } ? urls : nil
      })
    {
      s.webhookURLs = v.0
    }
    if let v = try value(
      "sinks.webhook.secret", expected: "a secret",
      { text -> String?? in .some(text.isEmpty ? nil : text) })
    {
      s.webhookSecret = v.0
    }
    if let v = try int(
      "sinks.webhook.queue_capacity", in: 1...1_000_000, expected: "an integer from 1 to 1000000")
    {
      s.webhookQueueCapacity = v
    }
    if let v = try int(
      "sinks.webhook.timeout_ms", in: 1...600_000, expected: "an integer from 1 to 600000")
    {
      s.webhookTimeoutMs = v
    }
    if let v = try int("sinks.webhook.backoff_ms", in: 1...Int.max, expected: positive) {
      s.webhookBackoffMs = v
    }
    if let v = try int(
      "sinks.webhook.backoff_max_ms", in: s.webhookBackoffMs...Int.max,
      expected: "an integer of at least sinks.webhook.backoff_ms (\(s.webhookBackoffMs))")
    {
      s.webhookBackoffMaxMs = v
    }
    return s
  }
}

/// `"abc"`, with quotes and backslashes escaped and control characters shown as escapes,
/// so the error stays one line.
private func settingsQuoted(_ string: String) -> String {
  var out = "\""
  for scalar in string.unicodeScalars {
    switch scalar {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\t": out += "\\t"
    case "\r": out += "\\r"
    default:
      if scalar.properties.generalCategory == .control {
        out += "\\u{\(String(scalar.value, radix: 16))}"
      } else {
        out.unicodeScalars.append(scalar)
      }
    }
  }
  return out + "\""
}

// MARK: - The config file

/// A parsed YAML config file.
private struct SettingsFile {
  let path: String
  let provider: SettingsSnapshotProvider

  /// Reads `configPath` (must exist), or `Settings.defaultConfigPath` if present; nil = no file.
  static func load(configPath: String?) throws(SettingsError) -> SettingsFile? {
    let path = configPath ?? Settings.defaultConfigPath
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      if configPath == nil { return nil }
      throw SettingsError("\(path): config file not found")
    }
    guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
      throw SettingsError("\(path): cannot read the config file")
    }
    return try parse(data, path: path)
  }

  static func parse(_ data: Data, path: String) throws(SettingsError) -> SettingsFile {
    let snapshot: any ConfigSnapshot
    if isBlank(data) {
      // YAMLSnapshot rejects a document with no mapping; an empty or all-comment file sets nothing.
      snapshot = SettingsEmptySnapshot(providerName: path)
    } else {
      let yaml: YAMLSnapshot
      do {
        yaml = try YAMLSnapshot(data: data.bytes, providerName: path, parsingOptions: .default)
      } catch {
        throw SettingsError("\(path): invalid YAML\(yamlErrorLine(String(describing: error)))")
      }
      try checkKeys(yaml, path: path)
      snapshot = yaml
    }
    return SettingsFile(
      path: path, provider: SettingsSnapshotProvider(fixedSnapshot: snapshot, providerName: path))
  }

  private static func isBlank(_ data: Data) -> Bool {
    String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).allSatisfy { line in
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      return trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed == "---" || trimmed == "..."
    }
  }

  /// Yams' errors read "2:1: error: parser: while parsing ...\ndid not find ...:\n<line>\n  ^";
  /// this makes ` at line 2, column 1: parser: while parsing ...; did not find ...` of them.
  static func yamlErrorLine(_ message: String) -> String {
    var lines = message.split(whereSeparator: \.isNewline).map(String.init)
    if lines.count >= 3, lines.last!.trimmingCharacters(in: .whitespaces) == "^" {
      lines.removeLast(2)  // the settingsQuoted source line and the caret under it
    }
    var text = lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
      .joined(separator: "; ")
    while text.hasSuffix(":") || text.hasSuffix(".") { text.removeLast() }
    let parts = text.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
    if parts.count == 4, let line = Int(parts[0]), let column = Int(parts[1]),
      parts[2].trimmingCharacters(in: .whitespaces) == "error"
    {
      return " at line \(line), column \(column):\(parts[3])"
    }
    return ": " + (text.isEmpty ? "unknown error" : text)
  }

  /// Rejects keys other than `Settings.keys`.
  ///
  /// `YAMLSnapshot` flattens nested mappings to dotted keys (`tracking: {mode: all}` and
  /// `tracking.mode: all` are both `tracking.mode`) but has no API to list them. Its
  /// `description` gives the number of leaf values and `debugDescription` lists them as
  /// `key=value`; each known key is probed with `value(forKey:type:)`, and a surplus means
  /// unknown keys, whose names are taken from `debugDescription` and confirmed by probing.
  static func checkKeys(_ snapshot: YAMLSnapshot, path: String) throws(SettingsError) {
    func isPresent(_ key: String) -> Bool {
      let key = AbsoluteConfigKey(
        key.split(separator: ".", omittingEmptySubsequences: false).map(String.init))
      do { return try snapshot.value(forKey: key, type: .string).value != nil } catch {
        return true
      }
    }
    let recognised = Settings.keys.filter(isPresent).count
    // description: "<providerName>[<count> values]"
    let description = snapshot.description
    guard description.hasSuffix(" values]"),
      let open = description.dropLast(" values]".count).lastIndex(of: "["),
      let total = Int(description[description.index(after: open)...].dropLast(" values]".count)),
      total > recognised
    else { return }
    // debugDescription: "<providerName>[<count> values: k1=v1, k2=v2]", sorted by key.
    let known = Set(Settings.keys)
    let listing = snapshot.debugDescription.dropFirst(description.count - "]".count)
    let unknown = listing.components(separatedBy: ", ").compactMap { entry -> String? in
      guard let equals = entry.firstIndex(of: "=") else { return nil }
      var key = String(entry[..<equals])
      if key.hasPrefix(": ") { key.removeFirst(2) }  // the first entry follows "values: "
      return !known.contains(key) && isPresent(key) ? key : nil
    }
    switch unknown.count {
    case 0:
      throw SettingsError(
        "\(path): \(total - recognised) unknown key(s); valid keys: \(Settings.keys.joined(separator: ", "))"
      )
    case 1: throw SettingsError("\(path): unknown key \(settingsQuoted(unknown[0]))")
    default:
      throw SettingsError(
        "\(path): unknown keys \(unknown.map(settingsQuoted).joined(separator: ", "))")
    }
  }
}

/// A snapshot of an empty config file.
private struct SettingsEmptySnapshot: ConfigSnapshot {
  let providerName: String
  func value(forKey key: AbsoluteConfigKey, type: ConfigType) throws -> LookupResult {
    LookupResult(encodedKey: key.description, value: nil)
  }
}

/// A provider serving one fixed snapshot: a synchronous `FileProvider`.
private struct SettingsSnapshotProvider: ConfigProvider {
  let fixedSnapshot: any ConfigSnapshot
  let providerName: String

  func value(forKey key: AbsoluteConfigKey, type: ConfigType) throws -> LookupResult {
    try fixedSnapshot.value(forKey: key, type: type)
  }

  func fetchValue(forKey key: AbsoluteConfigKey, type: ConfigType) async throws -> LookupResult {
    try value(forKey: key, type: type)
  }

  nonisolated(nonsending) func watchValue<Return: ~Copyable>(
    forKey key: AbsoluteConfigKey,
    type: ConfigType,
    updatesHandler:
      nonisolated(nonsending) (
        _ updates: ConfigUpdatesAsyncSequence<Result<LookupResult, any Error>, Never>
      ) async throws -> Return
  ) async throws -> Return {
    try await watchValueFromValue(forKey: key, type: type, updatesHandler: updatesHandler)
  }

  func snapshot() -> any ConfigSnapshot { fixedSnapshot }

  nonisolated(nonsending) func watchSnapshot<Return: ~Copyable>(
    updatesHandler:
      nonisolated(nonsending) (
        _ updates: ConfigUpdatesAsyncSequence<any ConfigSnapshot, Never>
      ) async throws -> Return
  ) async throws -> Return {
    try await watchSnapshotFromSnapshot(updatesHandler: updatesHandler)
  }
}

// MARK: - Watching the file

/// Watches the config file and calls `onChange` with the newly resolved settings when it changes.
///
/// Polls the file's modification time, size and inode every `interval` (500 ms by default) on a
/// background thread (no `ReloadingFileProvider`: it needs the "Reloading" trait and a
/// ServiceLifecycle service). A change is re-resolved with the same overrides and environment,
/// so command-line options and environment variables still win over the file. `onChange` is
/// called only when the resolved settings differ. A bad edit (or a missing file) is passed to
/// `onError`, by default one line on stderr, and the previous settings are kept.
/// Both callbacks run on the watcher's thread.
public final class SettingsWatcher: Sendable {
  /// The file being watched.
  public let path: String
  private let overrides: [String: String]
  private let explicitPath: Bool
  private let environment: [String: String]
  private let interval: Duration
  private let onChange: @Sendable (Settings) -> Void
  private let onError: @Sendable (SettingsError) -> Void
  private let state: Mutex<State>

  private struct State {
    var current: Settings
    var signature: SettingsFileSignature?
    var stop: SettingsStopSignal?
  }

  /// - Parameters:
  ///   - overrides, configPath, environment: as for `Settings.load`; with a nil `configPath`,
  ///     `config/engine.yaml` is watched (and may appear later).
  ///   - initial: the settings in effect now (what `Settings.load` returned).
  ///   - interval: how often to look at the file.
  ///   - onError: called with a bad edit; the default prints its one line to stderr.
  ///   - onChange: called with the new settings after a good edit that changed them.
  public init(
    overrides: [String: String] = [:],
    configPath: String?,
    environment: [String: String],
    initial: Settings,
    interval: Duration = .milliseconds(500),
    onError: @escaping @Sendable (SettingsError) -> Void = SettingsWatcher.printToStandardError,
    onChange: @escaping @Sendable (Settings) -> Void
  ) {
    self.path = configPath ?? Settings.defaultConfigPath
    self.overrides = overrides
    self.explicitPath = configPath != nil
    self.environment = environment
    self.interval = interval
    self.onChange = onChange
    self.onError = onError
    self.state = Mutex(State(current: initial, signature: SettingsFileSignature(path: path)))
  }

  deinit { state.withLock { $0.stop?.signal() } }

  /// The settings in effect: `initial`, or the last good edit.
  public var current: Settings { state.withLock { $0.current } }

  /// Starts polling on a background thread; does nothing if already started.
  public func start() {
    let stop = SettingsStopSignal()
    let started = state.withLock { state -> Bool in
      guard state.stop == nil else { return false }
      state.stop = stop
      return true
    }
    guard started else { return }
    let interval =
      TimeInterval(interval.components.seconds)
      + TimeInterval(interval.components.attoseconds) / 1e18
    let thread = Thread { [weak self] in
      while !stop.wait(seconds: interval) {
        guard let self else { return }
        self.poll()
      }
    }
    thread.name = "SettingsWatcher"
    thread.start()
  }

  /// Stops polling; the thread ends promptly. `start()` may be called again.
  public func stop() {
    state.withLock { state in
      state.stop?.signal()
      state.stop = nil
    }
  }

  /// Looks at the file once, as the background thread does every interval.
  public func poll() {
    let signature = SettingsFileSignature(path: path)
    let changed = state.withLock { state -> Bool in
      guard state.signature != signature else { return false }
      state.signature = signature
      return true
    }
    guard changed else { return }
    if signature == nil && !explicitPath {
      // config/engine.yaml removed: keep the settings (an editor may be replacing it).
      onError(SettingsError("\(path): config file not found; keeping the previous settings"))
      return
    }
    do {
      let settings = try Settings.load(
        overrides: overrides, configPath: path, environment: environment)
      let isNew = state.withLock { state -> Bool in
        guard state.current != settings else { return false }
        state.current = settings
        return true
      }
      if isNew { onChange(settings) }
    } catch {
      onError(error)
    }
  }

  /// Writes the error and a newline to stderr.
  public static let printToStandardError: @Sendable (SettingsError) -> Void = { error in
    FileHandle.standardError.write(Data("\(error.description)\n".utf8))
  }
}

/// What the watcher compares between polls.
private struct SettingsFileSignature: Equatable {
  var modified: Date?
  var size: UInt64?
  var inode: UInt64?

  init?(path: String) {
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
      return nil
    }
    modified = attributes[.modificationDate] as? Date
    size = (attributes[.size] as? NSNumber)?.uint64Value
    inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value
  }
}

/// Wakes the watcher thread when stopped.
private final class SettingsStopSignal: Sendable {
  private let stopped = Mutex(false)
  private let semaphore = DispatchSemaphore(value: 0)

  func signal() {
    let first = stopped.withLock { stopped in
      defer { stopped = true }
      return !stopped
    }
    if first { semaphore.signal() }
  }

  /// Waits up to `seconds`; true once stopped.
  func wait(seconds: TimeInterval) -> Bool {
    _ = semaphore.wait(timeout: .now() + seconds)
    return stopped.withLock { $0 }
  }
}
