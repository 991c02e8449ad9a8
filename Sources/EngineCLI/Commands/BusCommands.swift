import ArgumentParser
import Cluster
import Engine
import EngineServer
import EngineSettings
import Evaluation
import Feeds
import Foundation
import NatsKit
import Support

#if canImport(Glibc)
  import Glibc
#endif

/// The broker every bus role talks to.
struct BusOptions: ParsableArguments {
  @Option(help: "The NATS server (with JetStream) the bus lives on.")
  var nats = "nats://127.0.0.1:4222"
}

/// `engine bus init`: the streams and the partition count.
struct BusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bus",
    abstract: "Sets up the NATS JetStream bus that ingest, shard and merge share.",
    subcommands: [BusInitCommand.self, BusTailCommand.self])
}

struct BusInitCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "init",
    abstract: "Creates the bus's streams and fixes its partition count (idempotent).",
    discussion: """
      Symbols are spread over the partitions by a hash of their name; a shard owns the \
      partitions p with p mod n = i. Choose at least as many partitions as the most shards \
      you will run: the count cannot change on an existing bus.
      """)

  @OptionGroup var bus: BusOptions

  @Option(help: "Partitions (1...1024).")
  var partitions = 16

  @Option(
    help:
      "Seconds a shard's partition lease lasts unless renewed (a restarted shard waits at most this long)."
  )
  var leaseSeconds = 3.0

  func validate() throws {
    guard (1...1024).contains(partitions) else {
      throw ValidationError("--partitions \(partitions): expected 1...1024")
    }
    guard leaseSeconds >= 0.5, leaseSeconds <= 600 else {
      throw ValidationError("--lease-seconds \(leaseSeconds): expected 0.5...600")
    }
  }

  func run() throws {
    do {
      StandardError.line(
        try Bus.initialize(
          url: bus.nats, config: BusConfig(partitions: partitions, leaseSeconds: leaseSeconds)))
    } catch {
      throw EngineFailure(message: error.description, code: error.code)
    }
  }
}

/// `engine bus tail`: the merged diff lines on the output stream, optionally filtered.
struct BusTailCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tail",
    abstract: "Prints the merged diff lines stored on the output stream, in order.",
    discussion: """
      Each line is one message on out.<strategy>.<symbol> (names escaped to one subject \
      token: bytes other than A-Z a-z 0-9 _ - become =XX), so --strategy and --symbol read \
      only the matching subjects, as any JetStream consumer with that filter would.
      """)

  @OptionGroup var bus: BusOptions

  @Option(help: "Only this strategy's lines.")
  var strategy: String?

  @Option(help: "Only this symbol's lines.")
  var symbol: String?

  @Flag(help: "Keep waiting for new lines (until Ctrl-C) instead of stopping at the last one.")
  var follow = false

  func run() throws {
    Signals.block()
    let bus = try BusRole.connect(bus.nats, role: "tail")
    defer { bus.close() }
    let subject = BusLayout.outputSubject(strategy: strategy ?? "", symbol: symbol ?? "")
      .split(separator: ".").enumerated().map { i, token in
        i == 1 && strategy == nil || i == 2 && symbol == nil ? "*" : String(token)
      }.joined(separator: ".")
    let stop = StopFlag()
    let signals = Signals.onStop { stop.raise() }
    defer { for s in signals { s.cancel() } }
    try BusRole.run { () throws(BusFailure) in
      try OutputTail(bus: bus, subject: subject).run(follow: follow, stop: stop) { line in
        FileHandle.standardOutput.write(Data(line + [10]))
      }
    }
  }
}

/// `engine ingest`: the feed, cut into cycles, onto the bus.
struct IngestCommand: ParsableCommand {
  private typealias Table = SettingsTable
  static let configuration = CommandConfiguration(
    commandName: "ingest",
    abstract: "Reads a feed, closes its cycles and publishes each cycle per partition on the bus.",
    discussion: """
      The one process that owns the cycle clock (run one per feed). With --strategies it also \
      publishes the strategy and plugin files and republishes them when they are saved; every \
      shard then loads a new version at the same cycle. At the end of a replay file it marks \
      the end on every partition; shards and the merger then finish and exit 0.
      """)

  @OptionGroup var bus: BusOptions
  @OptionGroup var feedOptions: FeedOptions

  @Option(name: .setting(Table.cycleMs), help: .setting(Table.cycleMs))
  var cycleMs: String?

  @Option(name: .setting(Table.cycleGraceMs), help: .setting(Table.cycleGraceMs))
  var cycleGraceMs: String?

