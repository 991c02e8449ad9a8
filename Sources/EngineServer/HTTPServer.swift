// The Hummingbird application: dashboard, SSE, metrics, status, debug and control routes.

import Engine
import EngineSettings
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Request context carrying the peer address (for the loopback-only control route).
struct ServerContext: RequestContext, RemoteAddressRequestContext {
  var coreContext: CoreRequestContextStorage
  let remoteAddress: SocketAddress?

  init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    remoteAddress = source.channel.remoteAddress
  }

  /// Whether the peer is on this machine (127.0.0.0/8, ::1, IPv4-mapped loopback, a Unix socket).
  var peerIsLoopback: Bool {
    guard let address = remoteAddress else { return false }
    switch address {
    case .unixDomainSocket: return true
    case .v4: return address.ipAddress?.hasPrefix("127.") ?? false
    case .v6:
      guard let ip = address.ipAddress?.lowercased() else { return false }
      return ip == "::1" || ip == "0:0:0:0:0:0:0:1" || ip.hasPrefix("::ffff:127.")
    }
  }
}

/// A running server: its service group and task.
final class HTTPServerHandle: Sendable {
  let port: Int
  private let group: ServiceGroup
  private let task: Task<Void, Never>
  private let heartbeat: Task<Void, Never>

  private init(
    port: Int, group: ServiceGroup, task: Task<Void, Never>, heartbeat: Task<Void, Never>
  ) {
    self.port = port
    self.group = group
    self.task = task
    self.heartbeat = heartbeat
  }

  static func start(options: HTTPServerOptions, services: EngineServices) async throws
    -> HTTPServerHandle
  {
    var logger = Logger(label: "engine.http")
    logger.logLevel = .warning
    let router = Router(context: ServerContext.self)
    router.middlewares.add(MetricsMiddleware())
    Routes(services: services).add(to: router)
    let bound = Mutex<Result<Int, any Error>?>(nil)
    let (ready, readyContinuation) = AsyncStream.makeStream(of: Void.self)
    let app = Application(
      router: router,
      configuration: ApplicationConfiguration(
        address: .hostname(options.host, port: options.port), serverName: "engine"),
      onServerRunning: { channel in
        bound.withLock { $0 = .success(channel.localAddress?.port ?? options.port) }
        readyContinuation.finish()
      },
      logger: logger)
    let group = ServiceGroup(
      configuration: ServiceGroupConfiguration(
        services: [app], gracefulShutdownSignals: [], logger: logger))
    let task = Task {
      do {
        try await group.run()
      } catch {
        bound.withLock { if $0 == nil { $0 = .failure(error) } }
      }
      readyContinuation.finish()
    }
    for await _ in ready {}
    let events = services.events
    let heartbeat = Task {
      while !Task.isCancelled {
        try? await Task.sleep(for: .seconds(10))
        events.publish(raw: ": ping\n\n")
      }
    }
    switch bound.withLock({ $0 }) {
    case .success(let port):
      return HTTPServerHandle(port: port, group: group, task: task, heartbeat: heartbeat)
    case .failure(let error):
      heartbeat.cancel()
      throw HTTPServerError(
        "http: cannot listen on \(options.host):\(options.port): \(error)")
    case nil:
      heartbeat.cancel()
      throw HTTPServerError("http: cannot listen on \(options.host):\(options.port)")
    }
  }

  /// Graceful shutdown; cancels the server if it has not stopped within 3 s.
  func stop() async {
    heartbeat.cancel()
    await group.triggerGracefulShutdown()
    let task = self.task
    let watchdog = Task {
      try? await Task.sleep(for: .seconds(3))
      if !Task.isCancelled { task.cancel() }
    }
    await task.value
    watchdog.cancel()
  }
}

public struct HTTPServerError: Error, CustomStringConvertible, Sendable {
  public var description: String
  init(_ description: String) { self.description = description }
}

