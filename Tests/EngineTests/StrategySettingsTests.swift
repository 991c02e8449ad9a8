import EngineSettings
import Feeds
import Foundation
import Testing
import Tracking

@testable import Engine
@testable import Evaluation

/// Params, instances, signal hygiene and the profiler: each rule, checked against an
/// independent model of it, with 1 and 2 workers and both tracking modes.
@Suite("Strategy params, instances and signal hygiene", .serialized)
struct StrategySettingsTests {
  static let feed = ReplayFixtures.write(
    ReplayFixtures.simulatedLines(symbols: 30, steps: 240, seed: 77), name: "hygiene")

  /// A momentum filter whose threshold is a param (and whose info is the change).
  static func momentum(threshold: Int = 3, extra: String = "") -> String {
    """
    return {
      params = { threshold = \(threshold), min_volume = 1000 },
      \(extra)
      filter = function(s)
        return s.change_pct ~= nil and s.change_pct > params.threshold
          and s.quote_volume > params.min_volume, s.change_pct
      end,
    }
    """
  }

  /// `strategy.*` values as the settings loader gives them (keyed by environment form).
  static func section(_ values: [String: String]) -> [String: SettingsRawValue] {
    var raw: [String: SettingsRawValue] = [:]
    for (key, text) in values {
      raw[Settings.environmentVariableName(forKey: key)] = SettingsRawValue(
        text: text, origin: "test: \(key)", key: key)
    }
    return raw
  }

  static func run(
    _ strategies: [String: String], settings values: [String: String] = [:], workers: Int = 2,
    mode: TrackingMode = .changed
  ) throws -> ReplayFixtures.Run {
    let dir = ReplayFixtures.strategies(strategies, includeExamples: false)
    return try ReplayFixtures.replay(feed, strategies: dir, workers: workers, mode: mode) {
      $0.sectionValues["strategy"] = section(values)
    }
  }

  struct Line: Hashable {
    var time: Int64
    var strategy: String
    var symbol: String
    var enter: Bool
  }

  static func lines(_ output: String, strategy: String? = nil) -> [Line] {
    output.split(separator: "\n").compactMap { text in
      guard let o = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
        let time = (o["time"] as? NSNumber)?.int64Value, let id = o["strategy"] as? String,
        let symbol = o["symbol"] as? String, let event = o["event"] as? String,
        strategy == nil || id == strategy
      else { return nil }
      return Line(time: time, strategy: id, symbol: symbol, enter: event == "enter")
    }
  }

  @Test("an override prints exactly what a copy of the file with the new default prints")
  func overrideEqualsCopy() throws {
    let overridden = try Self.run(
      ["mom": Self.momentum(threshold: 3)], settings: ["strategy.mom.params.threshold": "6"])
    let copy = try Self.run(["mom": Self.momentum(threshold: 6)])
    let plain = try Self.run(["mom": Self.momentum(threshold: 3)])
    #expect(copy.output.count > 200)
    #expect(overridden.output == copy.output)
    #expect(plain.output != copy.output)
  }

  @Test(
    "an override for an unknown param or of the wrong type stops the start with one line",
    arguments: [
      ("strategy.mom.params.nope", "1", "has no param 'nope'"),
      ("strategy.mom.params.threshold", "high", "expected a number"),
      ("strategy.mom.confirm_s", "-1", "expected a number of seconds"),
      ("strategy.mom.trigger", "sometimes", "expected \"change\" or \"close\""),
      ("strategy.nobody.params.x", "1", "no strategy with this id"),
      ("strategy.mom.colour", "red", "expected strategy.<id>.<field>"),
    ])
  func badOverride(key: String, value: String, message: String) throws {
    var thrown: EngineError?
    do {
      _ = try Self.run(["mom": Self.momentum()], settings: [key: value])
    } catch let e as EngineError {
      thrown = e
    }
    #expect(thrown?.isConfiguration == true)
    #expect(thrown?.description.contains(message) == true, "\(thrown?.description ?? "nothing")")
    #expect(thrown?.description.contains("test: \(key)") == true)
  }

  @Test("an instance runs the same file again under its own id, with its own params")
  func instances() throws {
    let both = try Self.run(
      ["mom": Self.momentum(threshold: 3)],
      settings: ["strategy.hot.from": "mom", "strategy.hot.params.threshold": "6"])
    let hot = try Self.run(["hot": Self.momentum(threshold: 6)])
    let mom = try Self.run(["mom": Self.momentum(threshold: 3)])
    let hotLines = both.output.split(separator: "\n").filter { $0.contains("\"strategy\":\"hot\"") }
    let momLines = both.output.split(separator: "\n").filter { $0.contains("\"strategy\":\"mom\"") }
    #expect(!hotLines.isEmpty)
    #expect(hotLines.joined(separator: "\n") + "\n" == hot.output)
    #expect(momLines.joined(separator: "\n") + "\n" == mom.output)
  }

