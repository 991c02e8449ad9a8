import Dispatch
import HummingbirdWSClient
import Logging
import Synchronization

/// What every connection of a feed shares.
struct FeedContext: Sendable {
  let config: BinanceFeedConfig
  let sink: MessageSink
  let stats: BinanceFeedStats
  let rest: BinanceREST
  let connectGate: ConnectionGate
  let log: @Sendable (String) -> Void
  let intervals: [String]
}

/// At most `limit` connection attempts per 5 minutes (Binance: 300 per IP).
actor ConnectionGate {
  private let limit: Int
  private var opened: [ContinuousClock.Instant] = []

  init(limit: Int) { self.limit = limit }

  func acquire() async throws {
    while true {
      let now = ContinuousClock.now
      opened.removeAll { now - $0 >= .seconds(300) }
      if opened.count < limit {
        opened.append(now)
        return
      }
      try await Task.sleep(until: opened[0] + .seconds(300), clock: .continuous)
    }
  }
}

enum SlotEvent: Sendable {
  /// The connection is subscribed (and backfilled): it can take over.
  case ready(Int)
  /// The connection wants a successor (age limit or `serverShutdown`).
  case rollover(Int)
  /// The connection ended.
  case ended(Int, String)
}

/// One WebSocket connection of a slot. Its messages are held back until the slot makes it
/// the live connection (after its backfill), then handed to the sink as they arrive. At most
/// `maxHeldMessages` are held: past that the oldest is dropped (and counted), so a slow or
/// stuck backfill costs bounded memory.
final class Connection: Sendable {
  let slot: Int
  let generation: Int
  let plan: ConnectionPlan
  let backfill: Bool
  let context: FeedContext

  private struct Delivery {
    var live = false
    var dropped = false
    var held: HeldMessages
  }

  private struct Control {
    var outbound: WebSocketOutboundWriter?
    var closeRequested = false
    var rolloverRequested = false
    var connectedAt: UInt64?
    var endReason: String?
  }

  private let delivery: Mutex<Delivery>
  private let control = Mutex(Control())
  /// Monotonic time (ns) of the last message, or of the connection attempt.
  private let lastMessage = Atomic<UInt64>(0)

  private let events: AsyncStream<SlotEvent>.Continuation

  init(
    slot: Int, generation: Int, plan: ConnectionPlan, backfill: Bool, context: FeedContext,
    events: AsyncStream<SlotEvent>.Continuation
  ) {
    self.events = events
    self.slot = slot
    self.generation = generation
    self.plan = plan
    self.backfill = backfill
    self.context = context
    delivery = Mutex(Delivery(held: HeldMessages(capacity: context.config.maxHeldMessages)))
  }

  /// Asks the connection to close; it ends (and reports `.ended`) shortly after.
  func close() { control.withLock { $0.closeRequested = true } }

  /// Stops delivering this connection's messages (its successor took over).
  func drop() { delivery.withLock { $0.dropped = true } }

  /// Hands the held-back messages to the sink, then delivers live.
  func goLive() {
    let dropped = delivery.withLock {
      context.sink.add($0.held.drain())
      $0.live = true
      return $0.held.dropped
    }
    if dropped > 0 {
      context.log(
        "binance: connection \(slot) dropped \(dropped) held messages while \(holdingPhase)")
    }
  }

  /// What the connection did while it held its messages back, for the log.
  private var holdingPhase: String { backfill ? "backfilling" : "subscribing" }

  private func receive(_ text: String) {
    lastMessage.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
    let slot = self.slot
    context.stats.update {
      $0.frames += 1
      if $0.connections.indices.contains(slot) { $0.connections[slot].messages += 1 }
    }
    let overflow = delivery.withLock { delivery -> Int in
      if delivery.dropped { return 0 }
      if delivery.live {
        context.sink.add(text)
        return 0
      }
      return delivery.held.append(text) ? delivery.held.dropped : 0
    }
    if overflow > 0 {
      context.stats.update { $0.heldDropped += 1 }
      if overflow == 1 {
        context.log(
          "binance: connection \(slot) held more than \(context.config.maxHeldMessages) messages"
            + " while \(holdingPhase); dropping the oldest (feed.binance.max_held_messages)")
      }
    }
    if text.utf8.count < 512, text.contains("\"serverShutdown\"") {
      requestRollover("serverShutdown event")
    }
  }

