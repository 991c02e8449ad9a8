// Webhook delivery: one POST per evaluated cycle with diffs, per URL, in order, with retries.

import EngineSettings
import AsyncHTTPClient
import Crypto
import Engine
import Foundation
import NIOCore
import Support
import Synchronization

/// Settings of one webhook sink (`sinks.webhook.*`).
public struct WebhookOptions: Sendable, Equatable {
  /// `sinks.webhook.url`: where batches are POSTed (http or https).
  public var url: String
  /// `sinks.webhook.secret`: when set, `X-Engine-Signature: sha256=<hex HMAC-SHA256 of the body>`.
  public var secret: String?
  /// `sinks.webhook.queue_capacity`: batches waiting (including the one being delivered);
  /// when full the oldest is dropped and counted.
  public var queueCapacity: Int
  /// `sinks.webhook.timeout_ms`: one attempt, from sending to the response head.
  public var timeoutMs: Int
  /// `sinks.webhook.backoff_ms`: first wait after a failed attempt; doubles per retry.
  public var backoffMs: Int
  /// `sinks.webhook.backoff_max_ms`: cap of the back-off (a `Retry-After` may ask for longer).
  public var backoffMaxMs: Int

  public init(
    url: String, secret: String? = nil, queueCapacity: Int = 1000, timeoutMs: Int = 5000,
    backoffMs: Int = 250, backoffMaxMs: Int = 30_000
  ) {
    self.url = url
    self.secret = secret
    self.queueCapacity = max(1, queueCapacity)
    self.timeoutMs = max(1, timeoutMs)
    self.backoffMs = max(1, backoffMs)
    self.backoffMaxMs = max(self.backoffMs, backoffMaxMs)
  }

  /// Checks a URL for `sinks.webhook.url`: nil when fine, else why not.
  public static func problem(withURL url: String) -> String? {
    guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
      scheme == "http" || scheme == "https", let host = parsed.host, !host.isEmpty
    else { return "expected an http:// or https:// URL with a host" }
    return nil
  }
}

/// Counters of one webhook sink.
public struct WebhookStats: Sendable, Equatable, Codable {
  /// Batches (cycles) delivered with a 2xx answer.
  public var delivered = 0
  /// Diffs in the delivered batches.
  public var deliveredDiffs = 0
  /// Attempts after a failed one (connection failure, timeout, 408, 429, 5xx).
  public var retries = 0
  /// Batches dropped because the queue was full (the oldest goes), or left at shutdown.
  public var dropped = 0
  /// Batches the receiver refused with another 4xx: not retried.
  public var rejected = 0
  /// Batches waiting, including one being delivered.
  public var queueDepth = 0
  public var lastStatus: Int?
  public var lastError: String?
}

/// Posts each evaluated cycle's diffs to one URL as
/// `{"cycle":…,"time":…,"diffs":[<the stdout objects>]}`.
///
/// ``write(cycle:time:diffs:)`` (the cycle thread) only encodes the body and appends it to a
/// bounded queue under a lock: it never waits for the network. A background task delivers
/// the batches one at a time, in order: batch N+1 is sent only after N was delivered,
/// refused (4xx other than 408/429) or dropped. Failed attempts (connection failure, timeout,
/// 408, 429, 5xx) are retried after an exponential back-off capped at `backoffMaxMs`, or after
/// the `Retry-After` the receiver gave. When the queue is full the oldest batch is dropped and
/// counted (if it is the one being delivered, it is abandoned after the current attempt
/// unless that attempt succeeds).
///
/// Delivery is at least once: an attempt that timed out after the receiver got it is sent
/// again. Receivers can de-duplicate on `cycle` (also in header `X-Engine-Cycle`).
public final class WebhookSink: DiffSink, Sendable {
  public let options: WebhookOptions
  /// The URL without user info and query, for labels and logs.
  public let label: String

  private struct Batch: Sendable {
    var cycle: Int64
    var diffs: Int
    var body: [UInt8]
  }

  private struct State {
    var pending: [Batch] = []
    var inFlight = false
    var abandonInFlight = false
    var stopped = false
    var stats = WebhookStats()
    var failing = false
    var lastFailureLog = 0.0
  }

  private let state = Mutex(State())
  private let wake: AsyncStream<Void>.Continuation
  private let client: HTTPClient
  private let key: SymmetricKey?
  private let log: @Sendable (String) -> Void
  private let task = Mutex<Task<Void, Never>?>(nil)

