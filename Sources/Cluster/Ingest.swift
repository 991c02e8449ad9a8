import Engine
import Evaluation
import Feeds
import Foundation
import NatsKit
import Support
import Synchronization
import Tracking

/// What the ingest has done, for its status and metrics (any thread).
public struct IngestProgress: Sendable {
  public var lastCycle: Int64?
  public var cycles = 0
  public var events = 0
  public var linesSkipped = 0
}

/// `engine ingest`: owns the cycle clock. It reads a feed, assigns every event to a cycle by
/// the engine's own rule (the cycle of its event time, or the open cycle when it arrives late;
/// live, a cycle also closes `cycle_ms + cycle_grace_ms` after it opened), and when a cycle
/// closes publishes one message per partition: that partition's events, even none. Every
/// shard therefore closes the same cycles, with the same events in each, as one process
/// would.
///
/// Each message carries the id `mkt.<p>.<cycle>`, so the broker stores a repeated publish
/// (a retry, a restarted ingest) once. A restarted replay ingest skips the cycles each
/// partition already holds.
public final class Ingest: Sendable {
  let bus: Bus
  let feed: Feed
  let cycleMs: Int64
  let cycleGraceMs: Int
  let live: Bool
  /// The strategies and plugins directories to publish for hot reload, if any.
  let codeDirectories: (strategies: String, plugins: String)?
  private let codeHash = Mutex<String?>(nil)
  public let progress = Mutex(IngestProgress())

  public init(
    bus: Bus, feed: Feed, cycleMs: Int, cycleGraceMs: Int, live: Bool,
    codeDirectories: (strategies: String, plugins: String)?
  ) {
    self.bus = bus
    self.feed = feed
    self.cycleMs = Int64(cycleMs)
    self.cycleGraceMs = cycleGraceMs
    self.live = live
    self.codeDirectories = codeDirectories
  }