  @Option(help: "Strategies directory to publish to the shards, and to watch for saves.")
  var strategies: String?

  @Option(name: .setting(Table.plugins), help: .setting(Table.plugins))
  var plugins: String?

  @Option(help: "Kline intervals to subscribe on a live Binance feed, comma-separated.")
  var intervals = "1m"

  @Flag(name: .setting(Table.strict), help: .setting(Table.strict))
  var strict = false

  @Option(name: .setting(Table.httpPort), help: "Serve /metrics on this port.")
  var httpPort: String?

  @Option(help: "Config file (YAML). [default: \(Settings.defaultConfigPath) when present]")
  var config: String?

  func run() throws {
    Signals.block()
    var overrides: [String: String] = [:]
    feedOptions.add(to: &overrides)
    overrides[setting: Table.cycleMs] = cycleMs
    overrides[setting: Table.cycleGraceMs] = cycleGraceMs
    overrides[setting: Table.plugins] = plugins
    overrides[setting: Table.httpPort] = httpPort
    overrides[setting: Table.strategies] = strategies
    if strict { overrides[setting: Table.strict] = "true" }
    let settings = try Session.settings(overrides: overrides, configPath: config)
    let live = !(settings.feed.hasPrefix("replay:") && settings.speed == nil)
    let feed = try Wiring.feed(
      for: settings, live: live,
      intervals: intervals.split(separator: ",").map {
        String($0.trimmingCharacters(in: .whitespaces))
      })
    let bus = try BusRole.connect(bus.nats, role: "ingest")
    defer { bus.close() }
    let ingest = Ingest(
      bus: bus, feed: feed, cycleMs: settings.cycleMs, cycleGraceMs: settings.cycleGraceMs,
      live: live,
      codeDirectories: strategies == nil ? nil : (settings.strategies, settings.plugins))
    let stop = StopFlag()
    let signals = Signals.onStop { stop.raise() }
    defer { for s in signals { s.cancel() } }
    let metrics = try BusRole.serveMetrics(settings) { m in
      if let c = ingest.progress.withLock({ $0.lastCycle }) {
        m.setGauge("engine_bus_last_cycle", help: "The last cycle published.", to: c)
      }
    }
    defer { metrics?.shutdownBlocking(flush: .seconds(1)) }
    StandardError.line(
      "ingest: feed \(settings.feed) -> \(self.bus.nats) (\(bus.config.partitions) partitions, cycles of \(settings.cycleMs) ms)"
    )
    try BusRole.run { () throws(BusFailure) in try ingest.run(stop: stop) }
    let p = ingest.progress.withLock { $0 }
    StandardError.line("ingest: \(p.cycles) cycles, \(p.events) events published")
  }
}

/// `engine shard i/n`: the engine on the partitions `p mod n == i`.
struct ShardCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "shard",
    abstract:
      "Evaluates the strategies on the partitions it owns and publishes each cycle's diffs.",
    discussion: """
      --shard i/n owns the partitions p with p mod n = i. A second process started with the \
      same i/n while the first runs is refused (exit 1). Restarted after a crash, a shard waits \
      for its old lease to lapse, rebuilds its state from the bus and goes on where it stopped.
      """)

  @OptionGroup var bus: BusOptions

  @Option(help: "This shard: i/n (0 <= i < n).")
  var shard: String

  @OptionGroup var common: CommonOptions

  func run() throws {
    Signals.block()
    let parts = shard.split(separator: "/")
    guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
      throw EngineFailure(message: "--shard \(shard): expected i/n, like 0/3", code: 2)
    }
    let settings = try Session.settings(overrides: common.overrides, configPath: common.config)
    let bus = try BusRole.connect(bus.nats, role: "shard \(shard)")
    defer { bus.close() }
    let node: Shard
    do {
      node = try Shard(bus: bus, index: i, count: n)
      try node.claim { message in
        StandardError.line("engine: \(message)")
        Foundation.exit(1)
      }
    } catch {
      throw EngineFailure(message: error.description, code: error.code)
    }
    if node.isComplete {
      StandardError.line("shard \(shard): every partition it owns is complete on the bus")
      return
    }
    let strategySettings = settings.sectionValues["strategy"] ?? [:]
    let prepare: @Sendable (CodeSet) throws -> CodeSet = { files in
      try StrategySettings.apply(strategySettings, to: files)
    }
    let stop = StopFlag()
    var signals = Signals.onStop { stop.raise() }
    let fromBus = try BusRole.run { () throws(BusFailure) in try node.firstCode(stop: stop) }
    if stop.isRaised { return }
    let code: CodeSet
    if let fromBus {
      do {
        code = try prepare(fromBus)
      } catch {
        throw EngineFailure(message: "\(error)", code: 2)
      }
    } else {
      code = try Wiring.code(for: settings)
    }
    let collector = CycleCollector()
    let services = settings.httpPort.map {
      EngineServices(http: HTTPServerOptions(host: settings.httpHost, port: $0), webhooks: [])
    }
    let engine = CycleEngine(
      settings: settings, sink: FanOutSink([collector] + (services?.sinks ?? [])), live: false)
    do {
      try engine.start(code: code)
    } catch {
      throw EngineFailure(message: error.description, code: 2)
    }
    for s in signals { s.cancel() }
    signals = Signals.onStop {
      stop.raise()
      engine.requestStop()
    }
    defer { for s in signals { s.cancel() } }
    if let services {
      services.attach(to: engine)
      try BusRole.start(services, settings: settings)
    }
    defer { services?.shutdownBlocking(flush: .seconds(1)) }
    let metricsStop = StopFlag()
    defer { metricsStop.raise() }
    if let services {
      BusRole.everySecond(until: metricsStop) {
        let done = node.lastCycle.withLock { $0 }
        BusRole.setCyclesBehind(
          services.metrics, bus: bus, partitions: node.partitions,
          help: "Cycles the ingest has published that this process has not finished."
        ) { _, published in done.map { max(0, published - $0) } ?? 0 }
      }
    }
    StandardError.line(
      "shard \(shard): partitions \(node.partitions.map(String.init).joined(separator: ",")), \(code.strategies.count) strategies, \(engine.workerCount) workers"
    )
    try BusRole.run { () throws(BusFailure) in
      try node.run(
        engine: engine, collector: collector, cycleMs: settings.cycleMs, prepare: prepare)
    }
  }
}