  /// - Parameter log: one-line reports (delivery failing / recovered, refused batches).
  public init(
    options: WebhookOptions,
    log: @escaping @Sendable (String) -> Void = { StandardError.line($0) }
  ) {
    self.options = options
    self.label = Self.label(for: options.url)
    self.log = log
    key = options.secret.map { SymmetricKey(data: Data($0.utf8)) }
    var configuration = HTTPClient.Configuration()
    configuration.redirectConfiguration = .disallow
    configuration.timeout = HTTPClient.Configuration.Timeout(
      connect: .milliseconds(Int64(options.timeoutMs)),
      read: .milliseconds(Int64(options.timeoutMs)))
    client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    let (stream, continuation) = AsyncStream.makeStream(
      of: Void.self, bufferingPolicy: .bufferingNewest(1))
    wake = continuation
    let worker = Task { [self] in await self.deliveryLoop(stream) }
    task.withLock { $0 = worker }
  }

  /// Current counters.
  public var stats: WebhookStats {
    state.withLock { s in
      var stats = s.stats
      stats.queueDepth = s.pending.count + (s.inFlight && !s.abandonInFlight ? 1 : 0)
      return stats
    }
  }

  // MARK: DiffSink (cycle thread)

  public func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff]) {
    guard !diffs.isEmpty else { return }
    let batch = Batch(
      cycle: cycle, diffs: diffs.count, body: Self.body(cycle: cycle, time: time, diffs: diffs))
    let capacity = options.queueCapacity
    let accepted = state.withLock { s -> Bool in
      guard !s.stopped else {
        s.stats.dropped += 1
        return false
      }
      let depth = s.pending.count + (s.inFlight && !s.abandonInFlight ? 1 : 0)
      if depth >= capacity {
        if s.inFlight && !s.abandonInFlight {
          // The oldest batch is the one being delivered: abandon it after this attempt
          // (counted as dropped then, unless the attempt succeeds).
          s.abandonInFlight = true
        } else if !s.pending.isEmpty {
          s.pending.removeFirst()
          s.stats.dropped += 1
        }
      }
      s.pending.append(batch)
      return true
    }
    if accepted { wake.yield() }
  }

  /// The request body: `{"cycle":C,"time":T,"diffs":[…]}`, each diff the stdout object.
  static func body(cycle: Int64, time: Int64, diffs: [ResolvedDiff]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(64 + diffs.count * 120)
    out.append(contentsOf: Array("{\"cycle\":\(cycle),\"time\":\(time),\"diffs\":[".utf8))
    for (i, d) in diffs.enumerated() {
      if i > 0 { out.append(UInt8(ascii: ",")) }
      JSONLinesWriter.append(d, cycle: cycle, time: time, to: &out)
      if out.last == UInt8(ascii: "\n") { out.removeLast() }
    }
    out.append(contentsOf: Array("]}".utf8))
    return out
  }

  /// `sha256=<hex>` of `body` under `secret`.
  public static func signature(body: some DataProtocol, secret: String) -> String {
    let mac = HMAC<SHA256>.authenticationCode(
      for: body, using: SymmetricKey(data: Data(secret.utf8)))
    return "sha256=" + hex(Array(mac))
  }

  static func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  static func label(for url: String) -> String {
    guard var parts = URLComponents(string: url) else { return url }
    parts.user = nil
    parts.password = nil
    parts.query = nil
    parts.fragment = nil
    return parts.string ?? url
  }

  // MARK: Delivery (background task)

  private func deliveryLoop(_ stream: AsyncStream<Void>) async {
    for await _ in stream {
      while let batch = takeNext() {
        await deliver(batch)
        if Task.isCancelled { break }
      }
      if Task.isCancelled { break }
    }
    // Stopped: whatever is left is dropped, and counted.
    state.withLock { s in
      s.stats.dropped += s.pending.count + (s.inFlight ? 1 : 0)
      s.pending.removeAll()
      s.inFlight = false
    }
  }

  private func takeNext() -> Batch? {
    state.withLock { s in
      guard !s.pending.isEmpty else { return nil }
      s.inFlight = true
      s.abandonInFlight = false
      return s.pending.removeFirst()
    }
  }

  private enum Outcome {
    case delivered(Int)
    case retry(String, status: Int?, after: Double?)
    case refused(Int)
  }

  private func deliver(_ batch: Batch) async {
    var delay = Double(options.backoffMs) / 1000
    let cap = Double(options.backoffMaxMs) / 1000
    while true {
      let outcome = await attempt(batch)
      let now = Date().timeIntervalSince1970
      var message: String?
      let again = state.withLock { s -> Bool in
        switch outcome {
        case .delivered(let status):
          s.stats.delivered += 1
          s.stats.deliveredDiffs += batch.diffs
          s.stats.lastStatus = status
          s.stats.lastError = nil
          if s.failing { message = "webhook \(label): delivering again" }
          s.failing = false
          s.inFlight = false
          s.abandonInFlight = false
          return false
        case .refused(let status):
          s.stats.rejected += 1
          s.stats.lastStatus = status
          s.stats.lastError = "HTTP \(status)"
          message =
            "webhook \(label): cycle \(batch.cycle) refused with HTTP \(status); not retried"
          s.inFlight = false
          s.abandonInFlight = false
          return false
        case .retry(let why, let status, _):
          s.stats.lastStatus = status
          s.stats.lastError = why
          if !s.failing || now - s.lastFailureLog >= 30 {
            message = "webhook \(label): \(why); retrying with back-off"
            s.lastFailureLog = now
          }
          s.failing = true
          if s.abandonInFlight || s.stopped && Task.isCancelled {
            s.stats.dropped += 1
            s.inFlight = false
            s.abandonInFlight = false
            return false
          }
          s.stats.retries += 1
          return true
        }
      }
      if let message { log(message) }
      guard again else { return }
      var wait = delay
      if case .retry(_, _, let after?) = outcome { wait = after }
      delay = min(delay * 2, cap)
      // Sleep in slices so an abandoned batch or a shutdown is noticed promptly.
      let until = Date().addingTimeInterval(wait)
      while Date() < until {
        if Task.isCancelled || state.withLock({ $0.abandonInFlight }) { break }
        let left = until.timeIntervalSinceNow
        try? await Task.sleep(for: .milliseconds(Int(min(max(left, 0.001), 0.05) * 1000) + 1))
      }
      if Task.isCancelled {
        state.withLock { s in
          s.stats.dropped += 1
          s.inFlight = false
        }
        return
      }
    }
  }

  private func attempt(_ batch: Batch) async -> Outcome {
    var request = HTTPClientRequest(url: options.url)
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/json")
    request.headers.add(name: "User-Agent", value: "engine-webhook/1")
    request.headers.add(name: "X-Engine-Cycle", value: String(batch.cycle))
    if let key {
      let mac = HMAC<SHA256>.authenticationCode(for: batch.body, using: key)
      request.headers.add(name: "X-Engine-Signature", value: "sha256=" + Self.hex(Array(mac)))
    }
    request.body = .bytes(ByteBuffer(bytes: batch.body))
    do {
      let response = try await client.execute(
        request, timeout: .milliseconds(Int64(options.timeoutMs)))
      _ = try? await response.body.collect(upTo: 1 << 20)
      let code = Int(response.status.code)
      switch code {
      case 200..<300:
        return .delivered(code)
      case 408, 429, 500..<600:
        let after = response.headers.first(name: "Retry-After").flatMap(Self.retryAfter)
        return .retry("HTTP \(code)", status: code, after: after)
      default:
        return .refused(code)
      }
    } catch {
      return .retry("\(error)", status: nil, after: nil)
    }
  }

  /// Seconds to wait from a `Retry-After` value (delay-seconds or an HTTP date), at most 1 h.
  static func retryAfter(_ value: String) -> Double? {
    let text = value.trimmingCharacters(in: .whitespaces)
    if let seconds = Double(text), seconds.isFinite, seconds >= 0 { return min(seconds, 3600) }
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
    guard let date = formatter.date(from: text) else { return nil }
    return min(max(date.timeIntervalSinceNow, 0), 3600)
  }

  // MARK: Shutdown

  /// Stops accepting batches, gives the queue up to `flush` to drain, then cancels delivery
  /// (what is left is counted as dropped) and closes the HTTP client.
  public func shutdown(flush: Duration = .seconds(2)) async {
    state.withLock { $0.stopped = true }
    wake.finish()
    let deadline = ContinuousClock.now + flush
    while ContinuousClock.now < deadline {
      let idle = state.withLock { $0.pending.isEmpty && !$0.inFlight }
      if idle { break }
      try? await Task.sleep(for: .milliseconds(20))
    }
    let worker = task.withLock { $0 }
    worker?.cancel()
    await worker?.value
    try? await client.shutdown()
  }
}