/// The routes.
struct Routes: Sendable {
  let services: EngineServices

  func add(to router: Router<ServerContext>) {
    router.get("/") { _, _ in
      switch Dashboard.page {
      case .success(let html): Self.respond(html, type: "text/html; charset=utf-8")
      case .failure(let problem):
        Self.respond(
          "\(problem)\n", type: "text/plain; charset=utf-8", status: .internalServerError)
      }
    }
    router.get("/events") { _, _ in events() }
    router.get("/api/state") { _, _ in
      Self.respond(state(), type: "application/json")
    }
    router.get("/metrics") { _, _ in
      Self.respond(
        services.metrics.exposition(), type: "text/plain; version=0.0.4; charset=utf-8")
    }
    router.get("/status") { _, _ in
      Self.respond(status(), type: "application/json")
    }
    router.get("/debug/updates") { _, _ in
      Self.respond(updates(), type: "application/json")
    }
    router.get("/control/tracking") { _, _ in
      let mode = services.engine?.trackingMode.rawValue ?? "unknown"
      return Self.respond("{\"mode\":\"\(mode)\"}", type: "application/json")
    }
    router.post("/control/tracking") { request, context in
      try await setTracking(request, context)
    }
    router.get("/healthz") { _, _ in Self.respond("ok\n", type: "text/plain") }
  }

