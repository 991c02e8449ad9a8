import ArgumentParser
import EngineSettings

/// Options shared by `engine`, `engine replay`, `engine check`, `engine record` and
/// `engine bench`. Each one but `--config` overrides the setting of its key (which wins over
/// the environment variable, the config file and the default).
struct CommonOptions: ParsableArguments {
  private typealias Table = SettingsTable

  @Option(name: .setting(Table.strategies), help: .setting(Table.strategies))
  var strategies: String?

  @Option(name: .setting(Table.workers), help: .setting(Table.workers))
  var workers: String?

  @Option(name: .setting(Table.trackingMode), help: .setting(Table.trackingMode))
  var tracking: String?

  @Option(name: .setting(Table.cycleMs), help: .setting(Table.cycleMs))
  var cycleMs: String?

  @Option(name: .setting(Table.cycleGraceMs), help: .setting(Table.cycleGraceMs))
  var cycleGraceMs: String?

  @Option(name: .setting(Table.minUpdateIntervalMs), help: .setting(Table.minUpdateIntervalMs))
  var minUpdateIntervalMs: String?

  @Option(name: .setting(Table.batchThreshold), help: .setting(Table.batchThreshold))
  var batchThreshold: String?

  @Option(name: .setting(Table.batchSize), help: .setting(Table.batchSize))
  var batchSize: String?

  @Option(name: .setting(Table.maxSymbols), help: .setting(Table.maxSymbols))
  var maxSymbols: String?

  @Option(name: .setting(Table.maxCandles), help: .setting(Table.maxCandles))
  var maxCandles: String?

  @Option(
    help: "Config file (YAML). [default: \(Settings.defaultConfigPath) when present]")
  var config: String?

  @Option(name: .setting(Table.plugins), help: .setting(Table.plugins))
  var plugins: String?

  @Option(name: .setting(Table.output), help: .setting(Table.output))
  var output: String?

  @Flag(name: .setting(Table.debugUpdates), help: .setting(Table.debugUpdates))
  var debugUpdates = false

  @Flag(name: .setting(Table.strict), help: .setting(Table.strict))
  var strict = false

  @Option(name: .setting(Table.httpPort), help: .setting(Table.httpPort))
  var httpPort: String?

  @Option(name: .setting(Table.webhookURLs), help: .setting(Table.webhookURLs))
  var webhooks: [String] = []

  @Option(
    name: .customLong("param"),
    help: ArgumentHelp(
      "Overrides a strategy's param: ID.NAME=VALUE (repeatable). [strategy.ID.params.NAME]",
      valueName: "id.name=value"))
  var params: [String] = []

  mutating func validate() throws {
    for p in params where Self.param(p) == nil {
      throw ValidationError("--param \(p): expected ID.NAME=VALUE, like momentum.threshold=5")
    }
  }

  /// `ID.NAME=VALUE` as (`strategy.ID.params.NAME`, VALUE); the id may hold dots, the name not.
  static func param(_ text: String) -> (key: String, value: String)? {
    guard let eq = text.firstIndex(of: "=") else { return nil }
    let path = text[..<eq]
    guard let dot = path.lastIndex(of: "."), dot != path.startIndex else { return nil }
    let id = path[..<dot]
    let name = path[path.index(after: dot)...]
    guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
      return nil
    }
    return ("strategy.\(id).params.\(name)", String(text[text.index(after: eq)...]))
  }

  /// The command-line overrides, keyed by setting key path.
  var overrides: [String: String] {
    var o: [String: String] = [:]
    for p in params {
      if let (key, value) = Self.param(p) { o[key] = value }
    }
    o[setting: Table.strategies] = strategies
    o[setting: Table.workers] = workers
    o[setting: Table.trackingMode] = tracking
    o[setting: Table.cycleMs] = cycleMs
    o[setting: Table.cycleGraceMs] = cycleGraceMs
    o[setting: Table.minUpdateIntervalMs] = minUpdateIntervalMs
    o[setting: Table.batchThreshold] = batchThreshold
    o[setting: Table.batchSize] = batchSize
    o[setting: Table.maxSymbols] = maxSymbols
    o[setting: Table.maxCandles] = maxCandles
    o[setting: Table.plugins] = plugins
    o[setting: Table.output] = output
    if debugUpdates { o[setting: Table.debugUpdates] = "true" }
    if strict { o[setting: Table.strict] = "true" }
    o[setting: Table.httpPort] = httpPort
    if !webhooks.isEmpty { o[setting: Table.webhookURLs] = webhooks.joined(separator: ",") }
    return o
  }
}
