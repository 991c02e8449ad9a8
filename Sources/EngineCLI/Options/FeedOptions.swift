import ArgumentParser
import EngineSettings

/// The feed options, shared by `engine`, `engine record` and `engine bench`.
struct FeedOptions: ParsableArguments {
  private typealias Table = SettingsTable

  @Option(name: .setting(Table.feedSource), help: .setting(Table.feedSource))
  var feed: String?

  @Option(name: .setting(Table.speed), help: .setting(Table.speed))
  var speed: String?

  @Option(name: .setting(Table.simSymbols), help: .setting(Table.simSymbols))
  var symbols: String?

  @Option(name: .setting(Table.simSeed), help: .setting(Table.simSeed))
  var seed: String?

  @Option(name: .setting(Table.binanceWSURL), help: .setting(Table.binanceWSURL))
  var binanceWSURL: String?

  @Option(name: .setting(Table.binanceRESTURL), help: .setting(Table.binanceRESTURL))
  var binanceRESTURL: String?

  @Option(name: .setting(Table.record), help: .setting(Table.record))
  var record: String?

  /// Adds these options' overrides, keyed by setting key path.
  func add(to overrides: inout [String: String]) {
    overrides[setting: Table.feedSource] = feed
    overrides[setting: Table.speed] = speed
    overrides[setting: Table.simSymbols] = symbols
    overrides[setting: Table.simSeed] = seed
    overrides[setting: Table.binanceWSURL] = binanceWSURL
    overrides[setting: Table.binanceRESTURL] = binanceRESTURL
    overrides[setting: Table.record] = record
  }
}
