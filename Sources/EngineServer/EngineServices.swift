// Wiring of the sinks, metrics, monitor and HTTP server around one `CycleEngine`.

import Engine
import Foundation
import Support
import Synchronization

/// Options of the HTTP server (`--http-port`, `http.host`).
public struct HTTPServerOptions: Sendable, Equatable {
  /// `http.host`: address to bind; loopback unless set otherwise.
  public var host: String
  /// `http.port` (`--http-port`): 0 = any free port (see ``EngineServices/boundPort``).
  public var port: Int

  public init(host: String = "127.0.0.1", port: Int) {
    self.host = host
    self.port = port
  }
}

/// Everything around the engine: webhook sinks, the live board (a sink), the cycle monitor,
/// Prometheus metrics and the HTTP server.
///
/// Order of use:
/// 1. `let services = EngineServices(http:webhooks:)`;
/// 2. build the engine with `FanOutSink([stdoutSink] + services.sinks)`;
/// 3. `engine.start(code:)`, then `services.attach(to: engine)` (a cycle observer);
/// 4. `try services.startBlocking()` (or `await start()`) before `engine.run(feed:)`;
/// 5. after `run` returns: `services.shutdownBlocking()` (or `await shutdown()`).
public final class EngineServices: Sendable {
  public let http: HTTPServerOptions?
  public let webhooks: [WebhookSink]
  public let events: EventBroadcaster
  public let board: LiveBoard
  public let monitor: CycleMonitor
  public let metrics: EngineMetrics
  private let log: @Sendable (String) -> Void

  /// Set once by ``attach(to:)``; read by request handlers.
  private let engineBox = Mutex<CycleEngine?>(nil)
  private let server = Mutex<HTTPServerHandle?>(nil)
  private let port = Mutex<Int?>(nil)

  public init(
    http: HTTPServerOptions?, webhooks: [WebhookOptions],
    metrics: EngineMetrics = EngineMetrics(),
    log: @escaping @Sendable (String) -> Void = { StandardError.line($0) }
  ) {
    self.http = http
    self.log = log
    self.webhooks = webhooks.map { WebhookSink(options: $0, log: log) }
    events = EventBroadcaster()
    board = LiveBoard(events: events)
    monitor = CycleMonitor()
    self.metrics = metrics
    EngineMetrics.bootstrapMetricsSystem()
  }

  /// The sinks to add to the engine's `FanOutSink` (after stdout).
  public var sinks: [DiffSink] { [board as DiffSink] + webhooks.map { $0 as DiffSink } }

  /// The engine, once attached.
  public var engine: CycleEngine? { engineBox.withLock { $0 } }

  /// The port the server listens on, once started.
  public var boundPort: Int? { port.withLock { $0 } }

  /// Sets `engine_feed_reconnects`.
  public func setFeedReconnects(_ count: Int) { metrics.setFeedReconnects(count) }

  /// Observes `engine`'s cycles (call before `engine.run`).
  public func attach(to engine: CycleEngine) {
    engineBox.withLock { $0 = engine }
    engine.addCycleObserver { [self, unowned engine] status in
      self.cycleClosed(status, engine: engine)
    }
  }

  /// On the cycle thread (the store's writer: its counters can be read here).
  private func cycleClosed(_ status: CycleStatus, engine: CycleEngine) {
    let sample = monitor.record(status)
    metrics.record(
      status, eventsApplied: engine.store.eventsApplied,
      olderKlinesIgnored: engine.store.klinesIgnored,
      untrackedSymbolEvents: engine.store.symbolsRejected,
      luaMemoryBytes: engine.luaMemoryPerWorker, uptimeSeconds: monitor.uptimeSeconds,
      modes: monitor.modes, strategies: monitor.strategies)
    metrics.record(sinks: webhooks.map { ($0.label, $0.stats) })
    if events.subscriberCount > 0, let json = JSON.encode(sample) {
      events.publish(event: "cycle", data: json)
    }
  }

  // MARK: Server

  /// Starts the HTTP server (when `http` is set) and returns the bound port.
  @discardableResult
  public func start() async throws -> Int? {
    guard let http else { return nil }
    let handle = try await HTTPServerHandle.start(options: http, services: self)
    server.withLock { $0 = handle }
    port.withLock { $0 = handle.port }
    if case .failure(let problem) = Dashboard.page { report("http: \(problem)") }
    return handle.port
  }

  /// ``start()`` for synchronous callers (the CLI's main thread; not from an async context).
  @available(*, noasync, message: "use start()")
  @discardableResult
  public func startBlocking() throws -> Int? {
    let result = Mutex<Result<Int?, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
      do {
        let port = try await self.start()
        result.withLock { $0 = .success(port) }
      } catch {
        result.withLock { $0 = .failure(error) }
      }
      done.signal()
    }
    done.wait()
    switch result.withLock({ $0 }) {
    case .success(let port): return port
    case .failure(let error): throw error
    case nil: return nil
    }
  }

  /// Ends the event streams, stops the server, and flushes the webhook queues for up to
  /// `flush` (what is left is counted as dropped).
  public func shutdown(flush: Duration = .seconds(2)) async {
    events.close()
    let handle = server.withLock { h -> HTTPServerHandle? in
      defer { h = nil }
      return h
    }
    await handle?.stop()
    await withTaskGroup(of: Void.self) { group in
      for sink in webhooks { group.addTask { await sink.shutdown(flush: flush) } }
    }
    metrics.record(sinks: webhooks.map { ($0.label, $0.stats) })
  }

  /// ``shutdown(flush:)`` for synchronous callers.
  @available(*, noasync, message: "use shutdown(flush:)")
  public func shutdownBlocking(flush: Duration = .seconds(2)) {
    let done = DispatchSemaphore(value: 0)
    Task {
      await self.shutdown(flush: flush)
      done.signal()
    }
    done.wait()
  }

  func report(_ line: String) { log(line) }
}
