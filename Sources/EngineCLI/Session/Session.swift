import BinanceFeed
import Engine
import EngineServer
import EngineSettings
import Feeds
import Foundation
import Synchronization
import Support

/// One run of the engine, from the settings to the exit: what the commands share.
enum Session {
  /// The settings from `overrides` (command-line values by key path), the environment and the
  /// config file; a bad one stops the command with its one line (exit 2).
  static func settings(overrides: [String: String], configPath: String?) throws -> Settings {
    do {
      return try Settings.load(
        overrides: overrides, configPath: configPath,
        environment: ProcessInfo.processInfo.environment)
    } catch {
      throw EngineFailure(message: error.description, code: 2)
    }
  }

  /// Runs the engine. `overrides`/`configPath` are what the settings came from: a live run
  /// watches the config file and applies a new `tracking.mode` at the next cycle. `diffSink`
  /// replaces the diff writer on stdout (`engine score`); returns the loaded strategies' ids.
  @discardableResult
  static func run(
    settings: Settings, live: Bool, summary printSummary: Bool, profile: Bool = false,
    overrides: [String: String], configPath: String?, diffSink: DiffSink? = nil
  ) throws -> [String] {
    Signals.block()
    let pretty = diffSink == nil && Wiring.isPretty(settings)
    let sink = diffSink ?? Wiring.stdoutSink(pretty: pretty)
    let code = try Wiring.code(for: settings)
    let sources = code.strategies
    if sources.isEmpty {
      StandardError.line("engine: no strategies (*.lua) in \(settings.strategies); running anyway")
    }
    let services = Wiring.services(for: settings)
    let engine = CycleEngine(
      settings: settings, sink: services.map { FanOutSink([sink] + $0.sinks) } ?? sink, live: live)
    do {
      try engine.start(code: code)
    } catch {
      throw EngineFailure(message: error.description, code: 2)
    }
    // Live Binance streams subscribe the kline intervals the loaded strategies declare.
    let intervals = Array(Set(engine.strategyInfos.flatMap(\.timeframes))).sorted()
    let feed = try Wiring.feed(for: settings, live: live, intervals: intervals)
    let showsStatus = StatusLine.isShown(pretty: pretty)
    if showsStatus { StatusLine.attach(to: engine, feed: feed) }
    if let services { try start(services, engine: engine, feed: feed, settings: settings) }
    defer { services?.shutdownBlocking(flush: .seconds(1)) }
    let stopping = Stopping()
    let signals = Signals.install(engine: engine, stopping: stopping)
    let watcher = live ? configWatcher(settings, overrides, configPath, engine: engine) : nil
    watcher?.start()
    // Hot reload (live runs): strategy and plugin edits swap in at a cycle boundary.
    let files: DirectoryWatcher? =
      live
      ? engine.reloadWatcher(strategies: settings.strategies, plugins: settings.plugins) : nil
    files?.start()
    defer {
      files?.stop()
      watcher?.stop()
      for s in signals { s.cancel() }
    }
    if !live || settings.feed.hasPrefix("replay:") {
      StandardError.line(
        "engine: \(sources.count) strategies, \(engine.workerCount) workers, tracking \(settings.trackingMode.rawValue), feed \(settings.feed)"
      )
    } else {
      StandardError.line(
        "engine: \(sources.count) strategies (\(sources.map(\.id).joined(separator: ", "))), \(engine.workerCount) workers, tracking \(settings.trackingMode.rawValue), feed \(settings.feed); Ctrl-C stops"
      )
    }
    let result: RunSummary
    do {
      result = try engine.run(feed: feed)
      stopping.engineReturned()
    } catch {
      stopping.engineReturned()
      if settings.debugUpdates { StandardError.write(engine.ring.dump()) }
      throw EngineFailure(message: error.description, code: 1)
    }
    if showsStatus { StatusLine.finish() }
    if settings.debugUpdates { StandardError.write(engine.ring.dump()) }
    if printSummary { StandardError.write(result.text) }
    if profile { StandardError.write(ProfileTable.text(engine.strategyProfiles)) }
    return engine.strategyInfos.map(\.id)
  }

  /// Attaches the services to `engine` and starts the HTTP server, if any (exit 2 when it
  /// cannot listen).
  private static func start(
    _ services: EngineServices, engine: CycleEngine, feed: Feed, settings: Settings
  ) throws {
    if let binance = feed as? BinanceFeed {
      engine.addCycleObserver { _ in
        services.setFeedReconnects(binance.stats.snapshot().reconnects)
      }
    }
    services.attach(to: engine)
    do {
      if let port = try services.startBlocking() {
        StandardError.line("http: dashboard and metrics on http://\(settings.httpHost):\(port)/")
      }
    } catch {
      throw EngineFailure(message: "http: \(error)", code: 2)
    }
  }

  /// The watcher of the config file for a live run: a new `tracking.mode` applies from the
  /// next cycle, new `strategy.*` settings like an edit of the strategies; any other change is
  /// reported as needing a restart.
  private static func configWatcher(
    _ settings: Settings, _ overrides: [String: String], _ configPath: String?,
    engine: CycleEngine
  ) -> SettingsWatcher {
    let applied = Mutex(settings)
    return SettingsWatcher(
      overrides: overrides, configPath: configPath,
      environment: ProcessInfo.processInfo.environment, initial: settings
    ) { [engine] new in
      let old = applied.withLock { state in
        defer { state = new }
        return state
      }
      var rest = new
      rest.trackingMode = old.trackingMode
      rest.sectionValues = old.sectionValues
      if new.sectionValues["strategy"] != old.sectionValues["strategy"] {
        StandardError.line("config: strategy settings changed; applying them at the next cycle")
        engine.updateStrategySettings(
          new.sectionValues["strategy"] ?? [:], strategies: settings.strategies,
          plugins: settings.plugins)
      }
      if new.trackingMode != engine.trackingMode {
        engine.trackingMode = new.trackingMode
        StandardError.line(
          "config: tracking.mode is now \(new.trackingMode.rawValue) (from the next cycle)")
      }
      if rest != old {
        StandardError.line(
          "config: changed; only tracking.mode and strategy.* apply without a restart")
      }
    }
  }
}
