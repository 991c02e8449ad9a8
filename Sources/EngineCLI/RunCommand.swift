import ArgumentParser
import Engine
import Feeds
import Foundation
import LuaKit

/// The feed options, shared by `engine` and `engine record`.
struct FeedOptions: ParsableArguments {
  @Option(
    help:
      "Market data: sim (built-in simulator), replay:FILE (recorded file at its pace), binance. [feed.source, default: sim]"
  )
  var feed: String?

  @Option(help: "Replay and simulator pace: a factor of real time, or max. [speed, default: 1]")
  var speed: String?

  @Option(help: "Simulator: number of symbols. [sim.symbols, default: 500]")
  var symbols: String?

  @Option(
    help: "Simulator: random seed (the same seed gives the same market). [sim.seed, default: 42]")
  var seed: String?

  @Option(
    name: .customLong("binance-ws-url"),
    help:
      "Binance WebSocket base URL. [feed.binance.ws_url, default: wss://stream.binance.com:9443]")
  var binanceWSURL: String?

  @Option(
    name: .customLong("binance-rest-url"),
    help:
      "Binance REST base URL (backfill, exchangeInfo). [feed.binance.rest_url, default: https://api.binance.com]"
  )
  var binanceRESTURL: String?

  @Option(
    help: "Live runs: also append every received message to FILE, for `engine replay`. [record]")
  var record: String?

  func add(to overrides: inout [String: String]) {
    overrides["feed.source"] = feed
    overrides["speed"] = speed
    overrides["sim.symbols"] = symbols
    overrides["sim.seed"] = seed
    overrides["feed.binance.ws_url"] = binanceWSURL
    overrides["feed.binance.rest_url"] = binanceRESTURL
    overrides["record"] = record
  }
}

/// `engine [--strategies DIR] [--feed sim|replay:FILE|binance]`: the live engine's options.
struct LiveOptions: ParsableArguments {
  @OptionGroup var common: CommonOptions
  @OptionGroup var feedOptions: FeedOptions

  func run() throws {
    var overrides = common.overrides
    feedOptions.add(to: &overrides)
    let settings = try Session.settings(overrides: overrides, configPath: common.config)
    try Session.run(
      settings: settings, live: true, summary: settings.feed.hasPrefix("replay:"),
      overrides: overrides.compactMapValues { $0 }, configPath: common.config)
  }
}

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

  func run() throws {
    var overrides = common.overrides
    overrides["feed.source"] = "replay:" + file
    overrides["speed"] = "max"
    let settings = try Session.settings(overrides: overrides, configPath: common.config)
    guard FileManager.default.isReadableFile(atPath: file) else {
      throw EngineFailure(message: "\(file): cannot read the replay file")
    }
    try Session.run(
      settings: settings, live: false, summary: true, overrides: overrides.compactMapValues { $0 },
      configPath: common.config)
  }
}
