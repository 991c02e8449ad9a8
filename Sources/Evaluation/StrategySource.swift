import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A strategy to load: the text of a file (`DIR/NAME.lua`, id `NAME`), and its settings from
/// outside the file. An instance (`strategy.<id>.from: <file id>`) is the same file's text
/// under another id, with settings of its own.
public struct StrategySource: Sendable, Equatable {
  public var id: String
  public var path: String
  public var source: String
  public var config: StrategyConfig

  public init(id: String, path: String, source: String, config: StrategyConfig = StrategyConfig()) {
    self.id = id
    self.path = path
    self.source = source
    self.config = config
  }

  /// Every `*.lua` file of `directory`, sorted by id in byte order (the diff order).
  public static func loadAll(from directory: String) throws(EngineError) -> [StrategySource] {
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: directory)
    } catch {
      throw EngineError("\(directory): cannot read the strategies directory")
    }
    var result: [StrategySource] = []
    for name in names where name.hasSuffix(".lua") && !name.hasPrefix(".") {
      let id = String(name.dropLast(4))
      let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
      guard let data = FileManager.default.contents(atPath: path) else {
        throw EngineError("\(path): cannot read file")
      }
      result.append(
        StrategySource(id: id, path: path, source: String(decoding: data, as: UTF8.self)))
    }
    result.sort { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
    return result
  }
}
