import Engine
import Evaluation
import Feeds
import Foundation
import NatsKit
import Support
import Synchronization
import Tracking

/// `engine shard i/n`: evaluates the partitions `p` with `p mod n == i` with the ordinary
/// engine, fed cycle by cycle from the bus, and publishes one result per (partition, cycle).
///
/// Exactly once, without a window: each result expects the previous result's sequence on its
/// subject, so the broker stores it only if nothing else was written there since; a publish
/// whose answer was lost is recognised on retry by its writer and cycle. A restarted shard
/// reads its last result per partition, re-runs the input from the start without publishing
/// up to there (the engine is deterministic, so it rebuilds the same candles, limiter times
/// and match sets), and goes on from the next cycle.
public final class Shard: @unchecked Sendable {  // safe: one thread at a time, see below
  // `committed` and `failure` are only touched on the engine's cycle thread (in the
  // cycle observer) and, before `engine.run` starts and after it returns, by the thread that
  // calls `run`; the rest is immutable or thread-safe (`Mutex`, `StopFlag`, `Bus`).
  let bus: Bus
  let index: Int
  let count: Int
  public let partitions: [Int]
  let owner: String
  let leases: PartitionLeases
  /// Per owned partition, the last result on the bus: its cycle (`Int64.max` once ended) and
  /// sequence (0: none).
  private var committed: [Int: (cycle: Int64, sequence: UInt64)] = [:]
  private var failure: BusFailure?
  private var cycleMs: Int64 = 0
  /// The last cycle closed, for the metrics (any thread).
  public let lastCycle = Mutex<Int64?>(nil)

  public init(bus: Bus, index: Int, count: Int) throws(BusFailure) {
    guard count >= 1, index >= 0, index < count else {
      throw BusFailure("--shard \(index)/\(count): expected i/n with 0 <= i < n", code: 2)
    }
    let partitions = (0..<bus.config.partitions).filter { $0 % count == index }
    guard !partitions.isEmpty else {
      throw BusFailure(
        "shard \(index)/\(count) owns no partition: the bus has only \(bus.config.partitions)",
        code: 2)
    }
    self.bus = bus
    self.index = index
    self.count = count
    self.partitions = partitions
    owner = "\(ProcessInfo.processInfo.hostName):\(getpid()):shard \(index)/\(count)"
    leases = PartitionLeases(bus: bus, partitions: partitions, owner: owner)
  }

  /// Takes the partitions' leases and reads where each partition's results stand. `lost` is
  /// called (on another thread) if a lease is taken away later.
  public func claim(lost: @escaping @Sendable (String) -> Void) throws(BusFailure) {
    try leases.acquire()
    leases.startRenewing(lost: lost)
    for p in partitions {
      let last = try bus.retrying("reading diff.\(p)") { () throws(NatsError) in
        try bus.nats.lastMessage(stream: BusLayout.diffStream, subject: BusLayout.diffSubject(p))
      }
      committed[p] =
        last.map { ($0.isEnd ? Int64.max : ($0.cycle ?? Int64.min), $0.sequence) }
        ?? (Int64.min, 0)
    }
  }

  /// Whether every owned partition already holds its end: nothing left to do.
  public var isComplete: Bool { partitions.allSatisfy { committed[$0]?.cycle == Int64.max } }

  /// The strategy files the bus names for the first cycle (hot reload through the ingest),
  /// or nil when the ingest publishes none.
  public func firstCode(stop: StopFlag) throws(BusFailure) -> CodeSet? {
    guard
      let first = try bus.waitNext(
        stream: BusLayout.marketStream, subject: BusLayout.marketSubject(partitions[0]), from: 1,
        stop: stop)
    else { return nil }
    guard let hash = first.headers[BusHeader.code] else { return nil }
    return try code(hash)
  }

