// Command-line options that override a setting take their name and help from the settings
// table, so the help says which key each one sets and the key's default.

import ArgumentParser
import EngineSettings

extension NameSpecification {
  /// `--<option>`, the long name the settings table gives `setting`'s option (its key, when
  /// the table gives none; the help test then finds an option the table does not list).
  static func setting(_ setting: some AnySetting) -> NameSpecification {
    .customLong(setting.option ?? setting.key)
  }
}

extension ArgumentHelp {
  /// The table's help for `setting`, followed by its key and default.
  static func setting(_ setting: some AnySetting) -> ArgumentHelp {
    ArgumentHelp(setting.commandLineHelp)
  }
}

extension Dictionary where Key == String, Value == String {
  /// The command-line override of `setting`'s key.
  subscript(setting setting: some AnySetting) -> String? {
    get { self[setting.key] }
    set { self[setting.key] = newValue }
  }
}