  /// What a gate prints, from the ungated filter's lines: an independent model of the rules.
  static func gated(_ raw: [Line], confirmMs: Int64, cooldownMs: Int64, cycleEnds: [Int64])
    -> Set<Line>
  {
    let lastCycleEnd = cycleEnds.last ?? 0
    /// The first cycle closing at or after `t` (a cycle closes only if it had events).
    func firstEnd(atOrAfter t: Int64) -> Int64? {
      var lo = 0
      var hi = cycleEnds.count
      while lo < hi {
        let mid = (lo + hi) / 2
        if cycleEnds[mid] < t { lo = mid + 1 } else { hi = mid }
      }
      return lo < cycleEnds.count ? cycleEnds[lo] : nil
    }
    var out: Set<Line> = []
    let bySymbol = Dictionary(grouping: raw, by: \.symbol)
    for (symbol, events) in bySymbol {
      var entered = false
      var due: Int64? = nil
      var lastExit: Int64? = nil
      var pendingSince: Int64 = 0
      func fire(until t: Int64) {
        // A timer fires at the first cycle that closes at or after it.
        if let d = due, !entered, let at = firstEnd(atOrAfter: d) {
          if at <= t, at <= lastCycleEnd {
            out.insert(Line(time: max(at, pendingSince), strategy: "", symbol: symbol, enter: true))
            entered = true
            due = nil
          }
        }
      }
      for e in events.sorted(by: { $0.time < $1.time }) {
        fire(until: e.time - 1)
        if e.enter {
          pendingSince = e.time
          var d = e.time + confirmMs
          if let x = lastExit { d = max(d, x + cooldownMs) }
          due = d
          fire(until: e.time)
        } else {
          if entered {
            out.insert(Line(time: e.time, strategy: "", symbol: symbol, enter: false))
            lastExit = e.time
          }
          entered = false
          due = nil
        }
      }
      fire(until: lastCycleEnd)
    }
    return out
  }