  func code(_ hash: String) throws(BusFailure) -> CodeSet {
    guard
      let m = try bus.retrying(
        "reading strategies \(hash)",
        { () throws(NatsError) in
          try bus.nats.lastMessage(
            stream: BusLayout.codeStream, subject: BusLayout.codeSubject(hash))
        })
    else { throw BusFailure("bus: strategies \(hash) are not on the bus") }
    do {
      return try CodeCodec.decode(m.data)
    } catch {
      throw BusFailure("bus: strategies \(hash): \(error)")
    }
  }

  /// Runs `engine` (started, with `collector` among its sinks) on the owned partitions until
  /// the ingest's end, publishing each cycle's results; `prepare` turns strategy files from
  /// the bus into what the engine runs (the `strategy.*` settings applied).
  public func run(
    engine: CycleEngine, collector: CycleCollector, cycleMs: Int,
    prepare: @escaping @Sendable (CodeSet) throws -> CodeSet
  ) throws(BusFailure) {
    self.cycleMs = Int64(cycleMs)
    engine.addCycleObserver { [self, unowned engine] status in
      guard failure == nil else { return }
      let diffs = collector.take(cycle: status.cycle)
      do {
        try publish(cycle: status.cycle, diffs: diffs)
        lastCycle.withLock { $0 = status.cycle }
      } catch {
        failure = (error as? BusFailure) ?? BusFailure("shard: \(error)")
        engine.requestStop()
      }
    }
    let feed = ShardFeed(
      bus: bus, partitions: partitions, cycleMs: Int64(cycleMs),
      reload: { [self, unowned engine] hash, cycle throws(BusFailure) in
        let files = try code(hash)
        let prepared: CodeSet
        do {
          prepared = try prepare(files)
        } catch {
          throw BusFailure("strategies \(hash): \(error)")
        }
        engine.requestReload(prepared, atCycle: cycle)
        bus.log("shard: strategies \(hash) apply from cycle \(cycle)")
      })
    defer { leases.stopRenewing() }
    do {
      _ = try engine.run(feed: feed)
    } catch {
      throw failure ?? BusFailure("shard: \(error)")
    }
    if let failure { throw failure }
    guard feed.reachedEnd.load(ordering: .acquiring) else { return }
    for p in partitions where committed[p]?.cycle != Int64.max {
      try append(p, cycle: nil, body: [])
    }
    bus.log(
      "shard \(index)/\(count): end of input; partitions \(partitions.map(String.init).joined(separator: ",")) done"
    )
  }

  private func publish(cycle: Int64, diffs: [ResolvedDiff]) throws(BusFailure) {
    var byPartition: [Int: [ResolvedDiff]] = [:]
    let n = bus.config.partitions
    for d in diffs {
      byPartition[BusLayout.partition(of: d.symbol, partitions: n), default: []].append(d)
    }
    for p in partitions {
      guard let c = committed[p], cycle > c.cycle else { continue }
      try append(p, cycle: cycle, body: DiffCodec.encode(byPartition[p] ?? []))
    }
  }

  /// Appends a result (or, `cycle` nil, the end) to `diff.<p>`, fenced on the last one.
  private func append(_ p: Int, cycle: Int64?, body: [UInt8]) throws(BusFailure) {
    guard let c = committed[p] else { return }
    let subject = BusLayout.diffSubject(p)
    var headers = [(BusHeader.writer, owner)]
    if let cycle {
      headers.append((BusHeader.cycle, String(cycle)))
      headers.append((BusHeader.time, String((cycle &+ 1) &* cycleMs)))
    } else {
      headers.append((BusHeader.end, "1"))
    }
    do {
      let seq = try bus.retrying("publishing \(subject)", stop: nil) { () throws(NatsError) in
        try bus.nats.publish(
          subject: subject, data: body, headers: headers, expectLastSubjectSequence: c.sequence
        ).sequence
      }
      committed[p] = (cycle ?? Int64.max, seq)
    } catch  where error.brokerCode == 10071 {
      // Either this process's own publish went through and its answer was lost (a broker
      // restart), or another process writes this partition.
      let last = try bus.retrying("reading \(subject)") { () throws(NatsError) in
        try bus.nats.lastMessage(stream: BusLayout.diffStream, subject: subject)
      }
      if let last, last.headers[BusHeader.writer] == owner, last.cycle == cycle,
        last.isEnd == (cycle == nil)
      {
        committed[p] = (cycle ?? Int64.max, last.sequence)
        return
      }
      throw BusFailure(
        "partition \(p) is written by another process (\(last?.headers[BusHeader.writer] ?? "?")): is a second copy of shard \(index)/\(count) running? Stopping."
      )
    }
  }
}

