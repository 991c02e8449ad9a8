// The YAML config file: parsed by swift-configuration's `YAMLSnapshot`, with every key listed.

import Configuration
import Foundation
import Synchronization

/// A parsed config file: its leaf keys and their values.
///
/// Nested mappings and dotted keys are the same key (`tracking: {mode: all}` and
/// `tracking.mode: all` are both `tracking.mode`), as `YAMLSnapshot` flattens them.
package struct SettingsFile: Sendable {
  /// The file's path, as given: the prefix of its error lines.
  package let path: String
  /// Every leaf key the file sets, sorted.
  package let keys: [String]
  /// The parsed file; nil when it sets nothing (empty, or only comments).
  private let snapshot: YAMLSnapshot?

  /// What the file holds at one key.
  package enum Value: Equatable {
    case absent
    case text(String)
    /// A YAML sequence, which no setting takes.
    case list
  }

  /// Reads `configPath` (which must exist), or `Settings.defaultConfigPath` when present;
  /// nil when there is no file to read.
  package static func load(configPath: String?) throws(SettingsError) -> SettingsFile? {
    let path = configPath ?? Settings.defaultConfigPath
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      if configPath == nil { return nil }
      throw SettingsError("\(path): config file not found")
    }
    guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
      throw SettingsError("\(path): cannot read the config file")
    }
    return try parse(data, path: path)
  }

  /// Parses `data` as the file at `path`.
  package static func parse(_ data: Data, path: String) throws(SettingsError) -> SettingsFile {
    // YAMLSnapshot rejects a document with no mapping; an empty or all-comment file sets nothing.
    guard !isBlank(data) else { return SettingsFile(path: path, keys: [], snapshot: nil) }
    // YAMLSnapshot has no API listing its keys, but it asks its secrets specifier about every
    // leaf value it stores, by its flattened key: that question is the list.
    let seen = Mutex<[String]>([])
    let listing = SecretsSpecifier<String, Void>.dynamic { key, _ in
      seen.withLock { $0.append(key) }
      return false
    }
    let snapshot: YAMLSnapshot
    do {
      snapshot = try YAMLSnapshot(
        data: data.bytes, providerName: path,
        parsingOptions: .init(secretsSpecifier: listing))
    } catch {
      throw SettingsError("\(path): invalid YAML\(yamlErrorLine(String(describing: error)))")
    }
    let keys = Array(Set(seen.withLock { $0 })).sorted()
    return SettingsFile(path: path, keys: keys, snapshot: snapshot)
  }

  /// The value at `key` (a dotted key path).
  package func value(forKey key: String) -> Value {
    guard let snapshot else { return .absent }
    let components = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    do {
      let lookup = try snapshot.value(forKey: AbsoluteConfigKey(components), type: .string)
      guard case .string(let text) = lookup.value?.content else { return .absent }
      return .text(text)
    } catch {
      // The one way a string lookup fails: the value is a sequence.
      return .list
    }
  }

  private static func isBlank(_ data: Data) -> Bool {
    String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).allSatisfy { line in
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      return trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed == "---" || trimmed == "..."
    }
  }

  /// Yams' errors read "2:1: error: parser: while parsing ...\ndid not find ...:\n<line>\n  ^";
  /// this makes ` at line 2, column 1: parser: while parsing ...; did not find ...` of them.
  static func yamlErrorLine(_ message: String) -> String {
    var lines = message.split(whereSeparator: \.isNewline).map(String.init)
    if lines.count >= 3, lines.last?.trimmingCharacters(in: .whitespaces) == "^" {
      lines.removeLast(2)  // the quoted source line and the caret under it
    }
    var text = lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
      .joined(separator: "; ")
    while text.hasSuffix(":") || text.hasSuffix(".") { text.removeLast() }
    let parts = text.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
    if parts.count == 4, let line = Int(parts[0]), let column = Int(parts[1]),
      parts[2].trimmingCharacters(in: .whitespaces) == "error"
    {
      return " at line \(line), column \(column):\(parts[3])"
    }
    return ": " + (text.isEmpty ? "unknown error" : text)
  }
}
