import Engine
import EngineSettings
import Evaluation
import Feeds
import Foundation
import Scoring
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Scoring a real replay, in-process: the diff bytes are those of a plain replay, and `n`
/// counts exactly the enter lines whose horizon fits in the file.
@Suite("Scoring a replay", .serialized)
struct ReplayScoringTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// A simulator recording: warm-up, then `steps` one-second cycles of `symbols` symbols.
  static func recording(symbols: Int, steps: Int, seed: UInt64) throws -> String {
    var sim = MarketSimulator(
      SimulatorConfig(
        symbols: symbols, seed: seed, cycleMs: 1000, historyCandles: 60,
        startTime: 1_732_400_000_000))
    var lines = sim.warmup()
    for _ in 0..<steps { lines += sim.nextStep() }
    let path = temporary("replay.jsonl")
    try (lines.joined(separator: "\n") + "\n").write(
      toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  static func temporary(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "engine-score-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
  }

  /// The example strategies plus one that enters and leaves often.
  static func strategies() throws -> String {
    let dir = URL(fileURLWithPath: temporary("strategies"))
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let examples = root.appendingPathComponent("Strategies")
    for name in try FileManager.default.contentsOfDirectory(atPath: examples.path)
    where name.hasSuffix(".lua") {
      try FileManager.default.copyItem(
        at: examples.appendingPathComponent(name), to: dir.appendingPathComponent(name))
    }
    try """
    return {
      filter = function(s)
        local cents = math.floor(s.price * 100 + 0.5)
        return cents % 5 < 2
      end,
    }
    """.write(to: dir.appendingPathComponent("flipper.lua"), atomically: true, encoding: .utf8)
    return dir.path
  }

  /// Replays `path` with `sink`; the loaded strategies' ids.
  static func replay(_ path: String, strategies: String, sink: DiffSink) throws -> [String] {
    var settings = Settings()
    settings.strategies = strategies
    settings.workers = 2
    let engine = CycleEngine(settings: settings, sink: sink, live: false)
    engine.log = { _ in }
    try engine.start(
      code: CodeSet.load(
        strategies: strategies, plugins: root.appendingPathComponent("Plugins").path))
    _ = try engine.run(feed: ReplayFeed(path: path, speed: nil, strict: false))
    return engine.strategyInfos.map(\.id)
  }

  /// Runs `body` with a file descriptor writing to a new file; returns the file's bytes.
  static func captured(_ body: (Int32) throws -> Void) throws -> [UInt8] {
    let path = temporary("diffs.jsonl")
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    try #require(fd >= 0)
    try body(fd)
    close(fd)
    return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  @Test("diffs written beside the scorer are the plain replay's bytes; n counts enters that fit")
  func sameBytesAndCounts() throws {
    let file = try Self.recording(symbols: 60, steps: 240, seed: 3)
    let strategies = try Self.strategies()
    let plain = try Self.captured { fd in
      _ = try Self.replay(file, strategies: strategies, sink: JSONLinesWriter(fd: fd))
    }
    let recorder = SignalRecorder()
    var ids: [String] = []
    let scored = try Self.captured { fd in
      ids = try Self.replay(
        file, strategies: strategies, sink: FanOutSink([JSONLinesWriter(fd: fd), recorder]))
    }
    #expect(plain.count > 1000)
    #expect(scored == plain)

    let lines = String(decoding: plain, as: UTF8.self).split(separator: "\n")
    let objects = try lines.map {
      try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    #expect(recorder.diffs.count == objects.count)
    let prices = try PriceIndex.load(path: file)
    let end = try #require(prices.lastEventTime)
    let horizons = try Horizon.parseList("1s,10s,1m,2m")
    let report = Scorer(horizons: horizons).score(
      diffs: recorder.diffs, prices: prices, strategies: ids)
    #expect(report.strategies.map(\.id) == ids.sorted())
    var scoredAny = false
    for s in report.strategies {
      let enters = objects.filter {
        $0["strategy"] as? String == s.id && $0["event"] as? String == "enter"
      }
      #expect(s.signals == enters.count)
      for (k, h) in horizons.enumerated() {
        let fits = enters.filter {
          (($0["time"] as? Int64) ?? Int64.max) + h.milliseconds <= end
            && (($0["price"] as? Double) ?? 0) > 0
        }.count
        #expect(s.horizons[k].n == fits, "\(s.id) \(h.label)")
        scoredAny = scoredAny || fits > 0
      }
    }
    #expect(scoredAny)
    #expect(report.strategies.first { $0.id == "flipper" }?.meanMatchSeconds != nil)
  }
}
