import EngineSettings
import Foundation
import Testing

/// The repository's root, found from this file (the test's working directory varies).
private let repositoryRoot = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A row of the README's configuration table: the key, the default and the option (each
/// without its backticks; the option empty when there is none).
private struct Row: Equatable, CustomStringConvertible {
  var key: String
  var defaultText: String
  var option: String

  var description: String {
    "| `\(key)` | `\(defaultText)` | \(option.isEmpty ? "" : "`\(option)`") | … |"
  }
}

/// The README's configuration table, in order.
private func readmeConfigurationRows() throws -> [Row] {
  let readme = try String(
    contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
  var inSection = false
  var rows: [Row] = []
  for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
    if line.hasPrefix("## ") { inSection = line == "## Configuration" }
    guard inSection, line.hasPrefix("| `") else { continue }
    // cells[0] is the nothing before the first "|".
    let cells = line.split(separator: "|", omittingEmptySubsequences: false)
      .map { $0.trimmingCharacters(in: .whitespaces) }
    guard cells.count >= 4 else { continue }
    /// The first `code` span of a cell (an option cell may say more after it).
    func code(_ cell: String) -> String {
      cell.split(separator: "`", omittingEmptySubsequences: false).dropFirst().first.map(
        String.init)
        ?? ""
    }
    rows.append(Row(key: code(cells[1]), defaultText: code(cells[2]), option: code(cells[3])))
  }
  return rows
}

/// The rows the README's configuration table should have: one per key, then one per dynamic
/// section (`strategy.*`, its default empty, no option of its own).
private var expectedRows: [Row] {
  SettingsTable.entries.map {
    Row(
      key: $0.key, defaultText: $0.defaultDocumentation, option: $0.option.map { "--\($0)" } ?? "")
  } + SettingsTable.sections.map { Row(key: "\($0.prefix).*", defaultText: "\"\"", option: "") }
}

/// Runs the built `engine` with `arguments`; its stdout.
private func engineOutput(_ arguments: [String]) throws -> String {
  let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  let candidates = [
    beside, beside.deletingLastPathComponent(),
    repositoryRoot.appendingPathComponent(".build/debug"),
  ].map { $0.appendingPathComponent("engine") }
  let executable = try #require(
    candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) },
    "no engine executable beside the tests")
  let process = Process()
  process.executableURL = executable
  process.arguments = arguments
  let output = Pipe()
  process.standardOutput = output
  try process.run()
  let data = output.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  #expect(process.terminationStatus == 0)
  return String(decoding: data, as: UTF8.self)
}

/// `text` with every run of white space made one space: the help as one line, whatever the
/// width it was wrapped to.
private func oneLine(_ text: String) -> String {
  text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
}

/// The documentation a user reads is held to the settings table: each test fails when a key
/// is added, removed, renamed or given another default in the table and not there too.
@Suite("Documentation follows the settings table")
struct DocumentationDriftTests {
  @Test(
    "the README's configuration table lists exactly the table's keys, in order, with their defaults and options"
  )
  func readmeTable() throws {
    let rows = try readmeConfigurationRows()
    let expected = expectedRows
    #expect(
      rows.map(\.key) == expected.map(\.key),
      """
      README.md, ## Configuration: the rows should be, in this order:
      \(expected.map(\.description).joined(separator: "\n"))
      """)
    for (row, want) in zip(rows, expected) where row.key == want.key {
      #expect(row == want, "README.md, ## Configuration: the row should be \(want)")
    }
  }

  @Test(
    "config/engine.yaml sets exactly the table's keys, each to its default, naming its variable")
  func shippedConfig() throws {
    let path = repositoryRoot.appendingPathComponent("config/engine.yaml").path
    let file = try #require(try SettingsFile.load(configPath: path))
    #expect(file.keys == Settings.keys.sorted())
    let text = try String(contentsOfFile: path, encoding: .utf8)
    for entry in SettingsTable.entries {
      #expect(
        file.value(forKey: entry.key) == .text(entry.defaultText),
        "config/engine.yaml: \(entry.key) should be \(entry.defaultDocumentation)")
      #expect(
        text.contains("Env: \(entry.environmentName)"),
        "config/engine.yaml: the comment of \(entry.key) should say Env: \(entry.environmentName)")
    }
  }

  @Test(
    "engine run --help shows each key's option with the table's help, key and default, and no other"
  )
  func commandLineHelp() throws {
    let help = oneLine(try engineOutput(["run", "--help"]))
    let words = Set(help.split(separator: " ").map(String.init))
    let withOption = SettingsTable.entries.filter { $0.option != nil }
    let lackingOption = withOption.filter { !words.contains("--\($0.option ?? "")") }
    #expect(
      lackingOption.isEmpty,
      "engine run --help lacks \(lackingOption.map { "--\($0.option ?? "") (\($0.key))" })")
    let lackingHelp = withOption.filter { !help.contains(oneLine($0.commandLineHelp)) }
    #expect(
      lackingHelp.isEmpty, "engine run --help lacks the help \(lackingHelp.map(\.commandLineHelp))")
    // Every "[key, default: ...]" in the help is a key the table gives an option.
    let mentioned = help.matches(of: #/\[([a-z0-9_.]+), default: /#).map { String($0.output.1) }
    #expect(mentioned.sorted() == withOption.map(\.key).sorted())
  }
}
