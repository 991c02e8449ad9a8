import BinanceFeed
import Dispatch
import EngineServer
import Engine
import Feeds
import Foundation
import LuaKit
import Synchronization
import Support
import Evaluation

#if canImport(Glibc)
  import Glibc
#endif

/// Wiring shared by the commands: settings, feed, output, signals, status line, summary.
enum Session {
  static func settings(overrides: [String: String], configPath: String?) throws -> Settings {
    do {
      return try Settings.load(
        overrides: overrides.compactMapValues { $0 }, configPath: configPath,
        environment: ProcessInfo.processInfo.environment)
    } catch {
      throw EngineFailure(message: error.description, code: 2)
    }
  }

  /// The Binance feed's configuration from the settings; `intervals` are the kline
  /// intervals the loaded strategies declare.
  static func binanceConfig(_ settings: Settings, intervals: [String], record: String?)
    -> BinanceFeedConfig
  {
    var config = BinanceFeedConfig(
      symbols: settings.binanceSymbols, quote: settings.binanceQuote,
      maxSymbols: min(settings.binanceMaxSymbols, settings.maxSymbols),
      intervals: intervals.isEmpty ? ["1m"] : intervals,
      ticker: settings.binanceTicker == "mini" ? .mini : .full, wsURL: settings.binanceWSURL,
      restURL: settings.binanceRESTURL, backfillCandles: min(1000, settings.maxCandles),
      recordPath: record)
    config.maxHeldMessages = settings.binanceMaxHeldMessages
    return config
  }

  static func feed(for settings: Settings, live: Bool, intervals: [String] = []) throws -> Feed {
    let record = live && !settings.record.isEmpty ? settings.record : nil
    if settings.feed == "sim" {
      let start =
        Int64(Date().timeIntervalSince1970 * 1000) / Int64(settings.cycleMs)
        * Int64(settings.cycleMs)
      let config = SimulatorConfig(
        symbols: settings.simSymbols, seed: settings.simSeed, cycleMs: Int64(settings.cycleMs),
        startTime: start)
      return SimFeed(config: config, speed: settings.speed, recordPath: record)
    }
    if settings.feed == "binance" {
      let config = binanceConfig(settings, intervals: intervals, record: record)
      if let problem = config.validate() { throw EngineFailure(message: problem, code: 2) }
      return BinanceFeed(config: config)
    }
    if settings.feed.hasPrefix("replay:") {
      let path = String(settings.feed.dropFirst("replay:".count))
      guard FileManager.default.isReadableFile(atPath: path) else {
        throw EngineFailure(message: "feed \(settings.feed): cannot read \(path)", code: 2)
      }
      return ReplayFeed(path: path, speed: live ? settings.speed : nil, strict: settings.strict)
    }
    throw EngineFailure(message: "feed \(settings.feed): unknown feed", code: 2)
  }