  private func requestRollover(_ why: String) {
    let first = control.withLock { control in
      defer { control.rolloverRequested = true }
      return !control.rolloverRequested
    }
    if first {
      context.log("binance: connection \(slot): \(why); opening its replacement")
      events.yield(.rollover(generation))
    }
  }

  private func setEndReason(_ reason: String) {
    control.withLock { if $0.endReason == nil { $0.endReason = reason } }
  }

  /// Connects after `delay` seconds and runs until the connection ends; always reports
  /// `.ended` last.
  func run(delay: Double) async {
    let stats = context.stats
    let config = context.config
    var reason = "closed"
    do {
      if delay > 0 {
        stats.setState(slot, .waiting)
        try await Task.sleep(for: .seconds(delay))
      }
      try await context.connectGate.acquire()
      stats.setState(slot, .connecting)
      lastMessage.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
      let inURL = Array(plan.streams.prefix(config.streamsInURL))
      let rest = Array(plan.streams.dropFirst(config.streamsInURL))
      let url = config.wsURL + "/stream?streams=" + inURL.joined(separator: "/")
      let wsConfig = {
        var c = WebSocketClientConfiguration(
          maxFrameSize: 1 << 24, closeTimeout: .seconds(2), validateUTF8: true)
        c.ignoreUncleanSSLShutdownErrors = true
        return c
      }()
      let logger = Logger(label: "binance-ws", factory: { _ in SwiftLogNoOpLogHandler() })
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          let client = WebSocketClient(url: url, configuration: wsConfig, logger: logger) {
            inbound, outbound, _ in
            try await self.session(inbound: inbound, outbound: outbound, subscribe: rest)
          }
          let closeFrame = try await client.run()
          self.setEndReason(
            closeFrame.map { "server closed the connection (\($0.closeCode))" }
              ?? "connection closed")
        }
        group.addTask { try await self.watch() }
        try await group.next()
        group.cancelAll()
      }
    } catch is CancellationError {
      setEndReason("stopped")
    } catch {
      setEndReason("\(error)")
    }
    reason = control.withLock { $0.endReason } ?? reason
    drop()
    events.yield(.ended(generation, reason))
  }

  /// The handler of one WebSocket connection: subscribes, backfills, reports `.ready`, and
  /// reads messages until the connection ends.
  private func session(
    inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, subscribe: [String]
  ) async throws {
    control.withLock {
      $0.outbound = outbound
      $0.connectedAt = DispatchTime.now().uptimeNanoseconds
    }
    lastMessage.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await self.setUp(outbound: outbound, subscribe: subscribe) }
      for try await message in inbound.messages(maxSize: 1 << 24) {
        switch message {
        case .text(let text): receive(text)
        case .binary(let buffer): receive(String(decoding: buffer.readableBytesView, as: UTF8.self))
        }
      }
      setEndReason("connection closed by the server")
      group.cancelAll()
    }
  }

  private func setUp(outbound: WebSocketOutboundWriter, subscribe: [String]) async throws {
    let config = context.config
    if !subscribe.isEmpty {
      context.stats.setState(slot, .subscribing)
      let pause = 1 / config.controlMessagesPerSecond
      var id = 0
      var rest = subscribe[...]
      while !rest.isEmpty {
        let chunk = rest.prefix(config.streamsPerSubscribe)
        rest = rest.dropFirst(chunk.count)
        id += 1
        let params = chunk.map(jsonString).joined(separator: ",")
        try await Task.sleep(for: .seconds(pause))
        try await outbound.write(
          .text(#"{"method":"SUBSCRIBE","params":[\#(params)],"id":\#(id)}"#))
      }
    }
    if backfill, !plan.symbols.isEmpty, !context.intervals.isEmpty {
      context.stats.setState(slot, .backfilling)
      try await runBackfill()
    }
    events.yield(.ready(generation))
  }

  /// Fetches the recent klines of every symbol × interval of this connection and hands them
  /// to the sink (while this connection's live messages are still held back).
  private func runBackfill() async throws {
    let pairs = plan.symbols.flatMap { s in context.intervals.map { (s, $0) } }
    let limit = context.config.backfillCandles
    let rest = context.rest
    let sink = context.sink
    let log = context.log
    let stats = context.stats
    try await withThrowingTaskGroup(of: Void.self) { group in
      var next = 0
      func launch() {
        let (symbol, interval) = pairs[next]
        next += 1
        group.addTask {
          do {
            let lines = try await rest.klineMessages(
              symbol: symbol, interval: interval, limit: limit)
            sink.add(lines, backfill: true)
          } catch let error as RestError {
            stats.update { $0.restFailures += 1 }
            log("binance: backfill \(symbol) \(interval) failed: \(error)")
          }
        }
      }
      // The REST gate bounds requests in flight; this bounds the tasks waiting for it.
      while next < pairs.count, next < context.config.restConcurrency * 2 { launch() }
      while try await group.next() != nil {
        if next < pairs.count { launch() }
      }
    }
  }

  /// Ends the connection when asked to, when it goes stale, or on cancellation; asks for a
  /// successor when it reaches its age limit.
  private func watch() async throws {
    let config = context.config
    let stale = UInt64(config.staleAfterSeconds * 1e9)
    let maxAge = UInt64(min(config.maxConnectionAgeSeconds, 1e9) * 1e9)
    while true {
      try await Task.sleep(for: .milliseconds(100))
      let now = DispatchTime.now().uptimeNanoseconds
      let (closing, connectedAt) = control.withLock { ($0.closeRequested, $0.connectedAt) }
      if closing {
        setEndReason("replaced")
        break
      }
      let last = lastMessage.load(ordering: .relaxed)
      if now > last, now - last > stale {
        setEndReason("stale: no message for \(config.staleAfterSeconds) s")
        break
      }
      if let connectedAt, now > connectedAt, now - connectedAt > maxAge {
        requestRollover("connection is \(Int(config.maxConnectionAgeSeconds)) s old")
      }
    }
    // Close politely, then give the server a moment to answer before the caller cancels.
    if let outbound = control.withLock({ $0.outbound }) {
      try? await outbound.close(.goingAway, reason: nil)
      try await Task.sleep(for: .seconds(1))
    }
  }
}

/// The live messages of a connection that is not live yet: the newest `capacity` of them, in
/// arrival order. A ring, so dropping the oldest costs nothing however large the cap.
struct HeldMessages {
  let capacity: Int
  /// Messages dropped so far to stay within `capacity`.
  private(set) var dropped = 0
  private var ring: [String] = []
  /// Where the oldest message is once the ring is full (the next one to overwrite).
  private var oldest = 0

  init(capacity: Int) { self.capacity = max(1, capacity) }

  var count: Int { ring.count }

  /// Holds `message`; returns true when that dropped the oldest held message.
  mutating func append(_ message: String) -> Bool {
    if ring.count < capacity {
      ring.append(message)
      return false
    }
    ring[oldest] = message
    oldest = (oldest + 1) % capacity
    dropped += 1
    return true
  }

  /// The held messages, oldest first; the ring is left empty (`dropped` is kept).
  mutating func drain() -> [String] {
    defer {
      ring = []
      oldest = 0
    }
    return oldest == 0 ? ring : Array(ring[oldest...] + ring[..<oldest])
  }
}
