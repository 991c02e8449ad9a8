// Loading `Settings`: every key of the table from its first source, validated, with the source
// named in any error.

import Foundation

extension Settings {
  /// Resolves the settings: command-line option, then environment variable, then config file,
  /// then the built-in default.
  ///
  /// - Parameters:
  ///   - overrides: command-line values keyed by key path (`"tracking.mode": "all"`).
  ///   - configPath: an explicit `--config` file (must exist), or nil for `config/engine.yaml`
  ///     in the working directory when present, else no file.
  ///   - environment: the environment, usually `ProcessInfo.processInfo.environment`.
  /// - Throws: `SettingsError` with one line naming the source and key of the first problem:
  ///   a bad value, an unknown key in the file or in `overrides`, a missing or unparsable file.
  public static func load(
    overrides: [String: String] = [:],
    configPath: String?,
    environment: [String: String]
  ) throws(SettingsError) -> Settings {
    try SettingsLoader(overrides: overrides, environment: environment).load(configPath: configPath)
  }
}

/// Resolves a table of settings over the three sources.
///
/// Each key is looked up in the command-line overrides, then in the environment under its
/// environment name, then in the file; the first source that has it gives its text, trimmed,
/// which the key's parser turns into its field. Keys resolve in table order, so a parser may
/// read the keys before its own. The file's keys and the overrides' keys must all be in the
/// table or in one of its dynamic sections.
package struct SettingsLoader {
  package let overrides: [String: String]
  package let environment: [String: String]
  package let entries: [any AnySetting]
  package let sections: [SettingsSection]

  /// A loader of `entries` and `sections` (by default the engine's table) from `overrides`
  /// and `environment`.
  package init(
    overrides: [String: String], environment: [String: String],
    entries: [any AnySetting] = SettingsTable.entries,
    sections: [SettingsSection] = SettingsTable.sections
  ) {
    self.overrides = overrides
    self.environment = environment
    self.entries = entries
    self.sections = sections
  }

  /// Whether `key` is a key of the table or lies in one of its dynamic sections.
  package func isKnown(_ key: String) -> Bool {
    entries.contains { $0.key == key } || sections.contains { $0.contains(key) }
  }

  /// Reads the file (see `SettingsFile.load`) and resolves every key.
  package func load(configPath: String?) throws(SettingsError) -> Settings {
    if let unknown = overrides.keys.sorted().first(where: { !isKnown($0) }) {
      throw SettingsError("command-line option: unknown key \(SettingsError.quoted(unknown))")
    }
    let file = try SettingsFile.load(configPath: configPath)
    if let file { try checkKeys(of: file) }
    return try resolve(file: file)
  }

  /// Rejects a file that sets a key the table does not know.
  package func checkKeys(of file: SettingsFile) throws(SettingsError) {
    let unknown = file.keys.filter { !isKnown($0) }.map(SettingsError.quoted)
    switch unknown.count {
    case 0: return
    case 1: throw SettingsError("\(file.path): unknown key \(unknown[0])")
    default: throw SettingsError("\(file.path): unknown keys \(unknown.joined(separator: ", "))")
    }
  }

  /// Every key from its first source, or its default.
  package func resolve(file: SettingsFile?) throws(SettingsError) -> Settings {
    var settings = Settings()
    var sources: [String: SettingsSource] = [:]
    for entry in entries {
      guard let (text, source) = try raw(entry, file: file, resolved: settings) else {
        if let conflict = entry.conflictWhenUnset(in: settings) {
          let label = sources[conflict.key]?.label(forKey: conflict.key) ?? conflict.key
          throw SettingsError("\(label): \(conflict.message)")
        }
        continue
      }
      guard entry.apply(text, to: &settings) else {
        throw SettingsError(
          "\(source.label(forKey: entry.key)): expected \(entry.expected(given: settings)), "
            + "got \(SettingsError.quoted(text))")
      }
      sources[entry.key] = source
    }
    for section in sections {
      let values = try rawValues(of: section, file: file)
      if !values.isEmpty { settings.sectionValues[section.prefix] = values }
    }
    return settings
  }

  /// The trimmed text of `entry`'s key and its source, or nil when no source sets it;
  /// `resolved` holds the keys before it, which the error line's expectation may name.
  private func raw(_ entry: any AnySetting, file: SettingsFile?, resolved: Settings)
    throws(SettingsError) -> (String, SettingsSource)?
  {
    if let text = overrides[entry.key] { return (trimmed(text), .commandLine) }
    if let text = environment[entry.environmentName] { return (trimmed(text), .environment) }
    guard let file else { return nil }
    switch file.value(forKey: entry.key) {
    case .absent: return nil
    case .text(let text): return (trimmed(text), .file(file.path))
    case .list:
      throw SettingsError(
        "\(file.path): \(entry.key): expected \(entry.expected(given: resolved)), got a list")
    }
  }

  /// The text of every key of `section`, keyed by its environment form; a higher source
  /// replaces a lower one's value.
  private func rawValues(of section: SettingsSection, file: SettingsFile?)
    throws(SettingsError) -> [String: SettingsRawValue]
  {
    var values: [String: SettingsRawValue] = [:]
    func add(_ key: String, _ text: String, _ source: SettingsSource) {
      values[Settings.environmentVariableName(forKey: key)] = SettingsRawValue(
        text: trimmed(text), origin: source.label(forKey: key), key: key)
    }
    if let file {
      for key in file.keys where section.contains(key) {
        switch file.value(forKey: key) {
        case .absent: continue
        case .text(let text): add(key, text, .file(file.path))
        case .list: throw SettingsError("\(file.path): \(key): expected one value, got a list")
        }
      }
    }
    for (name, text) in environment where section.containsEnvironmentName(name) {
      values[name] = SettingsRawValue(text: trimmed(text), origin: "environment \(name)")
    }
    for (key, text) in overrides where section.contains(key) { add(key, text, .commandLine) }
    return values
  }

  private func trimmed(_ text: String) -> String {
    text.trimmingCharacters(in: .whitespacesAndNewlines)
  }
}
