import ArgumentParser
import BinanceFeed
import Engine
import EngineSettings
import Evaluation
import Feeds
import Foundation
import Support

/// `engine record --feed sim --out FILE`: writes a feed's messages, one per line, exactly as
/// produced, so `engine replay FILE` reproduces the run.
struct RecordCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "record",
    abstract: "Record a feed's messages to a file (JSON Lines) for `engine replay`.",
    discussion: """
      With --feed sim the simulator runs as fast as possible for --steps cycles; the file \
      starts with the warm-up history. With --feed binance the live streams (and the \
      klines backfill, as kline messages) are recorded until Ctrl-C, for the kline intervals \
      the strategies declare.
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
    if settings.feed == "binance" {
      try recordBinance(settings)
      return
    }
    guard settings.feed == "sim" else {
      throw EngineFailure(
        message: "feed \(settings.feed): record takes --feed sim or --feed binance", code: 2)
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

  /// Records Binance's streams (for the intervals the strategies declare) until Ctrl-C.
  private func recordBinance(_ settings: Settings) throws {
    let code = try Wiring.code(for: settings)
    let intervals = StrategyChecker.timeframes(of: code)
    guard FileManager.default.createFile(atPath: out, contents: nil) else {
      throw EngineFailure(message: "\(out): cannot create the output file")
    }
    let config = Wiring.binanceConfig(settings, intervals: intervals, record: out)
    if let problem = config.validate() { throw EngineFailure(message: problem, code: 2) }
    Signals.block()
    let feed = BinanceFeed(config: config)
    let queue = FeedQueue()
    let stop = StopFlag()
    let sources = Signals.onStop { stop.raise() }
    defer { for s in sources { s.cancel() } }
    let thread = Thread { feed.run(into: queue, stop: stop) }
    thread.start()
    StandardError.line(
      "record: Binance \(config.symbols.isEmpty ? "quote \(config.quote ?? "")" : config.symbols.joined(separator: ","))"
        + ", intervals \(config.intervals.joined(separator: ",")) -> \(out); Ctrl-C stops")
    var messages = 0
    while !stop.isRaised {
      guard let message = queue.pop(timeoutMs: 200) else { continue }
      switch message {
      case .batch(let b), .cycle(_, let b): messages += b.lines
      case .failed(let why): throw EngineFailure(message: why)
      case .end: stop.raise()
      }
    }
    StandardError.line("record: \(messages) messages written to \(out)")
  }
}
