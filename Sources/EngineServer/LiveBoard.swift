// What the dashboard shows of the diffs: each strategy's current matches and the latest diffs,
// also published as they happen on the server-sent event stream (EventBroadcaster.swift).

import Engine
import Foundation
import Synchronization
import Evaluation

/// A `DiffSink` keeping each strategy's current match set and the latest diffs, and
/// publishing each cycle's diffs as an SSE `diffs` event
/// (`{"cycle":…,"time":…,"diffs":[<the stdout objects>]}`). Cheap on the cycle thread: one
/// lock, a few dictionary updates, one string.
public final class LiveBoard: DiffSink, Sendable {
  public struct Match: Sendable, Equatable {
    public var price: Double
    public var info: DiffInfo?
    /// Cycle end time (ms) when the symbol entered.
    public var since: Int64
  }

  private struct State {
    var matches: [String: [String: Match]] = [:]
    /// The latest diff objects (JSON text), oldest first.
    var recent: [String] = []
    var lastCycle: Int64?
    var diffs = 0
  }

  private let state = Mutex(State())
  public let events: EventBroadcaster
  public let recentCapacity: Int

  public init(events: EventBroadcaster, recentCapacity: Int = 200) {
    self.events = events
    self.recentCapacity = recentCapacity
  }

  public func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff]) {
    guard !diffs.isEmpty else { return }
    var objects: [String] = []
    objects.reserveCapacity(diffs.count)
    var buffer: [UInt8] = []
    for d in diffs {
      buffer.removeAll(keepingCapacity: true)
      JSONLinesWriter.append(d, cycle: cycle, time: time, to: &buffer)
      if buffer.last == UInt8(ascii: "\n") { buffer.removeLast() }
      objects.append(String(decoding: buffer, as: UTF8.self))
    }
    state.withLock { s in
      for d in diffs {
        if d.isEnter {
          s.matches[d.strategy, default: [:]][d.symbol] = Match(
            price: d.price, info: d.info, since: time)
        } else {
          s.matches[d.strategy]?[d.symbol] = nil
        }
      }
      s.recent.append(contentsOf: objects.suffix(recentCapacity))
      if s.recent.count > recentCapacity { s.recent.removeFirst(s.recent.count - recentCapacity) }
      s.lastCycle = cycle
      s.diffs += diffs.count
    }
    events.publish(
      event: "diffs",
      data: "{\"cycle\":\(cycle),\"time\":\(time),\"diffs\":[\(objects.joined(separator: ","))]}")
  }

  /// Current matches of `strategy`, by symbol.
  public func matches(of strategy: String) -> [String: Match] {
    state.withLock { $0.matches[strategy] ?? [:] }
  }

  /// Match counts by strategy (strategies with no match may be missing).
  public var matchCounts: [String: Int] {
    state.withLock { $0.matches.mapValues(\.count) }
  }

  /// The latest diffs (JSON objects as text), oldest first.
  public var recentDiffs: [String] { state.withLock { $0.recent } }

  /// Every strategy's matches as JSON: `{"id":{"SYMBOL":{"price":…,"info":…,"since":…}}}`,
  /// with every id in `ids` present (empty when it matches nothing).
  func matchesJSON(ids: [String]) -> String {
    let snapshot = state.withLock { $0.matches }
    var out: [UInt8] = Array("{".utf8)
    let all = Set(ids).union(snapshot.filter { !$0.value.isEmpty }.keys).sorted()
    for (i, id) in all.enumerated() {
      if i > 0 { out.append(UInt8(ascii: ",")) }
      JSONText.appendString(id, to: &out)
      out.append(contentsOf: Array(":{".utf8))
      let symbols = (snapshot[id] ?? [:]).sorted { $0.key < $1.key }
      for (j, (symbol, m)) in symbols.enumerated() {
        if j > 0 { out.append(UInt8(ascii: ",")) }
        JSONText.appendString(symbol, to: &out)
        out.append(contentsOf: Array(":{\"price\":".utf8))
        JSONText.appendNumber(m.price, to: &out)
        if let info = m.info {
          out.append(contentsOf: Array(",\"info\":".utf8))
          JSONText.appendInfo(info, to: &out)
        }
        out.append(contentsOf: Array(",\"since\":\(m.since)}".utf8))
      }
      out.append(UInt8(ascii: "}"))
    }
    out.append(UInt8(ascii: "}"))
    return String(decoding: out, as: UTF8.self)
  }
}