  @Test(
    "confirm_s and cooldown_s print what the rules say, whatever the workers and tracking mode",
    arguments: [(5.0, 0.0), (0.0, 20.0), (4.0, 15.0)])
  func hygiene(confirm: Double, cooldown: Double) throws {
    let raw = try Self.run(["mom": Self.momentum()])
    let rawLines = Self.lines(raw.output)
    let lastEnd = rawLines.map(\.time).max() ?? 0
    // The cycles that close: those holding events (a replay opens a cycle with an event).
    let events = try String(contentsOfFile: Self.feed, encoding: .utf8)
      .split(separator: "\n").flatMap { line -> [Int64] in
        line.ranges(of: "\"E\":").compactMap { r in
          Int64(line[r.upperBound...].prefix { $0.isNumber })
        }
      }
    let cycleEnds = Set(events.map { ($0 / 1000 + 1) * 1000 }).sorted()
    #expect(cycleEnds.last ?? 0 >= lastEnd)
    let expected = Self.gated(
      rawLines, confirmMs: Int64(confirm * 1000), cooldownMs: Int64(cooldown * 1000),
      cycleEnds: cycleEnds)
    #expect(expected.contains { $0.enter })
    var outputs: Set<String> = []
    for (workers, mode) in [(1, TrackingMode.changed), (2, .changed), (2, .all)] {
      let run = try Self.run(
        ["mom": Self.momentum()],
        settings: [
          "strategy.mom.confirm_s": "\(confirm)", "strategy.mom.cooldown_s": "\(cooldown)",
        ],
        workers: workers, mode: mode)
      outputs.insert(run.output)
      let got = Set(
        Self.lines(run.output).map {
          Line(time: $0.time, strategy: "", symbol: $0.symbol, enter: $0.enter)
        })
      #expect(
        got == expected,
        "workers \(workers), \(mode): only got \(got.subtracting(expected)), only expected \(expected.subtracting(got))"
      )
    }
    #expect(outputs.count == 1)
  }

  @Test("with cooldown_s = 60, no symbol enters within 60 s of its previous exit")
  func cooldownSixty() throws {
    let run = try Self.run(["mom": Self.momentum()], settings: ["strategy.mom.cooldown_s": "60"])
    var lastExit: [String: Int64] = [:]
    var enters = 0
    for line in Self.lines(run.output) {
      if line.enter {
        enters += 1
        if let x = lastExit[line.symbol] { #expect(line.time >= x + 60_000, "\(line)") }
      } else {
        lastExit[line.symbol] = line.time
      }
    }
    #expect(enters > 0)
    #expect(!lastExit.isEmpty)
  }

  /// The cycles (by end time) in which a 1m candle of each symbol closed: a kline with
  /// `x: true`, or one opening a newer candle.
  static func closingCycles() throws -> [String: Set<Int64>] {
    var result: [String: Set<Int64>] = [:]
    var open: [String: Int64] = [:]
    var closedAlready: [String: Bool] = [:]
    for line in try String(contentsOfFile: feed, encoding: .utf8).split(separator: "\n") {
      guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
      else { continue }
      let payload = (o["data"] as? [String: Any]) ?? o
      guard payload["e"] as? String == "kline", let k = payload["k"] as? [String: Any],
        let symbol = payload["s"] as? String, let e = (payload["E"] as? NSNumber)?.int64Value,
        let t = (k["t"] as? NSNumber)?.int64Value
      else { continue }
      let end = (e / 1000 + 1) * 1000
      if let previous = open[symbol], t > previous, closedAlready[symbol] != true {
        result[symbol, default: []].insert(end)
      }
      if open[symbol] != t { closedAlready[symbol] = false }
      open[symbol] = max(open[symbol] ?? t, t)
      if k["x"] as? Bool == true, t == open[symbol], closedAlready[symbol] != true {
        closedAlready[symbol] = true
        result[symbol, default: []].insert(end)
      }
    }
    return result
  }

  @Test("trigger = close: every line falls in a cycle in which a 1m candle of its symbol closed")
  func triggerClose() throws {
    let source = """
      return {
        timeframes = { "1m" }, min_candles = 3, trigger = "close",
        filter = function(s)
          local k = s.klines["1m"]
          return k.close[#k] > k.close[#k - 1], ta.sma(k.close, 3)
        end,
      }
      """
    let closing = try Self.closingCycles()
    #expect(closing.values.contains { $0.count >= 2 })
    var outputs: Set<String> = []
    for (workers, mode) in [(1, TrackingMode.changed), (2, .changed), (2, .all)] {
      let run = try Self.run(["up": source], workers: workers, mode: mode)
      outputs.insert(run.output)
      let lines = Self.lines(run.output)
      #expect(!lines.isEmpty)
      for line in lines {
        #expect(closing[line.symbol]?.contains(line.time) == true, "\(line)")
      }
    }
    #expect(outputs.count == 1)
  }

  @Test("a strategy looping 10x longer shows about 10x the time per call")
  func profiler() throws {
    func looping(_ n: Int) -> String {
      "return { filter = function(s) local x = 0 for i = 1, \(n) do x = x + i end return x < 0 end }"
    }
    let dir = ReplayFixtures.strategies(
      ["short": looping(2_000), "long": looping(20_000)], includeExamples: false)
    var settings = Settings()
    settings.strategies = dir
    settings.workers = 1
    let engine = CycleEngine(settings: settings, sink: ReplayFixtures.CapturingSink(), live: false)
    engine.log = { _ in }
    try engine.start(code: CodeSet.load(strategies: dir, plugins: "/nonexistent"))
    _ = try engine.run(feed: ReplayFeed(path: Self.feed, speed: nil, strict: false))
    let profiles = Dictionary(
      uniqueKeysWithValues: engine.strategyProfiles.map { ($0.id, $0.profile) })
    let short = try #require(profiles["short"])
    let long = try #require(profiles["long"])
    #expect(short.calls == long.calls)
    #expect(short.timedCalls > 20)
    let ratio = long.nanosPerCall / max(1, short.nanosPerCall)
    #expect(ratio > 5 && ratio < 20, "ratio \(ratio): \(short) \(long)")
  }
}

@Suite("Profiler estimates")
struct CallTimesTests {
  @Test("buckets grow with the duration and the estimate leaves out the slowest tenth")
  func trimmedMean() {
    var previous = -1
    for ns in [1, 2, 3, 7, 8, 100, 1_000, 1_001, 10_000, 1 << 40] as [UInt64] {
      let b = CallTimes.bucket(ns)
      #expect(b >= previous)
      previous = b
    }
    var t = CallTimes()
    for _ in 0..<90 { t.record(1_000) }
    // Preempted calls: far slower, left out.
    for _ in 0..<10 { t.record(5_000_000) }
    #expect(t.total == 100)
    #expect(abs(t.trimmedMean - 1_000) < 1)
    var u = CallTimes()
    u.add(t)
    u.add(t)
    #expect(u.total == 200 && abs(u.trimmedMean - 1_000) < 1)
  }
}