  /// Runs the engine. `overrides`/`configPath` are what the settings came from: a live run
  /// watches the config file and applies a new `tracking.mode` at the next cycle.
  static func run(
    settings: Settings, live: Bool, summary printSummary: Bool, overrides: [String: String],
    configPath: String?
  ) throws {
    blockSignals()
    let stdoutIsTerminal = isatty(1) == 1
    let pretty = settings.output == .pretty || (settings.output == .auto && stdoutIsTerminal)
    let sink: DiffSink = pretty ? PrettyWriter(colour: stdoutIsTerminal) : JSONLinesWriter()
    let code: CodeSet
    do {
      code = try CodeSet.load(strategies: settings.strategies, plugins: settings.plugins)
    } catch {
      throw EngineFailure(message: error.description, code: 2)
    }
    let sources = code.strategies
    if sources.isEmpty {
      StandardError.line("engine: no strategies (*.lua) in \(settings.strategies); running anyway")
    }
    let services: EngineServices? =
      (settings.httpPort != nil || !settings.webhookURLs.isEmpty)
      ? EngineServices(
        http: settings.httpPort.map { HTTPServerOptions(host: settings.httpHost, port: $0) },
        webhooks: settings.webhookURLs.map {
          WebhookOptions(
            url: $0, secret: settings.webhookSecret, queueCapacity: settings.webhookQueueCapacity,
            timeoutMs: settings.webhookTimeoutMs, backoffMs: settings.webhookBackoffMs,
            backoffMaxMs: settings.webhookBackoffMaxMs)
        }) : nil
    let engine = CycleEngine(
      settings: settings, sink: services.map { FanOutSink([sink] + $0.sinks) } ?? sink, live: live)
    do {
      try engine.start(code: code)
    } catch {
      throw EngineFailure(message: error.description, code: 2)
    }
    // Live Binance streams subscribe the kline intervals the loaded strategies declare.
    let intervals = Array(Set(engine.strategyInfos.flatMap(\.timeframes))).sorted()
    let feed = try self.feed(for: settings, live: live, intervals: intervals)
    if pretty, isatty(2) == 1 {
      engine.addCycleObserver { status in
        let t = status.totals
        let efficiency = (t.skippedShare * 1000).rounded() / 10
        var feedStatus = ""
        if let binance = feed as? BinanceFeed {
          let f = binance.stats.snapshot()
          feedStatus =
            " | feed \(f.messages) msgs, \(f.connections.count) conns, \(f.reconnects) reconnects"
        }
        StandardError.write(
          "\r\u{1B}[K\u{1B}[2mcycle \(t.cycles) | changed \(status.changedSymbols)/\(status.knownSymbols) | evaluated \(status.evaluatedSymbols)\(status.batchMode ? " (batch)" : "") | filter calls \(t.filterCalls) | efficiency \(efficiency)% skipped | diffs \(t.diffs)\(feedStatus)\u{1B}[0m"
        )
      }
    }
    if let services {
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
    defer { services?.shutdownBlocking(flush: .seconds(1)) }
    let stopping = Stopping()
    let signals = installSignalHandlers(engine: engine, stopping: stopping)
    let watcher: SettingsWatcher? =
      live
      ? SettingsWatcher(
        overrides: overrides.compactMapValues { $0 }, configPath: configPath,
        environment: ProcessInfo.processInfo.environment, initial: settings
      ) { [engine] new in
        if new.trackingMode != engine.trackingMode {
          engine.trackingMode = new.trackingMode
          StandardError.line(
            "config: tracking.mode is now \(new.trackingMode.rawValue) (from the next cycle)")
        } else {
          StandardError.line("config: changed; only tracking.mode applies without a restart")
        }
      } : nil
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
    if pretty, isatty(2) == 1 { StandardError.write("\n") }
    if settings.debugUpdates { StandardError.write(engine.ring.dump()) }
    if printSummary { StandardError.write(result.text) }
  }

  /// Blocks SIGINT, SIGTERM and SIGUSR1 in the calling thread, and so in every thread it
  /// starts afterwards; call it before starting any. On Linux the dispatch signal sources
  /// read these signals through a `signalfd` (which sees a signal only while it is pending)
  /// and install a no-op handler for them without blocking them (`strace`: `rt_sigaction`
  /// then `signalfd4`, no `rt_sigprocmask`), so a thread that does not block a signal may
  /// take it first and the stop request would be lost. No loss was observed in tests; this
  /// closes the race rather than fixing a seen failure.
  static func blockSignals() {
    var set = sigset_t()
    sigemptyset(&set)
    for sig in [SIGINT, SIGTERM, SIGUSR1] { sigaddset(&set, sig) }
    pthread_sigmask(SIG_BLOCK, &set, nil)
  }

  /// SIGINT/SIGTERM stop the engine cleanly (exit 0) within ``stopDeadline`` seconds,
  /// whatever a worker is doing (see ``Stopping``); SIGUSR1 prints the update ring.
  static func installSignalHandlers(engine: CycleEngine, stopping: Stopping)
    -> [DispatchSourceSignal]
  {
    var sources: [DispatchSourceSignal] = []
    for sig in [SIGINT, SIGTERM] {
      signal(sig, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
      source.setEventHandler { stopping.request(engine: engine) }
      source.resume()
      sources.append(source)
    }
    signal(SIGUSR1, SIG_IGN)
    let usr1 = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: .global())
    usr1.setEventHandler {
      StandardError.write(
        engine.ring.isEnabled
          ? engine.ring.dump() : "update ring is off (start with --debug-updates)\n")
    }
    usr1.resume()
    sources.append(usr1)
    return sources
  }
}

/// A stop request that always ends the process in time. The engine stops at the end of the
/// cycle in progress; a filter call still running after ``interruptAfter`` seconds is stopped
/// at its next Lua instruction (that cycle is then not reported); and if the engine has not
/// returned after ``deadline`` seconds (a worker stuck inside a C function, which no hook
/// reaches), the process prints which strategy and symbol each busy worker is running and
/// exits with status 1. A second signal does the same at once.
final class Stopping: Sendable {
  static let interruptAfter = 0.5
  static let deadline = 1.5
  private let requests = Atomic<Int>(0)
  private let returned = Atomic<Bool>(false)

  func request(engine: CycleEngine) {
    let n = requests.add(1, ordering: .acquiringAndReleasing).newValue
    engine.requestStop()
    if n > 1 {
      exitNow(engine: engine, why: "a second stop request")
      return
    }
    DispatchQueue.global().asyncAfter(deadline: .now() + Self.interruptAfter) { [self] in
      if !returned.load(ordering: .acquiring) { engine.interruptRunningCalls() }
    }
    DispatchQueue.global().asyncAfter(deadline: .now() + Self.deadline) { [self] in
      if !returned.load(ordering: .acquiring) {
        exitNow(engine: engine, why: "no return within \(Self.deadline) s")
      }
    }
  }

  /// The engine's run returned: the rest of the shutdown is the process's own.
  func engineReturned() { returned.store(true, ordering: .releasing) }

  private func exitNow(engine: CycleEngine, why: String) {
    let busy = engine.runningCalls()
    var lines = "engine: stopping (\(why)): "
    if busy.isEmpty {
      lines += "the engine did not finish its cycle; exiting\n"
    } else {
      lines += "\(busy.count) worker\(busy.count == 1 ? "" : "s") did not come back; exiting\n"
      for call in busy {
        lines +=
          "engine: worker \(call.worker) is running strategy \(call.strategy) on \(call.symbol) "
          + "(for \((call.seconds * 10).rounded() / 10) s)\n"
      }
    }
    StandardError.write(lines)
    _exit(1)
  }
}
