import EngineBench
import Feeds
import Foundation
import Tracking

@testable import Engine
import EngineSettings
@testable import Evaluation

/// Generated replay files and a way to run the engine over them in-process.
enum ReplayFixtures {
  static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  static var exampleStrategies: String { repositoryRoot.appendingPathComponent("Strategies").path }

  static func temporaryDirectory(_ name: String) -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "engine-tests-\(name)-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  /// A replay file from the simulator: warm-up then `steps` cycles, with some tickers turned
  /// into mini tickers and `!ticker@arr` / `!miniTicker@arr` arrays, as Binance sends them.
  static func simulatedLines(symbols: Int, steps: Int, seed: UInt64, cycleMs: Int64 = 1000)
    -> [String]
  {
    var sim = MarketSimulator(
      SimulatorConfig(
        symbols: symbols, seed: seed, cycleMs: cycleMs, historyCandles: 60,
        startTime: 1_732_400_000_000))
    var lines = sim.warmup()
    var rng = SplitMix(seed: seed ^ 0x5EED)
    for _ in 0..<steps {
      var pendingArray: [Any] = []
      var arrayIsMini = false
      for line in sim.nextStep() {
        guard rng.next() % 5 == 0,
          let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else {
          lines.append(line)
          continue
        }
        let payload = (object["data"] as? [String: Any]) ?? object
        guard payload["e"] as? String == "24hrTicker" else {
          lines.append(line)
          continue
        }
        // Turn this ticker into a mini ticker half of the time, and collect it into an array.
        var element = payload
        let mini = rng.next() % 2 == 0
        if mini {
          element = payload.filter { ["E", "s", "c", "o", "h", "l", "v", "q"].contains($0.key) }
          element["e"] = "24hrMiniTicker"
        }
        if !pendingArray.isEmpty && mini != arrayIsMini {
          lines.append(arrayLine(pendingArray, mini: arrayIsMini))
          pendingArray = []
        }
        arrayIsMini = mini
        pendingArray.append(element)
      }
      if !pendingArray.isEmpty { lines.append(arrayLine(pendingArray, mini: arrayIsMini)) }
    }
    return lines
  }

  static func arrayLine(_ elements: [Any], mini: Bool) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: elements)) ?? Data("[]".utf8)
    let array = String(decoding: data, as: UTF8.self)
    return mini ? "{\"stream\":\"!miniTicker@arr\",\"data\":\(array)}" : array
  }

  static func write(_ lines: [String], name: String) -> String {
    let dir = temporaryDirectory(name)
    let path = dir.appendingPathComponent("replay.jsonl").path
    _ = FileManager.default.createFile(
      atPath: path, contents: Data((lines.joined(separator: "\n") + "\n").utf8))
    return path
  }

  /// A directory of strategies: the examples plus the given extra files.
  static func strategies(_ extra: [String: String], includeExamples: Bool = true) -> String {
    let dir = temporaryDirectory("strategies")
    if includeExamples,
      let names = try? FileManager.default.contentsOfDirectory(atPath: exampleStrategies)
    {
      for name in names where name.hasSuffix(".lua") {
        try? FileManager.default.copyItem(
          atPath: exampleStrategies + "/" + name, toPath: dir.appendingPathComponent(name).path)
      }
    }
    for (name, source) in extra {
      _ = FileManager.default.createFile(
        atPath: dir.appendingPathComponent(name + ".lua").path, contents: Data(source.utf8))
    }
    return dir.path
  }

  final class CapturingSink: DiffSink {
    var bytes: [UInt8] = []
    var cycles = 0
    let writer = JSONLinesWriter()
    func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff]) {
      cycles += 1
      for d in diffs { JSONLinesWriter.append(d, cycle: cycle, time: time, to: &bytes) }
    }
    var text: String { String(decoding: bytes, as: UTF8.self) }
  }

  struct Run {
    var output: String
    var summary: RunSummary
    var log: [String]
  }

  /// Runs `engine replay` in-process.
  static func replay(
    _ path: String, strategies: String, workers: Int = 2, mode: TrackingMode = .changed,
    batchThreshold: Double = 0.5, strict: Bool = false, plugins: String? = nil,
    configure: (inout Settings) -> Void = { _ in }
  ) throws -> Run {
    var settings = Settings()
    settings.strategies = strategies
    settings.workers = workers
    settings.trackingMode = mode
    settings.batchThreshold = batchThreshold
    settings.strict = strict
    configure(&settings)
    let sink = CapturingSink()
    let engine = CycleEngine(settings: settings, sink: sink, live: false)
    nonisolated(unsafe) var log: [String] = []
    engine.log = { log.append($0) }
    // As the command line does: the files, then the `strategy.*` settings applied to them.
    let files = try CodeSet.load(
      strategies: strategies,
      plugins: plugins ?? repositoryRoot.appendingPathComponent("Plugins").path)
    try engine.start(
      code: StrategySettings.apply(settings.sectionValues["strategy"] ?? [:], to: files))
    let summary = try engine.run(feed: ReplayFeed(path: path, speed: nil, strict: strict))
    return Run(output: sink.text, summary: summary, log: log)
  }
}

/// The bench's deterministic generator, for test data.
typealias SplitMix = SplitMix64
