/// Where a value came from.
package enum SettingsSource: Equatable, Sendable {
  case commandLine, environment
  case file(String)

  /// The prefix of an error line: `config/engine.yaml: cycle_ms`, `environment CYCLE_MS`, ...
  package func label(forKey key: String) -> String {
    switch self {
    case .commandLine: "command-line option \(key)"
    case .environment: "environment \(Settings.environmentVariableName(forKey: key))"
    case .file(let path): "\(path): \(key)"
    }
  }
}
