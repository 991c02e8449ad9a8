import ArgumentParser
import EngineSettings
import Foundation

/// `engine replay FILE`: deterministic, as fast as possible, summary on stderr.
struct ReplayCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "replay",
    abstract: "Replay a recorded file as fast as possible and exit; prints a summary on stderr.",
    discussion: """
      Cycles close on event time only, so the output is the same bytes whatever --workers, \
      --tracking and batch mode. Malformed lines are skipped, counted and reported with their \
      line numbers (--strict stops at the first one).
      """)

  @Argument(help: "A file of Binance messages, one JSON message per line.")
  var file: String

  @OptionGroup var common: CommonOptions

  @Flag(
    help:
      "Print a per-strategy profile on stderr at the end: calls, total ms, ns per call, share of filter time, errors."
  )
  var profile = false

  func run() throws {
    var overrides = common.overrides
    overrides[setting: SettingsTable.feedSource] = "replay:" + file
    overrides[setting: SettingsTable.speed] = "max"
    let settings = try Session.settings(overrides: overrides, configPath: common.config)
    guard FileManager.default.isReadableFile(atPath: file) else {
      throw EngineFailure(message: "\(file): cannot read the replay file")
    }
    try Session.run(
      settings: settings, live: false, summary: true, profile: profile, overrides: overrides,
      configPath: common.config)
  }
}
