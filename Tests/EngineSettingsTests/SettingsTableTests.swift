import EngineSettings
import Foundation
import Testing

/// A fresh temporary file holding `contents`; returns its path.
private func temporaryYAML(_ contents: String) throws -> String {
  let path = FileManager.default.temporaryDirectory
    .appendingPathComponent("SettingsTableTests-\(UUID().uuidString).yaml").path
  try contents.write(toFile: path, atomically: false, encoding: .utf8)
  return path
}

@Suite("The settings table")
struct SettingsTableTests {
  @Test("every field of Settings is set by exactly one key")
  func everyFieldHasOneKey() {
    let fields = SettingsTable.entries.map { $0.fieldKeyPath as AnyKeyPath }
    #expect(Set(fields).count == fields.count)
    // Every stored field but the dynamic sections' raw values.
    let stored = Mirror(reflecting: Settings()).children.compactMap(\.label)
      .filter { $0 != "sectionValues" }
    #expect(stored.count == fields.count, "fields: \(stored)")
    #expect(Set(Settings.keys).count == Settings.keys.count)
  }

  @Test("each key's documented default parses back to the field's value in Settings()")
  func defaultsRoundTrip() {
    for entry in SettingsTable.entries {
      var settings = Settings()
      #expect(entry.apply(entry.defaultText, to: &settings), "\(entry.key): \(entry.defaultText)")
      #expect(settings == Settings(), "\(entry.key): \(entry.defaultText)")
    }
  }

  @Test("keys are lower-case words joined by _ and ., and options are unique")
  func names() {
    for key in Settings.keys {
      #expect(key.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" || $0 == "." }, "\(key)")
    }
    let options = SettingsTable.entries.compactMap(\.option)
    #expect(Set(options).count == options.count)
  }

  @Test("a dynamic section collects its keys raw from every source, highest source first")
  func dynamicSection() throws {
    let yaml = """
      cycle_ms: 500
      strategy:
        momentum:
          params:
            rsi_len: 14
          from: 2020
        dump:
          confirm_s: 3
      """
    let path = try temporaryYAML(yaml)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let section = SettingsSection(prefix: "strategy", help: "per-strategy settings")
    let loader = SettingsLoader(
      overrides: ["strategy.momentum.params.rsi_len": " 21 "],
      environment: [
        "STRATEGY_MOMENTUM_FROM": "2024", "STRATEGY_X_TRIGGER": "t", "STRATEGY_": "no",
      ],
      sections: [section])
    let settings = try loader.load(configPath: path)
    #expect(settings.cycleMs == 500)
    #expect(
      settings.sectionValues == [
        "strategy": [
          "STRATEGY_MOMENTUM_PARAMS_RSI_LEN": SettingsRawValue(
            text: "21", origin: "command-line option strategy.momentum.params.rsi_len",
            key: "strategy.momentum.params.rsi_len"),
          "STRATEGY_MOMENTUM_FROM": SettingsRawValue(
            text: "2024", origin: "environment STRATEGY_MOMENTUM_FROM"),
          "STRATEGY_DUMP_CONFIRM_S": SettingsRawValue(
            text: "3", origin: "\(path): strategy.dump.confirm_s", key: "strategy.dump.confirm_s"),
          "STRATEGY_X_TRIGGER": SettingsRawValue(
            text: "t", origin: "environment STRATEGY_X_TRIGGER"),
        ]
      ])
    let value = try #require(settings.sectionValues["strategy"]?["STRATEGY_DUMP_CONFIRM_S"])
    #expect(
      value.error(expected: "a positive number of seconds").description
        == "\(path): strategy.dump.confirm_s: expected a positive number of seconds, got \"3\"")

    // Without the section, a loader rejects those keys as any unknown key.
    let bareTable = SettingsLoader(overrides: [:], environment: [:], sections: [])
    #expect(
      throws: SettingsError(
        "\(path): unknown keys \"strategy.dump.confirm_s\", "
          + "\"strategy.momentum.from\", \"strategy.momentum.params.rsi_len\"")
    ) {
      try bareTable.load(configPath: path)
    }
    #expect(throws: SettingsError("command-line option: unknown key \"strategy.a.from\"")) {
      try SettingsLoader(overrides: ["strategy.a.from": "1"], environment: [:], sections: [])
        .load(configPath: path)
    }
    // The engine's table declares the strategy section.
    #expect(SettingsTable.sections.map(\.prefix) == ["strategy"])
    // The section's prefix alone is not a key of it.
    let bare = try temporaryYAML("strategy: 5\n")
    defer { try? FileManager.default.removeItem(atPath: bare) }
    #expect(throws: SettingsError("\(bare): unknown key \"strategy\"")) {
      try loader.load(configPath: bare)
    }
  }
}
