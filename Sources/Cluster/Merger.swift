import Engine
import Evaluation
import Foundation
import NatsKit
import Support
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// What the merger has done, for its status and metrics (any thread).
public struct MergeProgress: Sendable {
  public var lastCycle: Int64?
  public var cycles = 0
  public var lines = 0
  /// Per partition, the newest cycle whose result has arrived.
  public var arrived: [Int: Int64] = [:]
}

/// `engine merge`: waits for every partition's result of a cycle, merges them in the diff
/// order (strategy id, then symbol, in byte order: each partition's list is already in that
/// order and no symbol is in two partitions) and writes the cycle to its sinks and to the
/// output stream: one message per line on `out.<strategy>.<symbol>`, then a marker on
/// `out._c`. A restarted merger goes on after the last marker; lines of a cycle it had begun
/// are skipped by count (and carry ids `out.<cycle>.<i>`, so a repeat is stored once anyway).
public final class Merger: @unchecked Sendable {  // safe: one thread runs it, see below
  // Everything mutable is touched only by the thread that calls `run`; `progress` is a
  // `Mutex`.
  let bus: Bus
  let sink: DiffSink
  /// The first cycle the sinks get (cycles before it were written by an earlier run).
  let sinksFrom: Int64?
  public let progress = Mutex(MergeProgress())

  /// - Parameter sinksFrom: write cycles from this one to `sink` (nil: after the last cycle on
  ///   the output stream, the cycle a restarted merger resumes at).
  public init(bus: Bus, sink: DiffSink, sinksFrom: Int64?) {
    self.bus = bus
    self.sink = sink
    self.sinksFrom = sinksFrom
  }

  /// Merges until every partition's end has arrived (returns) or `stop` is raised.
  public func run(stop: StopFlag) throws(BusFailure) {
    let partitions = bus.config.partitions
    let marker = try bus.retrying("reading \(BusLayout.markerSubject)") { () throws(NatsError) in
      try bus.nats.lastMessage(stream: BusLayout.outputStream, subject: BusLayout.markerSubject)
    }
    let published = marker?.cycle ?? Int64.min
    // Lines after the last marker belong to the cycle after it, begun by an earlier run.
    var begun = 0
    var begunCycle: Int64?
    var next = (marker?.sequence ?? 0) + 1
    while let m = try bus.retrying(
      "reading out.*.*",
      { () throws(NatsError) in
        try bus.nats.nextMessage(stream: BusLayout.outputStream, subject: "out.*.*", from: next)
      })
    {
      begun += 1
      begunCycle = m.cycle
      next = m.sequence + 1
    }
    let sinksFrom = self.sinksFrom ?? (published == Int64.min ? Int64.min : published + 1)
    if marker != nil || begun > 0 {
      bus.log(
        "merge: the output stream ends at cycle \(marker?.cycle.map(String.init) ?? "none")"
          + (begun > 0 ? " and \(begun) lines of cycle \(begunCycle.map(String.init) ?? "?")" : "")
          + "; going on from there")
    }

    var pending: [Int64: [Int: [UInt8]]] = [:]
    var times: [Int64: Int64] = [:]
    var ended = Set<Int>()
    var cursor: UInt64 = 1
    var lastMerged = Int64.min
    while !stop.isRaised {
      guard
        let m = try bus.waitNext(
          stream: BusLayout.diffStream, subject: "diff.*", from: cursor, stop: stop)
      else { return }
      cursor = m.sequence + 1
      guard let p = BusLayout.partition(ofSubject: m.subject), p < partitions else { continue }
      if m.isEnd {
        ended.insert(p)
      } else if let c = m.cycle {
        progress.withLock { $0.arrived[p] = c }
        if c > lastMerged && (c >= sinksFrom || c > published) {
          pending[c, default: [:]][p] = m.data
          if let t = m.headers[BusHeader.time].flatMap({ Int64($0) }) { times[c] = t }
        }
      }
      // Every partition's results arrive in cycle order, so the oldest pending cycle is the
      // next to merge once all partitions are in.
      while let c = pending.keys.min(), let parts = pending[c], parts.count == partitions {
        pending.removeValue(forKey: c)
        lastMerged = c
        var diffs: [ResolvedDiff] = []
        for p in 0..<partitions {
          do {
            diffs += try DiffCodec.decode(parts[p] ?? [])
          } catch {
            throw BusFailure("merge: diff.\(p) cycle \(c): \(error)")
          }
        }
        // A stable sort: equal keys only come from one partition, in its order.
        let order = diffs.indices.sorted { a, b in
          let x = diffs[a]
          let y = diffs[b]
          if x.strategy != y.strategy {
            return x.strategy.utf8.lexicographicallyPrecedes(y.strategy.utf8)
          }
          if x.symbol != y.symbol { return x.symbol.utf8.lexicographicallyPrecedes(y.symbol.utf8) }
          return a < b
        }
        let merged = order.map { diffs[$0] }
        let time = times.removeValue(forKey: c) ?? 0
        if c >= sinksFrom, !merged.isEmpty { sink.write(cycle: c, time: time, diffs: merged) }
        if c > published {
          try publishOutput(cycle: c, time: time, diffs: merged, skip: begunCycle == c ? begun : 0)
        }
        progress.withLock {
          $0.lastCycle = c
          $0.cycles += 1
          $0.lines += merged.count
        }
      }
      if ended.count == partitions, pending.isEmpty {
        bus.log("merge: every partition ended; \(progress.withLock { $0.cycles }) cycles merged")
        return
      }
    }
  }

