import Foundation

/// Strategy directories for bench runs, and the repository's plugins.
enum BenchFixtures {
  static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  static var plugins: String { repositoryRoot.appendingPathComponent("Plugins").path }

  /// A new temporary directory holding `sources` as `<name>.lua`.
  static func strategies(_ sources: [String: String]) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "engine-bench-tests-strategies-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for (name, source) in sources {
      _ = FileManager.default.createFile(
        atPath: dir.appendingPathComponent(name + ".lua").path, contents: Data(source.utf8))
    }
    return dir.path
  }
}
