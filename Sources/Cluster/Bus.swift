import Foundation
import NatsKit
import Support

/// A bus role's failure: one line for the user, and the exit status.
public struct BusFailure: Error, CustomStringConvertible, Sendable {
  public var description: String
  /// 1: the run failed; 2: bad usage or configuration.
  public var code: Int32
  /// The broker's JetStream error code when it refused the call (10071: wrong last sequence).
  public var brokerCode = 0

  public init(_ description: String, code: Int32 = 1, brokerCode: Int = 0) {
    self.description = description
    self.code = code
    self.brokerCode = brokerCode
  }
}

/// The bus's settings, written once by `engine bus init`.
public struct BusConfig: Sendable, Equatable, Codable {
  /// Symbols are spread over this many partitions; a shard owns some of them.
  public var partitions: Int
  /// How long a partition's owner may go without renewing its lease before another process
  /// may take the partition (a restarted shard waits at most this long).
  public var leaseSeconds: Double

  public init(partitions: Int, leaseSeconds: Double = 3) {
    self.partitions = partitions
    self.leaseSeconds = leaseSeconds
  }
}

/// A connection to the bus: the NATS connection, the bus's settings, and retries of what a
/// restarting broker makes fail for a while.
public final class Bus: Sendable {
  public let nats: NatsConnection
  public let config: BusConfig
  let log: @Sendable (String) -> Void
  /// How long a call keeps retrying while the broker is unreachable before the role gives up.
  let patienceSeconds: Double

  /// Connects and reads the settings `bus init` wrote (waiting for them up to `timeout`).
  public init(
    url: String, role: String, timeout: Double = 30, patienceSeconds: Double = 120,
    log: @escaping @Sendable (String) -> Void = { StandardError.line($0) }
  ) throws(BusFailure) {
    do {
      nats = try NatsConnection(url: url, name: "engine \(role)", timeout: timeout)
    } catch {
      throw BusFailure("bus: \(error)")
    }
    self.log = log
    self.patienceSeconds = patienceSeconds
    let deadline = Date().addingTimeInterval(timeout)
    var found: BusConfig?
    while found == nil {
      found = try? Self.readConfig(nats)
      if found != nil { break }
      if Date() >= deadline {
        nats.close()
        throw BusFailure("bus: \(url) has no engine bus; run `engine bus init --nats \(url)` first")
      }
      Thread.sleep(forTimeInterval: 0.2)
    }
    config = found ?? BusConfig(partitions: 1)
  }

  /// Creates the streams (or checks the existing ones) and writes the settings. Refuses to
  /// change the partition count of an existing bus: symbols would move between partitions.
  public static func initialize(url: String, config: BusConfig) throws(BusFailure) -> String {
    let nats: NatsConnection
    do {
      nats = try NatsConnection(url: url, name: "engine bus init", timeout: 10)
    } catch {
      throw BusFailure("bus: \(error)")
    }
    defer { nats.close() }
    do {
      for spec in streams(config) { try nats.ensureStream(spec) }
      if let existing = try readConfig(nats) {
        guard existing == config else {
          throw BusFailure(
            "bus: already initialised with \(existing.partitions) partitions and a \(existing.leaseSeconds) s lease; a new layout needs a new broker store",
            code: 2)
        }
        return "bus: already initialised (\(existing.partitions) partitions)"
      }
      let body = Array((try? JSONEncoder().encode(config)) ?? Data())
      try nats.publish(
        subject: BusLayout.configSubject, data: body, expectLastSubjectSequence: 0)
      return
        "bus: initialised \(url): \(config.partitions) partitions, streams \(streams(config).map(\.name).joined(separator: ", "))"
    } catch let error as BusFailure {
      throw error
    } catch {
      throw BusFailure("bus: \(error)")
    }
  }

  static func streams(_ config: BusConfig) -> [StreamSpec] {
    [
      StreamSpec(name: BusLayout.configStream, subjects: [BusLayout.configSubject]),
      StreamSpec(name: BusLayout.marketStream, subjects: ["mkt.*"]),
      StreamSpec(name: BusLayout.codeStream, subjects: ["code.*"], lastPerSubject: true),
      StreamSpec(name: BusLayout.diffStream, subjects: ["diff.*"]),
      StreamSpec(name: BusLayout.outputStream, subjects: ["out.>"]),
      StreamSpec(
        name: BusLayout.leaseStream, subjects: ["lease.*"], maxAgeSeconds: config.leaseSeconds,
        duplicateWindowSeconds: min(config.leaseSeconds, 120), lastPerSubject: true),
    ]
  }

  static func readConfig(_ nats: NatsConnection) throws -> BusConfig? {
    guard
      let m = try nats.lastMessage(stream: BusLayout.configStream, subject: BusLayout.configSubject)
    else { return nil }
    return try JSONDecoder().decode(BusConfig.self, from: Data(m.data))
  }

  /// Runs `body`, retrying while the failure is transient (the broker restarting), for up to
  /// the bus's patience; reports the first retry of a stretch once.
  @discardableResult
  func retrying<T>(_ what: String, stop: StopFlag? = nil, _ body: () throws(NatsError) -> T)
    throws(BusFailure) -> T
  {
    var firstFailure: Date?
    while true {
      do {
        let value = try body()
        if firstFailure != nil { log("bus: \(what): going on") }
        return value
      } catch {
        guard error.isTransient else {
          throw BusFailure("bus: \(error)", brokerCode: error.code)
        }
        let now = Date()
        if firstFailure == nil {
          firstFailure = now
          log("bus: \(error); retrying")
        }
        if let first = firstFailure, now.timeIntervalSince(first) > patienceSeconds {
          throw BusFailure("bus: \(error) (gave up after \(Int(patienceSeconds)) s)")
        }
        if stop?.isRaised == true { throw BusFailure("bus: stopped while \(what)") }
        Thread.sleep(forTimeInterval: 0.1)
      }
    }
  }

  /// Waits for the first message at or after `from` on `subject`, polling while there is none.
  /// Returns nil when `stop` is raised.
  func waitNext(stream: String, subject: String, from: UInt64, stop: StopFlag) throws(BusFailure)
    -> BusMessage?
  {
    var pause = 0.001
    while !stop.isRaised {
      if let m = try retrying(
        "reading \(subject)", stop: stop,
        { () throws(NatsError) in
          try nats.nextMessage(stream: stream, subject: subject, from: from)
        })
      {
        return m
      }
      Thread.sleep(forTimeInterval: pause)
      pause = min(pause * 2, 0.02)
    }
    return nil
  }

  /// The last cycle the ingest published on `partition` (nil: none yet, or unreachable).
  public func publishedCycle(partition: Int) -> Int64? {
    let last = try? nats.lastMessage(
      stream: BusLayout.marketStream, subject: BusLayout.marketSubject(partition))
    return last?.cycle
  }

  public func close() { nats.close() }
}

extension BusMessage {
  var cycle: Int64? { headers[BusHeader.cycle].flatMap { Int64($0) } }
  var isEnd: Bool { headers[BusHeader.end] != nil }
}