/// `engine merge`: every partition's results, merged into one ordered stream.
struct MergeCommand: ParsableCommand {
  private typealias Table = SettingsTable
  static let configuration = CommandConfiguration(
    commandName: "merge",
    abstract: "Merges the shards' results, cycle by cycle, into the diff lines one process prints.",
    discussion: """
      Writes each cycle once every partition's result is in: to stdout (the same bytes as \
      `engine replay`), to webhooks and the dashboard, and to the output stream (subjects \
      out.<strategy>.<symbol>, one message per line, and out._c, one marker per cycle). When \
      stdout is a regular file, a restarted merger goes on after the last complete cycle in \
      it; otherwise after the last cycle on the output stream.
      """)

  @OptionGroup var bus: BusOptions

  @Option(name: .setting(Table.output), help: .setting(Table.output))
  var output: String?

  @Option(name: .setting(Table.httpPort), help: .setting(Table.httpPort))
  var httpPort: String?

  @Option(name: .setting(Table.webhookURLs), help: .setting(Table.webhookURLs))
  var webhooks: [String] = []

  @Option(help: "Config file (YAML). [default: \(Settings.defaultConfigPath) when present]")
  var config: String?

  func run() throws {
    Signals.block()
    var overrides: [String: String] = [:]
    overrides[setting: Table.output] = output
    overrides[setting: Table.httpPort] = httpPort
    if !webhooks.isEmpty { overrides[setting: Table.webhookURLs] = webhooks.joined(separator: ",") }
    let settings = try Session.settings(overrides: overrides, configPath: config)
    let bus = try BusRole.connect(bus.nats, role: "merge")
    defer { bus.close() }
    let pretty = Wiring.isPretty(settings)
    let sinksFrom = pretty ? nil : StdoutFile.resumeCycle()
    let services = Wiring.services(for: settings)
    let sink = FanOutSink([Wiring.stdoutSink(pretty: pretty)] + (services?.sinks ?? []))
    if let services { try BusRole.start(services, settings: settings) }
    defer { services?.shutdownBlocking(flush: .seconds(2)) }
    let merger = Merger(bus: bus, sink: sink, sinksFrom: sinksFrom)
    let stop = StopFlag()
    let signals = Signals.onStop { stop.raise() }
    defer { for s in signals { s.cancel() } }
    let metricsStop = StopFlag()
    defer { metricsStop.raise() }
    if let services {
      BusRole.everySecond(until: metricsStop) {
        let progress = merger.progress.withLock { $0 }
        if let c = progress.lastCycle {
          services.metrics.setGauge(
            "engine_bus_merged_cycle", help: "The last cycle merged and written.", to: c)
        }
        BusRole.setCyclesBehind(
          services.metrics, bus: bus, partitions: 0..<bus.config.partitions,
          help: "Cycles the ingest has published whose result for this partition has not arrived."
        ) { p, published in progress.arrived[p].map { max(0, published - $0) } ?? published }
      }
    }
    try BusRole.run { () throws(BusFailure) in try merger.run(stop: stop) }
  }
}