  /// Runs until the feed ends (then marks the end on every partition) or `stop` is raised.
  public func run(stop: StopFlag) throws(BusFailure) {
    let partitions = bus.config.partitions
    // Per partition, the last cycle already on the bus (a restarted ingest skips those).
    var published = [Int64](repeating: Int64.min, count: partitions)
    var ended = 0
    for p in 0..<partitions {
      let last = try bus.retrying("reading mkt.\(p)") { () throws(NatsError) in
        try bus.nats.lastMessage(
          stream: BusLayout.marketStream, subject: BusLayout.marketSubject(p))
      }
      if let last {
        if last.isEnd { ended += 1 }
        published[p] = last.isEnd ? Int64.max : (last.cycle ?? Int64.min)
      }
    }
    if ended == partitions {
      bus.log("ingest: the bus already holds this feed to its end; nothing to publish")
      return
    }
    let watcher = try startCodeWatcher()
    defer { watcher?.stop() }

    let queue = FeedQueue()
    let feedStop = StopFlag()
    let feedThread = Thread { [feed] in feed.run(into: queue, stop: feedStop) }
    feedThread.name = "engine-feed"
    feedThread.start()
    defer { feedStop.raise() }

    var clock = CycleClock(cycleMs: Int(cycleMs), cycleGraceMs: cycleGraceMs)
    // A live feed continues after the cycles already on the bus; a replay assigns cycles
    // from the start, exactly as the first run did, and skips what is stored.
    if live, let last = published.filter({ $0 != Int64.max }).max(), last != Int64.min {
      clock.closed(last)
    }
    var pending = [[MarketEvent]](repeating: [], count: partitions)

    func close(_ cycle: Int64) throws(BusFailure) {
      let hash = codeHash.withLock { $0 }
      var batch: [(partition: Int, message: NatsConnection.Outgoing)] = []
      for p in 0..<partitions where cycle > published[p] {
        var headers = [(BusHeader.cycle, String(cycle)), (BusHeader.cycleMs, String(cycleMs))]
        if let hash { headers.append((BusHeader.code, hash)) }
        batch.append(
          (
            p,
            NatsConnection.Outgoing(
              subject: BusLayout.marketSubject(p), data: EventCodec.encode(pending[p]),
              headers: headers, msgID: "mkt.\(p).\(cycle)")
          ))
      }
      // The cycle's messages in one round trip. A cycle is complete on the bus before the
      // next is sent, so each partition's messages stay in cycle order; when any of the batch
      // is not acknowledged, each is published again and waited for (ids make the ones
      // already stored duplicates).
      if !bus.nats.publishPipelined(batch.map(\.message), timeoutMs: 5_000) {
        for (p, m) in batch {
          try bus.retrying("publishing mkt.\(p)", stop: nil) { () throws(NatsError) in
            try bus.nats.publish(
              subject: m.subject, data: m.data, headers: m.headers, msgID: m.msgID)
          }
        }
      }
      for (p, _) in batch { published[p] = cycle }
      for p in 0..<partitions { pending[p].removeAll(keepingCapacity: true) }
      progress.withLock {
        $0.lastCycle = cycle
        $0.cycles += 1
      }
    }

    while !stop.isRaised {
      let timeout = live ? clock.waitMs(cap: 100) : 100
      guard let message = queue.pop(timeoutMs: timeout) else {
        if live, clock.isDueByWallClock, let o = clock.closeOpen() { try close(o) }
        continue
      }
      switch message {
      case .failed(let why):
        throw BusFailure("ingest: \(why)")
      case .end:
        if let o = clock.closeOpen() { try close(o) }
        for p in 0..<partitions where published[p] != Int64.max {
          try bus.retrying("ending mkt.\(p)", stop: nil) { () throws(NatsError) in
            try bus.nats.publish(
              subject: BusLayout.marketSubject(p), data: [], headers: [(BusHeader.end, "1")],
              msgID: "mkt.\(p).end")
          }
        }
        bus.log("ingest: end of the feed marked on \(partitions) partitions")
        return
      case .batch(let batch), .cycle(_, let batch):
        for problem in batch.problems {
          bus.log("feed: skipped line \(problem.line): \(problem.message)")
        }
        progress.withLock {
          $0.events += batch.events.count
          $0.linesSkipped += batch.skipped
        }
        for event in batch.events {
          if clock.endsOpenCycle(at: event.eventTime), let o = clock.closeOpen() { try close(o) }
          _ = clock.cycle(for: event.eventTime)
          pending[BusLayout.partition(of: event.symbolName.string, partitions: partitions)]
            .append(event)
        }
      }
    }
  }

  /// Publishes the strategy files and watches them for saves; nil without directories.
  private func startCodeWatcher() throws(BusFailure) -> DirectoryWatcher? {
    guard let dirs = codeDirectories else { return nil }
    try publishCode(dirs)
    let watcher = DirectoryWatcher(directories: [dirs.strategies, dirs.plugins]) { [self] in
      do {
        try publishCode(dirs)
      } catch {
        bus.log("ingest: \(error)")
      }
    }
    watcher.start()
    return watcher
  }

  /// Reads the files, stores them on the bus under their hash, and stamps that hash on the
  /// cycles published from now on: every shard loads this version at the same cycle.
  private func publishCode(_ dirs: (strategies: String, plugins: String)) throws(BusFailure) {
    let code: CodeSet
    do {
      code = try CodeSet.load(strategies: dirs.strategies, plugins: dirs.plugins)
    } catch {
      throw BusFailure("ingest: \(error)", code: 2)
    }
    let hash = CodeCodec.hash(code)
    if codeHash.withLock({ $0 }) == hash { return }
    let body = CodeCodec.encode(code)
    try bus.retrying("publishing strategies", stop: nil) { () throws(NatsError) in
      try bus.nats.publish(subject: BusLayout.codeSubject(hash), data: body, msgID: "code.\(hash)")
    }
    let first = codeHash.withLock { old -> Bool in
      defer { old = hash }
      return old == nil
    }
    bus.log(
      "ingest: strategies \(hash) (\(code.strategies.map(\.id).joined(separator: ", "))) "
        + (first ? "published" : "published; shards load them at the next cycle"))
  }
}
