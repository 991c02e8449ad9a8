// One entry of the settings table.

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
