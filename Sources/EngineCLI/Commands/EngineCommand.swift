import ArgumentParser
import Foundation
import Support

@main
struct EngineCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "engine",
    abstract: "Runs Lua strategy filters over live market data and prints change-only diffs.",
    discussion: """
      Without a subcommand the engine runs live (default feed: the built-in simulator) until \
      SIGINT/SIGTERM, printing one JSON line per symbol entering or leaving a strategy's match \
      set. Settings resolve in this order: command-line option, environment variable (key path \
      upper-cased, dots as underscores, e.g. TRACKING_MODE), config file, built-in default.
      """,
    subcommands: [
      RunCommand.self, ReplayCommand.self, ScoreCommand.self, CheckCommand.self,
      RecordCommand.self, FetchCommand.self, BenchCommand.self, BusCommand.self,
      IngestCommand.self, ShardCommand.self, MergeCommand.self,
    ],
    // The live run is a default subcommand rather than the root's own options: options of a
    // root command are parsed anywhere on the line, so a subcommand's option of the same name
    // (`engine ingest --strategies DIR`) would never receive its value.
    defaultSubcommand: RunCommand.self
  )

  static func main() {
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      let code = exitCode(for: error)
      if code == .success { exit(withError: error) }
      if let failure = error as? EngineFailure {
        StandardError.line("engine: \(failure.message)")
        Foundation.exit(failure.code)
      }
      StandardError.line("engine: \(message(for: error)) (see 'engine --help')")
      Foundation.exit(code.rawValue)
    }
  }
}

/// `engine [run] [--strategies DIR] [--feed sim|replay:FILE|binance]`: the live engine.
struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Runs the engine live (the default when no subcommand is named).",
    discussion: """
      Runs until SIGINT/SIGTERM (or the end of a replay file), printing one JSON line per \
      symbol entering or leaving a strategy's match set. `engine --strategies DIR` is \
      `engine run --strategies DIR`.
      """)

  @OptionGroup var live: LiveOptions

  func run() throws { try live.run() }
}
