import ArgumentParser
import Engine
import Feeds
import Foundation

/// `engine record --feed sim --out FILE`: writes a feed's messages, one per line, exactly as
/// produced, so `engine replay FILE` reproduces the run.
struct RecordCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "record",
    abstract: "Record a feed's messages to a file (JSON Lines) for `engine replay`.",
    discussion: """
      With --feed sim (the only recordable feed in this build) the simulator runs as fast as \
      possible for --steps cycles; the file starts with the warm-up history.
      """)

  @OptionGroup var common: CommonOptions
  @OptionGroup var feedOptions: FeedOptions

  @Option(help: "Output file.")
  var out: String

  @Option(help: "Simulator: cycles to record.")
  var steps = 600

  @Option(help: "Simulator: event time of the first cycle, ms since the epoch (default: now).")
  var start: Int64?

  func validate() throws {
    guard steps >= 0 else { throw ValidationError("--steps must be 0 or more") }
  }

  func run() throws {
    var overrides = common.overrides
    feedOptions.add(to: &overrides)
    let settings = try Session.settings(overrides: overrides, configPath: common.config)
    guard settings.feed == "sim" else {
      throw EngineFailure(
        message: "feed \(settings.feed): only the simulator can be recorded in this build", code: 2)
    }
    let cycleMs = Int64(settings.cycleMs)
    guard FileManager.default.createFile(atPath: out, contents: nil),
      let handle = FileHandle(forWritingAtPath: out)
    else {
      throw EngineFailure(message: "\(out): cannot create the output file")
    }
    defer { try? handle.close() }
    let startTime = start ?? Int64(Date().timeIntervalSince1970 * 1000) / cycleMs * cycleMs
    var simulator = MarketSimulator(
      SimulatorConfig(
        symbols: settings.simSymbols, seed: settings.simSeed, cycleMs: cycleMs, startTime: startTime
      ))
    var buffer = ""
    func flush() throws {
      try handle.write(contentsOf: Data(buffer.utf8))
      buffer.removeAll(keepingCapacity: true)
    }
    for line in simulator.warmup() { buffer += line + "\n" }
    try flush()
    for _ in 0..<steps {
      for line in simulator.nextStep() { buffer += line + "\n" }
      if buffer.utf8.count > 1 << 20 { try flush() }
    }
    try flush()
  }
}