/// A sink that keeps each cycle's diffs until the cycle observer publishes them.
public final class CycleCollector: DiffSink {
  private var byCycle: [Int64: [ResolvedDiff]] = [:]

  public init() {}

  public func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff]) {
    byCycle[cycle, default: []] += diffs
  }

  func take(cycle: Int64) -> [ResolvedDiff] {
    byCycle.removeValue(forKey: cycle) ?? []
  }
}

/// The shard's input: per cycle, one message from each owned partition, applied as one
/// engine cycle (`FeedMessage.cycle`).
final class ShardFeed: Feed {
  let bus: Bus
  let partitions: [Int]
  let cycleMs: Int64
  let reload: @Sendable (String, Int64) throws(BusFailure) -> Void
  let reachedEnd = Atomic<Bool>(false)

  init(
    bus: Bus, partitions: [Int], cycleMs: Int64,
    reload: @escaping @Sendable (String, Int64) throws(BusFailure) -> Void
  ) {
    self.bus = bus
    self.partitions = partitions
    self.cycleMs = cycleMs
    self.reload = reload
  }

  func run(into queue: FeedQueue, stop: StopFlag) {
    var cursors = [UInt64](repeating: 1, count: partitions.count)
    var hash: String?
    var first = true
    do {
      while !stop.isRaised {
        var messages: [BusMessage] = []
        for (k, p) in partitions.enumerated() {
          guard
            let m = try bus.waitNext(
              stream: BusLayout.marketStream, subject: BusLayout.marketSubject(p),
              from: cursors[k], stop: stop)
          else { return }
          cursors[k] = m.sequence + 1
          messages.append(m)
        }
        let ends = messages.filter(\.isEnd).count
        if ends == messages.count {
          reachedEnd.store(true, ordering: .releasing)
          queue.push(.end, unless: stop)
          return
        }
        guard ends == 0, let cycle = messages[0].cycle,
          messages.allSatisfy({ $0.cycle == cycle })
        else {
          queue.push(
            .failed(
              "bus: partitions \(partitions) disagree on the next cycle (\(messages.map { $0.cycle.map(String.init) ?? ($0.isEnd ? "end" : "?") }))"
            ))
          return
        }
        if let ms = messages[0].headers[BusHeader.cycleMs], ms != String(cycleMs) {
          queue.push(
            .failed(
              "bus: the ingest closes cycles of \(ms) ms, this shard of \(cycleMs) ms (set --cycle-ms \(ms))"
            ))
          return
        }
        let stamped = messages[0].headers[BusHeader.code]
        if let stamped, stamped != hash {
          // The first stamp is the code the engine started with (``Shard/firstCode``).
          if !first { try reload(stamped, cycle) }
          hash = stamped
        }
        first = false
        var batch = FeedBatch()
        for m in messages {
          batch.events += try EventCodec.decode(m.data)
          batch.bytes += m.data.count
        }
        batch.lines = messages.count
        if !queue.push(.cycle(id: cycle, batch), unless: stop) { return }
      }
    } catch let error as BusFailure {
      queue.push(.failed(error.description))
    } catch {
      queue.push(.failed("bus: \(error)"))
    }
  }
}
