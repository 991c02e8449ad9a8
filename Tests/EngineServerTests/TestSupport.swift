import AsyncHTTPClient
import Engine
import EngineSettings
import EngineServer
import Feeds
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization
@testable import Evaluation

/// Shared helpers: strategies, an engine running on the simulator with services, HTTP calls.
enum Support {
  static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  static func temporaryDirectory(_ name: String) -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "engine-server-tests-\(name)-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  /// A strategy whose match state flips with the price's last digit: diffs every cycle.
  static let flipper = """
    -- Matches when the price's third decimal is even: flips often, so every cycle has diffs.
    return {
      description = "test: flips with the price",
      filter = function(s) return math.floor(s.price * 1000) % 2 == 0, s.price end,
    }
    """

  /// The example strategies plus `flipper`.
  static func strategies(includeExamples: Bool = true, extra: [String: String] = [:]) -> String {
    let dir = temporaryDirectory("strategies")
    for (id, source) in extra {
      _ = FileManager.default.createFile(
        atPath: dir.appendingPathComponent("\(id).lua").path, contents: Data(source.utf8))
    }
    let examples = repositoryRoot.appendingPathComponent("Strategies").path
    if includeExamples, let names = try? FileManager.default.contentsOfDirectory(atPath: examples) {
      for name in names where name.hasSuffix(".lua") {
        try? FileManager.default.copyItem(
          atPath: examples + "/" + name, toPath: dir.appendingPathComponent(name).path)
      }
    }
    _ = FileManager.default.createFile(
      atPath: dir.appendingPathComponent("flipper.lua").path, contents: Data(flipper.utf8))
    return dir.path
  }

  /// Polls `condition` every 50 ms for up to `seconds`.
  static func waitUntil(_ seconds: Double = 30, _ condition: () async -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if await condition() { return true }
      try? await Task.sleep(for: .milliseconds(50))
    }
    return await condition()
  }

  /// A port nothing listens on (bound, then closed).
  static func closedPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  /// GET or POST on loopback; returns status and body text.
  static func request(
    _ url: String, post: Bool = false, body: String? = nil, timeout: Int64 = 10
  ) async throws -> (status: Int, body: String) {
    var request = HTTPClientRequest(url: url)
    if post { request.method = .POST }
    if let body { request.body = .bytes(ByteBuffer(string: body)) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeout))
    let buffer = try await response.body.collect(upTo: 16 << 20)
    return (Int(response.status.code), String(buffer: buffer))
  }
}

/// Captures every cycle's diffs as the stdout lines (what `JSONLinesWriter` prints).
final class CaptureSink: DiffSink, Sendable {
  struct Cycle: Sendable {
    var cycle: Int64
    var time: Int64
    var lines: [String]
  }
  let cycles = Mutex<[Cycle]>([])

  func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff]) {
    guard !diffs.isEmpty else { return }
    var lines: [String] = []
    for d in diffs {
      var bytes: [UInt8] = []
      JSONLinesWriter.append(d, cycle: cycle, time: time, to: &bytes)
      lines.append(String(decoding: bytes.dropLast(), as: UTF8.self))
    }
    cycles.withLock { $0.append(Cycle(cycle: cycle, time: time, lines: lines)) }
  }

  var snapshot: [Cycle] { cycles.withLock { $0 } }
}

/// Measures how long the wrapped sink's `write` takes on the cycle thread.
final class TimingSink: DiffSink, Sendable {
  let inner: WebhookSink
  let worstNanos = Atomic<UInt64>(0)
  let writes = Atomic<Int>(0)
  init(_ inner: WebhookSink) { self.inner = inner }
  func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff]) {
    let start = DispatchTime.now().uptimeNanoseconds
    inner.write(cycle: cycle, time: time, diffs: diffs)
    let spent = DispatchTime.now().uptimeNanoseconds - start
    if spent > worstNanos.load(ordering: .relaxed) { worstNanos.store(spent, ordering: .relaxed) }
    writes.add(1, ordering: .relaxed)
  }
}

/// An engine on the simulator, on a thread of its own, with `EngineServices` attached.
final class EngineRun: Sendable {
  let engine: CycleEngine
  let services: EngineServices
  let capture = CaptureSink()
  let cycles = Locked<[CycleStatus]>([])
  let result = Locked<Result<RunSummary, EngineError>?>(nil)
  let logs = Locked<[String]>([])
  let simulator = Locked<SimulatorConfig?>(nil)

  /// - Parameters:
  ///   - extraSinks: wraps the services' webhook sinks (e.g. with a `TimingSink`); default as is.
  init(
    cycleMs: Int = 200, mode: TrackingMode = .changed, http: Bool = true,
    webhooks: [WebhookOptions] = [], includeExamples: Bool = true, debugUpdates: Bool = false,
    extraStrategies: [String: String] = [:], wrap: (WebhookSink) -> DiffSink = { $0 }
  ) throws {
    let strategies = Support.strategies(includeExamples: includeExamples, extra: extraStrategies)
    let plugins = Support.repositoryRoot.appendingPathComponent("Plugins").path
    var settings = Settings()
    settings.strategies = strategies
    settings.plugins = plugins
    settings.workers = 2
    settings.cycleMs = cycleMs
    settings.minUpdateIntervalMs = 0
    settings.trackingMode = mode
    settings.debugUpdates = debugUpdates
    let logs = self.logs
    services = EngineServices(
      http: http ? HTTPServerOptions(host: "127.0.0.1", port: 0) : nil, webhooks: webhooks,
      metrics: EngineMetrics(), log: { line in logs.withLock { $0.append(line) } })
    let sinks: [DiffSink] =
      [capture as DiffSink, services.board as DiffSink] + services.webhooks.map(wrap)
    engine = CycleEngine(settings: settings, sink: FanOutSink(sinks), live: true)
    engine.log = { line in logs.withLock { $0.append(line) } }
    try engine.start(code: CodeSet.load(strategies: strategies, plugins: plugins))
    let cycles = self.cycles
    engine.addCycleObserver { status in cycles.withLock { $0.append(status) } }
    services.attach(to: engine)
  }

