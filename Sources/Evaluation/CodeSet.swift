import Foundation

/// The strategies and plugins a Lua state runs: what the engine loads at start and what a
/// hot reload swaps in.
public struct CodeSet: Sendable, Equatable {
  /// Strategies, sorted by id in byte order (the diff order).
  public var strategies: [StrategySource]
  /// Plugins, by name (`require(name)` loads `plugins/name.lua`).
  public var plugins: [StrategySource]

  public init(strategies: [StrategySource], plugins: [StrategySource] = []) {
    self.strategies = strategies
    self.plugins = plugins
  }

  /// Reads `strategies/*.lua` and `plugins/*.lua`. A missing plugins directory means no
  /// plugins; a missing strategies directory is an error.
  public static func load(strategies: String, plugins: String) throws(EngineError) -> CodeSet {
    let s = try StrategySource.loadAll(from: strategies)
    var isDirectory: ObjCBool = false
    let p =
      FileManager.default.fileExists(atPath: plugins, isDirectory: &isDirectory)
        && isDirectory.boolValue
      ? try StrategySource.loadAll(from: plugins) : []
    return CodeSet(strategies: s, plugins: p)
  }
}