  private func publishOutput(cycle: Int64, time: Int64, diffs: [ResolvedDiff], skip: Int)
    throws(BusFailure)
  {
    var line: [UInt8] = []
    for (i, d) in diffs.enumerated() where i >= skip {
      line.removeAll(keepingCapacity: true)
      JSONLinesWriter.append(d, cycle: cycle, time: time, to: &line)
      line.removeLast()  // the newline: a message is one line
      let subject = BusLayout.outputSubject(strategy: d.strategy, symbol: d.symbol)
      let body = line
      try bus.retrying("publishing \(subject)", stop: nil) { () throws(NatsError) in
        try bus.nats.publish(
          subject: subject, data: body, headers: [(BusHeader.cycle, String(cycle))],
          msgID: "out.\(cycle).\(i)")
      }
    }
    let marker = Array("{\"cycle\":\(cycle),\"time\":\(time),\"lines\":\(diffs.count)}".utf8)
    try bus.retrying("publishing \(BusLayout.markerSubject)", stop: nil) {
      () throws(NatsError) in
      try bus.nats.publish(
        subject: BusLayout.markerSubject, data: marker,
        headers: [(BusHeader.cycle, String(cycle)), (BusHeader.lines, String(diffs.count))],
        msgID: "out.\(cycle).c")
    }
  }
}

/// Reads the merged lines on the output stream whose subject matches `subject`
/// (`out.<strategy>.<symbol>` tokens or `*`), in stream order.
public struct OutputTail {
  let bus: Bus
  let subject: String

  public init(bus: Bus, subject: String) {
    self.bus = bus
    self.subject = subject
  }

  /// Calls `line` with each stored line; then returns, or with `follow` waits for more until
  /// `stop` is raised.
  public func run(follow: Bool, stop: StopFlag, line: ([UInt8]) -> Void) throws(BusFailure) {
    var next: UInt64 = 1
    while !stop.isRaised {
      let found: BusMessage?
      if follow {
        found = try bus.waitNext(
          stream: BusLayout.outputStream, subject: subject, from: next, stop: stop)
      } else {
        found = try bus.retrying("reading \(subject)") { () throws(NatsError) in
          try bus.nats.nextMessage(stream: BusLayout.outputStream, subject: subject, from: next)
        }
      }
      guard let m = found else { return }
      next = m.sequence + 1
      line(m.data)
    }
  }
}