  /// Starts the server (if any) and the engine thread; returns the HTTP base URL.
  @discardableResult
  func start(symbols: Int = 60, cycleMs: Int64 = 200) async throws -> String {
    let port = try await services.start()
    let config = SimulatorConfig(
      symbols: symbols, seed: 7, cycleMs: cycleMs, historyCandles: 40,
      startTime: Int64(Date().timeIntervalSince1970 * 1000) / cycleMs * cycleMs)
    simulator.withLock { $0 = config }
    let feed = SimFeed(config: config, speed: 1)
    let engine = self.engine
    let result = self.result
    let thread = Thread {
      do throws(EngineError) {
        let summary = try engine.run(feed: feed)
        result.withLock { $0 = .success(summary) }
      } catch {
        result.withLock { $0 = .failure(error) }
      }
    }
    thread.name = "test-engine"
    thread.start()
    return "http://127.0.0.1:\(port ?? 0)"
  }

  var cycleCount: Int { cycles.withLock { $0.count } }

  /// Cycle numbers that had feed events but were never closed (a gap), between the first and
  /// the last cycle the engine closed. The simulator is deterministic: its steps are
  /// generated again here. (A step with no event at all has no cycle: that is not a gap.)
  func missingCycles() -> [Int64] {
    guard let config = simulator.withLock({ $0 }) else { return [] }
    let closed = Set(cycles.withLock { $0.map(\.cycle) })
    guard let first = closed.min(), let last = closed.max() else { return [] }
    var sim = MarketSimulator(config)
    _ = sim.warmup()
    var withEvents: Set<Int64> = []
    let steps = Int(last - config.startTime / config.cycleMs) + 2
    for _ in 0..<max(0, steps) {
      for line in sim.nextStep() {
        guard
          let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { continue }
        let payload = (object["data"] as? [String: Any]) ?? object
        if let time = (payload["E"] as? NSNumber)?.int64Value {
          withEvents.insert(
            time >= 0 ? time / config.cycleMs : (time - config.cycleMs + 1) / config.cycleMs)
        }
      }
    }
    return withEvents.filter { $0 > first && $0 < last && !closed.contains($0) }.sorted()
  }

  func stop(flush: Duration = .seconds(2)) async {
    engine.requestStop()
    _ = await Support.waitUntil(20) { self.result.withLock { $0 != nil } }
    await services.shutdown(flush: flush)
  }
}

/// A tiny webhook receiver: answers from a script (then 200), records every request.
final class Receiver: Sendable {
  struct Received: Sendable {
    var status: Int
    var body: String
    var signature: String?
    var cycleHeader: String?
  }
  let received = Mutex<[Received]>([])
  let script: Mutex<[(status: Int, retryAfter: String?)]>
  private let task = Mutex<Task<Void, Never>?>(nil)
  private let port = Locked<Int?>(nil)

  init(script: [(status: Int, retryAfter: String?)]) {
    self.script = Mutex(script)
  }

  var accepted: [Received] { received.withLock { $0.filter { $0.status == 200 } } }

  /// Starts on an ephemeral loopback port; returns the URL to post to.
  func start() async throws -> String {
    let router = Router()
    router.post("/hook") { request, _ -> Response in
      let body = try await request.body.collect(upTo: 16 << 20)
      let next = self.script.withLock {
        $0.isEmpty ? (status: 200, retryAfter: nil) : $0.removeFirst()
      }
      self.received.withLock {
        $0.append(
          Received(
            status: next.status, body: String(buffer: body),
            signature: request.headers[HTTPFields.Element.Name("X-Engine-Signature")!],
            cycleHeader: request.headers[HTTPFields.Element.Name("X-Engine-Cycle")!]))
      }
      var headers = HTTPFields()
      if let after = next.retryAfter { headers[.retryAfter] = after }
      return Response(status: .init(code: next.status), headers: headers)
    }
    let (ready, continuation) = AsyncStream.makeStream(of: Void.self)
    let port = self.port
    let app = Application(
      router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
      onServerRunning: { channel in
        port.withLock { $0 = channel.localAddress?.port }
        continuation.finish()
      },
      logger: Logger(label: "test-receiver", factory: { _ in SwiftLogNoOpLogHandler() }))
    task.withLock { $0 = Task { try? await app.runService(gracefulShutdownSignals: []) } }
    for await _ in ready {}
    return "http://127.0.0.1:\(self.port.withLock { $0 } ?? 0)/hook"
  }

  func stop() async {
    let t = task.withLock { $0 }
    t?.cancel()
    await t?.value
  }
}

/// A `Mutex` in a class, so closures can share it.
final class Locked<Value: Sendable>: Sendable {
  private let mutex: Mutex<Value>
  init(_ value: Value) { mutex = Mutex(value) }
  func withLock<R>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
