/// The text of a key of a dynamic section, not yet parsed, and where it came from.
public struct SettingsRawValue: Sendable, Equatable {
  /// The text, trimmed of surrounding white space.
  public var text: String
  /// The source and key as an error line names them: `config/engine.yaml: strategy.a.from`,
  /// `environment STRATEGY_A_FROM`, `command-line option strategy.a.from`.
  public var origin: String
  /// The key path, when the source gave one (the file and the command line do; the
  /// environment gives only its upper-cased form).
  public var key: String?

  public init(text: String, origin: String, key: String? = nil) {
    self.text = text
    self.origin = origin
    self.key = key
  }

  /// The error for this value when it is not what `expected` describes: one line, in the
  /// form every setting uses.
  public func error(expected: String) -> SettingsError {
    SettingsError("\(origin): expected \(expected), got \(SettingsError.quoted(text))")
  }
}