  static func respond(_ text: String, type: String, status: HTTPResponse.Status = .ok)
    -> Response
  {
    var headers = HTTPFields()
    headers[.contentType] = type
    headers[.cacheControl] = "no-store"
    return Response(
      status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
  }

  // MARK: Handlers

  private func events() -> Response {
    let broadcaster = services.events
    let (id, stream) = broadcaster.subscribe()
    let hello = "retry: 2000\n: connected\n\n"
    var headers = HTTPFields()
    headers[.contentType] = "text/event-stream"
    headers[.cacheControl] = "no-cache"
    // Tells nginx not to buffer the stream.
    if let accel = HTTPFields.Element.Name("X-Accel-Buffering") { headers[accel] = "no" }
    return Response(
      status: .ok, headers: headers,
      body: ResponseBody { writer in
        defer { broadcaster.unsubscribe(id) }
        try await writer.write(ByteBuffer(string: hello))
        for await chunk in stream {
          try await writer.write(ByteBuffer(string: chunk))
        }
        try await writer.finish(nil)
      })
  }

  private struct StrategyState: Encodable {
    var id: String
    var description: String?
    var timeframes: [String]
    var matches: Int
    var filterCalls: Int
    var errors: Int
    /// Measured by the profiler: time per call, seconds in total, share of all strategies'.
    var nsPerCall: Double
    var cpuSeconds: Double
    var costShare: Double
  }

  private func strategyStates() -> [StrategyState] {
    let infos = services.engine?.strategyInfos ?? []
    var ids = services.monitor.strategyIDs
    for info in infos where !ids.contains(info.id) { ids.append(info.id) }
    let totals = services.monitor.strategies
    let counts = services.board.matchCounts
    return ids.sorted().map { id in
      let info = infos.first { $0.id == id }
      let t = totals[id] ?? StrategyTotals()
      return StrategyState(
        id: id, description: info?.description, timeframes: info?.timeframes ?? [],
        matches: counts[id] ?? 0, filterCalls: t.filterCalls, errors: t.errors,
        nsPerCall: t.nsPerCall, cpuSeconds: t.cpuSeconds, costShare: t.costShare)
    }
  }

  private struct StatusBody: Encodable {
    var feed: String
    var workers: Int
    var trackingMode: String
    var uptimeSeconds: Double
    var cycles: Int
    var lastCycle: Int64?
    var knownSymbols: Int
    var efficiency: Double
    var reloads: Int
    var strategies: [StrategyState]
    var modes: [String: ModeCost]
    var sinks: [SinkBody]
    var dashboardClients: Int
  }

  private struct SinkBody: Encodable {
    var url: String
    var stats: WebhookStats
  }

  private func statusBody() -> StatusBody {
    let engine = services.engine
    let last = services.monitor.last
    return StatusBody(
      feed: engine?.settings.feed ?? "", workers: engine?.workerCount ?? 0,
      trackingMode: engine?.trackingMode.rawValue ?? "",
      uptimeSeconds: services.monitor.uptimeSeconds,
      cycles: last?.totals.cycles ?? 0, lastCycle: last?.cycle,
      knownSymbols: last?.knownSymbols ?? 0, efficiency: last?.totals.skippedShare ?? 0,
      reloads: last?.totals.reloads ?? 0, strategies: strategyStates(),
      modes: services.monitor.modes,
      sinks: services.webhooks.map { SinkBody(url: $0.label, stats: $0.stats) },
      dashboardClients: services.events.subscriberCount)
  }

  private func status() -> String { JSON.encode(statusBody()) ?? "{}" }

  /// Everything the dashboard needs at load: status, matches, recent diffs, history.
  private func state() -> String {
    let status = JSON.encode(statusBody()) ?? "{}"
    let history = JSON.encode(services.monitor.history) ?? "[]"
    let ids = strategyStates().map(\.id)
    let matches = services.board.matchesJSON(ids: ids)
    let recent = "[" + services.board.recentDiffs.joined(separator: ",") + "]"
    return
      "{\"status\":\(status),\"matches\":\(matches),\"recent\":\(recent),\"history\":\(history)}"
  }

  private struct UpdateEntry: Encodable {
    var symbol: String
    var time: Int64
    var kind: String
  }

  private struct UpdatesBody: Encodable {
    var enabled: Bool
    var capacity: Int
    var note: String?
    var entries: [UpdateEntry]
  }

  private func updates() -> String {
    guard let ring = services.engine?.ring else {
      return "{\"enabled\":false,\"capacity\":0,\"entries\":[]}"
    }
    let entries = ring.snapshot().map {
      UpdateEntry(symbol: $0.symbol, time: $0.time, kind: $0.kind.rawValue)
    }
    return JSON.encode(
      UpdatesBody(
        enabled: ring.isEnabled, capacity: ring.capacity,
        note: ring.isEnabled ? nil : "the update ring is off: start with --debug-updates",
        entries: entries)) ?? "{}"
  }

  private func setTracking(_ request: Request, _ context: ServerContext) async throws -> Response {
    guard context.peerIsLoopback else {
      return Self.respond(
        "{\"error\":\"control is accepted from loopback peers only\"}\n",
        type: "application/json", status: .forbidden)
    }
    let buffer = try await request.body.collect(upTo: 4096)
    let text = String(buffer: buffer).trimmingCharacters(in: .whitespacesAndNewlines)
    var requested = text
    if text.hasPrefix("{") {
      struct Body: Decodable { var mode: String }
      requested = (try? JSONDecoder().decode(Body.self, from: Data(text.utf8)))?.mode ?? ""
    }
    guard let mode = TrackingMode(rawValue: requested.lowercased()) else {
      return Self.respond(
        "{\"error\":\"expected \\\"changed\\\" or \\\"all\\\" (or {\\\"mode\\\":\\\"all\\\"})\"}\n",
        type: "application/json", status: .badRequest)
    }
    guard let engine = services.engine else {
      return Self.respond(
        "{\"error\":\"no engine attached\"}\n", type: "application/json",
        status: .serviceUnavailable)
    }
    let previous = engine.trackingMode
    engine.trackingMode = mode
    if previous != mode {
      services.report("http: tracking.mode is now \(mode.rawValue) (from the next cycle)")
    }
    return Self.respond(
      "{\"mode\":\"\(mode.rawValue)\",\"previous\":\"\(previous.rawValue)\",\"from\":\"next cycle\"}\n",
      type: "application/json")
  }
}