/// What the bus commands share.
enum BusRole {
  static func connect(_ url: String, role: String) throws -> Bus {
    do {
      return try Bus(url: url, role: role)
    } catch {
      throw EngineFailure(message: error.description, code: error.code)
    }
  }

  static func run<T>(_ body: () throws(BusFailure) -> T) throws -> T {
    do {
      return try body()
    } catch {
      throw EngineFailure(message: error.description, code: error.code)
    }
  }

  /// Starts `services`' HTTP server (exit 2 when it cannot listen).
  static func start(_ services: EngineServices, settings: Settings) throws {
    do {
      if let port = try services.startBlocking() {
        StandardError.line("http: metrics on http://\(settings.httpHost):\(port)/metrics")
      }
    } catch {
      throw EngineFailure(message: "http: \(error)", code: 2)
    }
  }

  /// An HTTP server for `/metrics` alone (a role without an engine), updated every second
  /// by `update`; nil without `--http-port`.
  static func serveMetrics(
    _ settings: Settings, update: @escaping @Sendable (EngineMetrics) -> Void
  )
    throws -> EngineServices?
  {
    guard let port = settings.httpPort else { return nil }
    let services = EngineServices(
      http: HTTPServerOptions(host: settings.httpHost, port: port), webhooks: [])
    try start(services, settings: settings)
    everySecond(until: StopFlag()) { update(services.metrics) }
    return services
  }

  /// Sets `engine_bus_cycles_behind{partition}` for each of `partitions` from the last cycle
  /// the ingest published there and `behind(partition, that cycle)`.
  static func setCyclesBehind(
    _ metrics: EngineMetrics, bus: Bus, partitions: some Sequence<Int>, help: String,
    behind: (Int, Int64) -> Int64
  ) {
    for p in partitions {
      guard let published = bus.publishedCycle(partition: p) else { continue }
      metrics.setGauge(
        "engine_bus_cycles_behind", labels: [("partition", String(p))], help: help,
        to: behind(p, published))
    }
  }

  /// Calls `body` every second on a thread of its own until `stop` is raised.
  static func everySecond(until stop: StopFlag, _ body: @escaping @Sendable () -> Void) {
    let thread = Thread {
      while !stop.isRaised {
        body()
        Thread.sleep(forTimeInterval: 1)
      }
    }
    thread.name = "engine-bus-metrics"
    thread.start()
  }
}

/// The merger's stdout when it is a regular file (`>> merged.jsonl`): where a restarted merger
/// goes on.
enum StdoutFile {
  /// When stdout is a regular file: removes a last line cut short and every line of the last
  /// cycle in it (it may be incomplete), moves the write offset to the end, and returns that
  /// cycle (the first one to write again); `Int64.min` for an empty file. nil when stdout is
  /// not a regular file or does not hold diff lines.
  static func resumeCycle() -> Int64? {
    var st = stat()
    guard fstat(1, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
    guard let data = FileManager.default.contents(atPath: "/proc/self/fd/1") else { return nil }
    let bytes = [UInt8](data)
    guard let lastNewline = bytes.lastIndex(of: 10) else {
      _ = ftruncate(1, 0)
      _ = lseek(1, 0, SEEK_SET)
      return Int64.min
    }
    func cycle(ofLineAt start: Int) -> Int64? {
      let prefix = Array("{\"cycle\":".utf8)
      guard bytes.count >= start + prefix.count,
        Array(bytes[start..<start + prefix.count]) == prefix
      else { return nil }
      var i = start + prefix.count
      var digits = ""
      while i < bytes.count, bytes[i] == UInt8(ascii: "-") || (48...57).contains(bytes[i]) {
        digits.unicodeScalars.append(Unicode.Scalar(bytes[i]))
        i += 1
      }
      return Int64(digits)
    }
    func lineStart(before end: Int) -> Int {
      var i = end
      while i > 0, bytes[i - 1] != 10 { i -= 1 }
      return i
    }
    var start = lineStart(before: lastNewline)
    guard let last = cycle(ofLineAt: start) else { return nil }
    while start > 0 {
      let previous = lineStart(before: start - 1)
      guard cycle(ofLineAt: previous) == last else { break }
      start = previous
    }
    _ = ftruncate(1, off_t(start))
    _ = lseek(1, off_t(start), SEEK_SET)
    return last
  }
}
