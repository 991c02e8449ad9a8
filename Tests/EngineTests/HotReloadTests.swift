import Feeds
import Foundation
import Synchronization
import Testing

@testable import Engine
import EngineSettings
@testable import Evaluation

/// Hot reload driven for real: the engine runs on the simulator, a watcher on the strategies
/// directory, and the test edits files the way editors do.
@Suite("Hot reload", .serialized)
struct HotReloadTests {
  final class Recorder: DiffSink, @unchecked Sendable {
    // safe: every access goes through the Mutex.
    let diffs = Mutex<[ResolvedDiff]>([])
    let logs = Mutex<[String]>([])
    let cycles = Atomic<Int>(0)
    func write(cycle: Int64, time: Int64, diffs new: [ResolvedDiff]) {
      diffs.withLock { $0 += new }
    }
    func count(_ strategy: String, enter: Bool) -> Int {
      diffs.withLock { $0.filter { $0.strategy == strategy && $0.isEnter == enter }.count }
    }
  }

  static func waitUntil(_ seconds: Double = 30, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if condition() { return true }
      usleep(50_000)
    }
    return condition()
  }

  @Test("add, break, fix, rename-save and delete a strategy while the engine runs")
  func editingSession() throws {
    let dir = ReplayFixtures.temporaryDirectory("hot")
    let plugins = ReplayFixtures.temporaryDirectory("hot-plugins")
    try "return { filter = function(s) return s.price > 1e12 end }".write(
      to: dir.appendingPathComponent("base.lua"), atomically: true, encoding: .utf8)
    var settings = Settings()
    settings.strategies = dir.path
    settings.plugins = plugins.path
    settings.workers = 2
    settings.cycleMs = 200
    let recorder = Recorder()
    let engine = CycleEngine(settings: settings, sink: recorder, live: true)
    engine.log = { line in recorder.logs.withLock { $0.append(line) } }
    engine.addCycleObserver { _ in recorder.cycles.add(1, ordering: .relaxed) }
    try engine.start(code: CodeSet.load(strategies: dir.path, plugins: plugins.path))
    let watcher = engine.reloadWatcher(strategies: dir.path, plugins: plugins.path)
    watcher.start()
    defer { watcher.stop() }
    let feed = SimFeed(
      config: SimulatorConfig(
        symbols: 50, seed: 1, cycleMs: 200, historyCandles: 30, startTime: 1_732_400_000_000),
      speed: 1)
    let result = Mutex<Result<RunSummary, EngineError>?>(nil)
    let runner = Thread {
      do throws(EngineError) {
        let summary = try engine.run(feed: feed)
        result.withLock { $0 = .success(summary) }
      } catch {
        result.withLock { $0 = .failure(error) }
      }
    }
    runner.start()
    defer {
      engine.requestStop()
      _ = Self.waitUntil(10) { result.withLock { $0 != nil } }
    }
    #expect(Self.waitUntil { recorder.cycles.load(ordering: .relaxed) >= 3 })

    // 1. A new file: evaluated on every symbol at once.
    let hot = dir.appendingPathComponent("hot.lua")
    try "-- all symbols\nreturn { filter = function(s) return s.price > 0, 'v1' end }".write(
      to: hot, atomically: false, encoding: .utf8)
    #expect(Self.waitUntil { recorder.count("hot", enter: true) == 50 })
    #expect(recorder.logs.withLock { $0.contains { $0.contains("added hot") } })

    // 2. A syntax error: the old version keeps running, the error is printed once.
    try "return {\n  filter = function(s)\n    return s.price >\n  end\n}".write(
      to: hot, atomically: false, encoding: .utf8)
    #expect(Self.waitUntil { recorder.logs.withLock { $0.contains { $0.contains("hot.lua:4:") } } })
    let cyclesAfterError = recorder.cycles.load(ordering: .relaxed)
    #expect(Self.waitUntil { recorder.cycles.load(ordering: .relaxed) >= cyclesAfterError + 5 })
    #expect(recorder.logs.withLock { $0.filter { $0.contains("hot.lua:4:") }.count } == 1)
    #expect(recorder.count("hot", enter: false) == 0)

    // 3. Fixed, with new logic that matches nothing: every symbol exits.
    try "return { filter = function(s) return s.price < 0 end }".write(
      to: hot, atomically: false, encoding: .utf8)
    #expect(Self.waitUntil { recorder.count("hot", enter: false) == 50 })

    // 4. Saved through a temporary file and a rename: matches again.
    let temporary = dir.appendingPathComponent(".hot.lua.swp")
    try "return { filter = function(s) return s.price > 0, 'v4' end }".write(
      to: temporary, atomically: false, encoding: .utf8)
    #expect(rename(temporary.path, hot.path) == 0)
    #expect(Self.waitUntil { recorder.count("hot", enter: true) == 100 })
    #expect(recorder.diffs.withLock { $0.filter { $0.info == .string("v4") }.count } == 50)

    // 5. Deleted: exit for each symbol it matched.
    try FileManager.default.removeItem(at: hot)
    #expect(Self.waitUntil { recorder.count("hot", enter: false) == 100 })
    #expect(recorder.logs.withLock { $0.contains { $0.contains("removed hot") } })

    // The engine never stopped, and the other strategy never produced a diff.
    let cycles = recorder.cycles.load(ordering: .relaxed)
    #expect(Self.waitUntil { recorder.cycles.load(ordering: .relaxed) > cycles })
    #expect(result.withLock { $0 == nil })
    #expect(recorder.count("base", enter: true) == 0)
  }

  @Test("a changed plugin reloads the strategies that use it")
  func pluginReload() throws {
    let dir = ReplayFixtures.temporaryDirectory("hot2")
    let plugins = ReplayFixtures.temporaryDirectory("hot2-plugins")
    try "return { threshold = 1e12 }".write(
      to: plugins.appendingPathComponent("levels.lua"), atomically: true, encoding: .utf8)
    try """
    local levels = require("levels")
    return { filter = function(s) return s.price > levels.threshold end }
    """.write(to: dir.appendingPathComponent("uses.lua"), atomically: true, encoding: .utf8)
    var settings = Settings()
    settings.strategies = dir.path
    settings.plugins = plugins.path
    settings.workers = 1
    settings.cycleMs = 200
    let recorder = Recorder()
    let engine = CycleEngine(settings: settings, sink: recorder, live: true)
    engine.log = { line in recorder.logs.withLock { $0.append(line) } }
    try engine.start(code: CodeSet.load(strategies: dir.path, plugins: plugins.path))
    let watcher = engine.reloadWatcher(strategies: dir.path, plugins: plugins.path)
    watcher.start()
    defer { watcher.stop() }
    let feed = SimFeed(
      config: SimulatorConfig(
        symbols: 20, seed: 2, cycleMs: 200, historyCandles: 30, startTime: 1_732_400_000_000),
      speed: 1)
    let done = Atomic<Bool>(false)
    let runner = Thread {
      _ = try? engine.run(feed: feed)
      done.store(true, ordering: .releasing)
    }
    runner.start()
    defer {
      engine.requestStop()
      _ = Self.waitUntil(10) { done.load(ordering: .acquiring) }
    }
    usleep(600_000)
    #expect(recorder.count("uses", enter: true) == 0)
    try "return { threshold = 0 }".write(
      to: plugins.appendingPathComponent("levels.lua"), atomically: false, encoding: .utf8)
    #expect(Self.waitUntil { recorder.count("uses", enter: true) == 20 })
    // A broken plugin is refused: the strategies keep the working version.
    try "return { threshold = }".write(
      to: plugins.appendingPathComponent("levels.lua"), atomically: false, encoding: .utf8)
    #expect(
      Self.waitUntil { recorder.logs.withLock { $0.contains { $0.contains("levels.lua:1:") } } })
    usleep(600_000)
    #expect(recorder.count("uses", enter: false) == 0)
  }

  @Test(
    "a changed file reloads its instances too; a live param change reloads the strategy, a wrong one is refused"
  )
  func instancesAndLiveParams() throws {
    let dir = ReplayFixtures.temporaryDirectory("hot-instances")
    let plugins = ReplayFixtures.temporaryDirectory("hot-instances-plugins")
    let mom = dir.appendingPathComponent("mom.lua")
    func source(_ tag: String) -> String {
      "return { params = { level = 1e12 }, filter = function(s) return s.price > params.level, '\(tag)' end }"
    }
    try source("v1").write(to: mom, atomically: true, encoding: .utf8)
    func raw(_ values: [String: String]) -> [String: SettingsRawValue] {
      var r: [String: SettingsRawValue] = [:]
      for (key, text) in values {
        r[Settings.environmentVariableName(forKey: key)] = SettingsRawValue(
          text: text, origin: "config: \(key)", key: key)
      }
      return r
    }
    var settings = Settings()
    settings.strategies = dir.path
    settings.plugins = plugins.path
    settings.workers = 2
    settings.cycleMs = 200
    settings.sectionValues["strategy"] = raw(["strategy.hot.from": "mom"])
    let recorder = Recorder()
    let engine = CycleEngine(settings: settings, sink: recorder, live: true)
    engine.log = { line in recorder.logs.withLock { $0.append(line) } }
    engine.addCycleObserver { _ in recorder.cycles.add(1, ordering: .relaxed) }
    try engine.start(
      code: StrategySettings.apply(
        settings.sectionValues["strategy"] ?? [:],
        to: CodeSet.load(strategies: dir.path, plugins: plugins.path)))
    #expect(engine.strategyInfos.map(\.id) == ["hot", "mom"])
    let watcher = engine.reloadWatcher(strategies: dir.path, plugins: plugins.path)
    watcher.start()
    defer { watcher.stop() }
    let feed = SimFeed(
      config: SimulatorConfig(
        symbols: 20, seed: 3, cycleMs: 200, historyCandles: 10, startTime: 1_732_400_000_000),
      speed: 1)
    let result = Mutex<Result<RunSummary, EngineError>?>(nil)
    let runner = Thread {
      do throws(EngineError) {
        let summary = try engine.run(feed: feed)
        result.withLock { $0 = .success(summary) }
      } catch {
        result.withLock { $0 = .failure(error) }
      }
    }
    runner.start()
    defer {
      engine.requestStop()
      _ = Self.waitUntil(10) { result.withLock { $0 != nil } }
    }
    #expect(Self.waitUntil { recorder.cycles.load(ordering: .relaxed) >= 3 })
    #expect(recorder.count("hot", enter: true) == 0)

    // The file changes: the strategy and its instance reload together.
    try source("v2").write(to: mom, atomically: true, encoding: .utf8)
    #expect(
      Self.waitUntil { recorder.logs.withLock { $0.contains { $0.contains("reloaded hot, mom") } } }
    )

    // A live param change of the instance only: it alone reloads, and now matches everything.
    engine.updateStrategySettings(
      raw(["strategy.hot.from": "mom", "strategy.hot.params.level": "0"]), strategies: dir.path,
      plugins: plugins.path)
    #expect(Self.waitUntil { recorder.count("hot", enter: true) == 20 })
    #expect(recorder.count("mom", enter: true) == 0)
    #expect(recorder.logs.withLock { $0.contains { $0.contains("reloaded hot") } })

    // A wrong one is refused with one line; the old values stay.
    engine.updateStrategySettings(
      raw(["strategy.hot.from": "mom", "strategy.hot.params.level": "high"]),
      strategies: dir.path, plugins: plugins.path)
    #expect(
      Self.waitUntil {
        recorder.logs.withLock {
          $0.contains { $0.contains("strategy.hot.params.level: expected a number") }
        }
      })
    let cycles = recorder.cycles.load(ordering: .relaxed)
    #expect(Self.waitUntil { recorder.cycles.load(ordering: .relaxed) >= cycles + 3 })
    #expect(recorder.count("hot", enter: false) == 0)
  }
}
