// One entry of the settings table, and what the rest of the package reads from any entry.

/// An entry of the settings table, whatever the type of its value: what the loader, the
/// command line and the documentation tests need from it.
package protocol AnySetting: Sendable {
  /// The key path: `tracking.mode`.
  var key: String { get }
  /// The default as a config file writes it (`changed`, `1000`; empty for an empty value).
  var defaultText: String { get }
  /// One sentence on what the setting does, for the command line's help.
  var help: String { get }
  /// The long name of the command-line option that sets it (`tracking` for `--tracking`),
  /// or nil when only the environment and the config file set it.
  var option: String? { get }
  /// The `Settings` field it sets.
  var fieldKeyPath: PartialKeyPath<Settings> { get }

  /// Parses `text` into its field of `settings`; false, leaving `settings` as it was, when
  /// `text` is not a valid value.
  func apply(_ text: String, to settings: inout Settings) -> Bool
  /// What a valid value looks like, given the keys resolved before this one: the middle of
  /// the error line `<source> <key>: expected <this>, got "<text>"`.
  func expected(given settings: Settings) -> String
  /// The conflict that leaving this key at its default causes with the keys resolved
  /// before it, if any.
  func conflictWhenUnset(in settings: Settings) -> SettingConflict?
}

extension AnySetting {
  /// The environment variable read for this key (`TRACKING_MODE`).
  package var environmentName: String { Settings.environmentVariableName(forKey: key) }

  /// The default as the documentation shows it: `""` for an empty value.
  package var defaultDocumentation: String { defaultText.isEmpty ? "\"\"" : defaultText }

  /// The text of the command-line option's help: the sentence, then the key and its default,
  /// so `engine --help` says which setting each option overrides.
  package var commandLineHelp: String {
    "\(help) [\(key), default: \(defaultDocumentation)]"
  }
}

/// A key left at its default that contradicts another key's value: reported as a bad value
/// of that other key, whose source is named.
package struct SettingConflict: Sendable, Equatable {
  /// The key whose value the default contradicts; it comes before the unset key in the table.
  package var key: String
  /// The rest of the error line after `<source> <key>: `.
  package var message: String

  package init(key: String, message: String) {
    self.key = key
    self.message = message
  }
}

/// One setting: its key path, its default, how text becomes a value, its help, and the field
/// of `Settings` it sets. `SettingsTable` lists them.
package struct Setting<Value: Sendable>: AnySetting {
  package let key: String
  /// The `Settings` field the value goes to.
  package let field: WritableKeyPath<Settings, Value> & Sendable
  /// The built-in default; the field's initial value in `Settings()`.
  package let defaultValue: Value
  /// How text becomes a value, and a value text.
  package let parser: SettingParser<Value>
  package let option: String?
  package let help: String
  private let unsetRule: (@Sendable (Settings) -> SettingConflict?)?

  /// - Parameters:
  ///   - key: the key path, lower-case words joined by `_`, sections by `.`.
  ///   - field: the `Settings` field the value goes to.
  ///   - defaultValue: the built-in default.
  ///   - parser: how text from any source becomes a value.
  ///   - option: the command-line option's long name, if there is one.
  ///   - help: one sentence for the option's help.
  ///   - whenUnset: a check run when no source sets the key, for a default that can
  ///     contradict a key resolved before it.
  package init(
    _ key: String, _ field: WritableKeyPath<Settings, Value> & Sendable,
    default defaultValue: Value,
    _ parser: SettingParser<Value>, option: String? = nil, help: String,
    whenUnset: (@Sendable (Settings) -> SettingConflict?)? = nil
  ) {
    self.key = key
    self.field = field
    self.defaultValue = defaultValue
    self.parser = parser
    self.option = option
    self.help = help
    self.unsetRule = whenUnset
  }

  package var defaultText: String { parser.format(defaultValue) }
  package var fieldKeyPath: PartialKeyPath<Settings> { field }

  package func apply(_ text: String, to settings: inout Settings) -> Bool {
    guard let value = parser.parse(text, settings) else { return false }
    settings[keyPath: field] = value
    return true
  }

  package func expected(given settings: Settings) -> String { parser.expected(settings) }

  package func conflictWhenUnset(in settings: Settings) -> SettingConflict? {
    unsetRule?(settings)
  }
}
