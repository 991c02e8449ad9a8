// Dynamic sections of the settings table: subtrees of keys named at run time.

/// A subtree of keys whose names the table cannot list, such as `strategy.<id>.params.<name>`
/// (see `SettingsTable.sections`).
///
/// The loader accepts every key under `prefix.` from the config file and the command line, and
/// every environment variable whose name starts with the prefix's environment form and an
/// underscore (`STRATEGY_`). It keeps their text unparsed in `Settings.sectionValues[prefix]`,
/// keyed by the environment form of the key, which all three sources share (an environment
/// name cannot be turned back into a key path: `STRATEGY_A_B` may be `strategy.a_b` or
/// `strategy.a.b`). Precedence is as for any key: command line, then environment, then file.
package struct SettingsSection: Sendable {
  /// The first component of every key of the section: `strategy`.
  package let prefix: String
  /// What the section configures, for the documentation.
  package let help: String

  package init(prefix: String, help: String) {
    self.prefix = prefix
    self.help = help
  }

  /// Whether `key` lies in this section.
  package func contains(_ key: String) -> Bool {
    key.hasPrefix(prefix + ".") && key.count > prefix.count + 1
  }

  /// Whether the environment variable `name` belongs to this section.
  package func containsEnvironmentName(_ name: String) -> Bool {
    let head = Settings.environmentVariableName(forKey: prefix) + "_"
    return name.hasPrefix(head) && name.count > head.count
  }
}
