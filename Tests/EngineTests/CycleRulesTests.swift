import Feeds
import Foundation
import Synchronization
import Testing
import Tracking

@testable import Engine
import EngineSettings
import Support
@testable import Evaluation

@Suite("Cycle rules", .serialized)
struct CycleRulesTests {
  static func tickerLine(_ symbol: String, _ time: Int64, _ price: Double) -> String {
    #"{"e":"24hrTicker","E":\#(time),"s":"\#(symbol)","c":"\#(price)","o":"1.0","h":"20.0","l":"0.5","v":"100","q":"1000","p":"0","P":"0"}"#
  }

  static let above5 = "return { filter = function(s) return s.price > 5, s.price end }"

  @Test("a symbol evaluated too recently is deferred, then evaluated later with its latest data")
  func deferral() throws {
    let lines = [
      Self.tickerLine("XUSDT", 10, 1),  // cycle 0 (50 ms cycles): evaluated at 50, no match
      Self.tickerLine("XUSDT", 60, 7),  // cycle 1: 100 - 50 < 100 ms: deferred
      Self.tickerLine("XUSDT", 70, 10),  // still cycle 1: the latest data is price 10
      Self.tickerLine("YUSDT", 210, 1),  // cycle 4: X evaluated now (250 - 50 >= 100)
      Self.tickerLine("YUSDT", 400, 1),  // cycle 8 closes cycle 4
    ]
    let path = ReplayFixtures.write(lines, name: "deferral")
    let dir = ReplayFixtures.strategies(["above5": Self.above5], includeExamples: false)
    let run = try ReplayFixtures.replay(path, strategies: dir, workers: 1) {
      $0.cycleMs = 50
      $0.minUpdateIntervalMs = 100
    }
    #expect(run.summary.deferred == 1)
    #expect(
      run.output
        == #"{"cycle":4,"time":250,"strategy":"above5","symbol":"XUSDT","event":"enter","price":10.0,"info":10.0}"#
        + "\n")
  }

  @Test("an event older than the open cycle is applied to the open cycle")
  func lateEvent() throws {
    let lines = [
      Self.tickerLine("XUSDT", 1000, 1),  // cycle 1
      Self.tickerLine("XUSDT", 2500, 1),  // cycle 2
      Self.tickerLine("XUSDT", 1500, 9),  // late: belongs to cycle 1, applied in cycle 2
      Self.tickerLine("YUSDT", 3100, 1),  // closes cycle 2
    ]
    let path = ReplayFixtures.write(lines, name: "late")
    let dir = ReplayFixtures.strategies(["above5": Self.above5], includeExamples: false)
    let run = try ReplayFixtures.replay(path, strategies: dir, workers: 1)
    #expect(
      run.output
        == #"{"cycle":2,"time":3000,"strategy":"above5","symbol":"XUSDT","event":"enter","price":9.0,"info":9.0}"#
        + "\n")
  }

  /// A feed that delivers one batch and then stays quiet until stopped.
  struct QuietFeed: Feed {
    let lines: [String]
    func run(into queue: FeedQueue, stop: StopFlag) {
      var batcher = MessageBatcher(source: "test")
      for line in lines { batcher.add(line) }
      queue.push(.batch(batcher.take()), unless: stop)
      while !stop.isRaised { usleep(10_000) }
    }
  }

  final class TimedSink: DiffSink, @unchecked Sendable {
    // safe: written on the cycle thread, read by the test after the engine stopped (the
    // Mutex orders the two).
    let lines = Mutex<[String]>([])
    func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff]) {
      lines.withLock { $0 += diffs.map { "\(cycle) \($0.symbol) \($0.isEnter)" } }
    }
  }

  @Test("live: a quiet cycle closes cycle_ms + cycle_grace_ms after it opened")
  func graceClose() throws {
    var settings = Settings()
    settings.strategies = ReplayFixtures.strategies(["above5": Self.above5], includeExamples: false)
    settings.workers = 1
    settings.cycleMs = 200
    settings.cycleGraceMs = 100
    let sink = TimedSink()
    let engine = CycleEngine(settings: settings, sink: sink, live: true)
    try engine.start(strategies: StrategySource.loadAll(from: settings.strategies))
    let stopper = Thread {
      // Far longer than 300 ms: the cycle must have closed on its own by then.
      usleep(2_000_000)
      engine.requestStop()
    }
    stopper.start()
    let summary = try engine.run(feed: QuietFeed(lines: [Self.tickerLine("XUSDT", 1_000, 8)]))
    #expect(summary.cycles == 1)
    #expect(sink.lines.withLock { $0 } == ["5 XUSDT true"])
  }
}
