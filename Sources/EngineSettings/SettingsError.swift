/// A setting that could not be loaded: one line naming the source and the key,
/// e.g. `config/engine.yaml: tracking.mode: expected "changed" or "all", got "sometimes"`.
public struct SettingsError: Error, CustomStringConvertible, Sendable, Equatable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

extension SettingsError {
  /// `"abc"`, with quotes and backslashes escaped and control characters shown as escapes,
  /// so that a value quoted in an error keeps the error on one line.
  package static func quoted(_ string: String) -> String {
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
}
