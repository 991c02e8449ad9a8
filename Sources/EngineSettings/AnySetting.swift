// What the loader, the command line and the tests read from any entry of the settings table.

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
