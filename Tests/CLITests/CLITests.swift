import Feeds
import Foundation
import Testing

/// Runs the `engine` executable built beside the test bundle.
enum EngineProcess {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  static var executable: URL {
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for dir in [
      beside, beside.deletingLastPathComponent(), root.appendingPathComponent(".build/debug"),
    ] {
      let candidate = dir.appendingPathComponent("engine")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    return root.appendingPathComponent(".build/debug/engine")
  }

  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// Runs `engine args`. With `interruptWhenLines`, sends SIGINT once stdout holds that many
  /// lines (or after `timeout` seconds), as a user pressing Ctrl-C would.
  static func run(
    _ args: [String], interruptWhenLines: Int? = nil, timeout: Double = 90, cwd: URL? = nil,
    environment extra: [String: String] = [:]
  ) throws -> Result {
    let process = Process()
    process.executableURL = executable
    process.arguments = args
    process.currentDirectoryURL = cwd ?? root
    var environment = ProcessInfo.processInfo.environment
    for key in ["TRACKING_MODE", "WORKERS", "OUTPUT", "FEED_SOURCE", "SPEED", "STRICT", "CYCLE_MS"]
    {
      environment.removeValue(forKey: key)
    }
    for (key, value) in extra { environment[key] = value }
    process.environment = environment
    // Files, not pipes: the output can be watched while the process runs, and a full pipe
    // can never block it.
    let outPath = temporaryFile([])
    let errPath = temporaryFile([])
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    process.standardOutput = out
    process.standardError = err
    try process.run()
    if let interruptWhenLines {
      let deadline = Date().addingTimeInterval(timeout)
      while Date() < deadline, process.isRunning {
        let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        if text.split(separator: "\n").count >= interruptWhenLines { break }
        Thread.sleep(forTimeInterval: 0.2)
      }
      process.interrupt()
    }
    process.waitUntilExit()
    try out.close()
    try err.close()
    let outData = FileManager.default.contents(atPath: outPath) ?? Data()
    let errData = FileManager.default.contents(atPath: errPath) ?? Data()
    return Result(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }

  static func temporaryFile(_ lines: [String]) -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
      "engine-cli-\(UUID().uuidString).jsonl"
    ).path
    let text = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
  }

  static func simulatedLines(symbols: Int = 60, steps: Int = 30) -> [String] {
    var sim = MarketSimulator(
      SimulatorConfig(symbols: symbols, seed: 5, historyCandles: 40, startTime: 1_732_400_000_000))
    var lines = sim.warmup()
    for _ in 0..<steps { lines += sim.nextStep() }
    return lines
  }
}

@Suite("The engine command line", .serialized)
struct CLITests {
  @Test("engine --help and each subcommand's help describe every option")
  func help() throws {
    let commands = try EngineProcess.run(["--help"])
    #expect(commands.status == 0)
    for command in ["run (default)", "replay", "check", "score", "ingest", "shard", "merge"] {
      #expect(commands.stdout.contains(command), "engine --help lacks \(command)")
    }
    let root = try EngineProcess.run(["run", "--help"])
    #expect(root.status == 0)
    for option in [
      "--strategies", "--workers", "--tracking", "--cycle-ms", "--config", "--plugins", "--output",
      "--feed", "--speed", "--symbols", "--seed", "--strict", "--debug-updates",
      "--batch-threshold",
      "--batch-size", "--min-update-interval-ms", "--max-symbols", "--max-candles",
      "--cycle-grace-ms",
    ] {
      #expect(root.stdout.contains(option), "engine run --help lacks \(option)")
    }
    let replay = try EngineProcess.run(["replay", "--help"])
    #expect(replay.status == 0)
    for option in [
      "<file>", "--strategies", "--workers", "--tracking", "--strict", "--batch-threshold",
    ] {
      #expect(replay.stdout.contains(option), "engine replay --help lacks \(option)")
    }
    let check = try EngineProcess.run(["check", "--help"])
    #expect(check.status == 0)
    #expect(check.stdout.contains("<directory>"))
  }

  @Test(
    "an unknown option or a bad value exits non-zero with one clear line",
    arguments: [
      (["--frobnicate"], "frobnicate"),
      (["--tracking", "sometimes"], "tracking.mode"),
      (["--workers", "-3"], "workers"),
      (["--cycle-ms", "abc"], "cycle_ms"),
      (["replay", "/nonexistent/file.jsonl"], "/nonexistent/file.jsonl"),
      (["--strategies", "/nonexistent/dir", "--feed", "sim"], "/nonexistent/dir"),
    ])
  func badInput(args: [String], mention: String) throws {
    let result = try EngineProcess.run(args)
    #expect(result.status != 0)
    let lines = result.stderr.split(separator: "\n")
    #expect(lines.count == 1, "stderr: \(result.stderr)")
    #expect(result.stderr.contains(mention))
    #expect(result.stdout.isEmpty)
  }

  @Test(
    "replay skips malformed lines, reports their numbers, exits 0, and the good lines' diffs are unchanged"
  )
  func malformedLines() throws {
    let good = EngineProcess.simulatedLines()
    var mixed = good
    // Insert bad lines at known places (1-based line numbers in the new file).
    let bad = [
      "{not json", #"{"e":"24hrTicker","E":1732400000000,"s":"BTCUSDT","c":"12..5"}"#,
      #"{"e":"kline","E":1732400000000,"s":"BTCUSDT","k":{"i":"1m"}}"#, "nan",
    ]
    let positions = [3, 100, 2500, 2600]
    for (text, at) in zip(bad, positions) { mixed.insert(text, at: at - 1) }
    let clean = try EngineProcess.run([
      "replay", EngineProcess.temporaryFile(good), "--strategies", "Strategies",
    ])
    let dirty = try EngineProcess.run([
      "replay", EngineProcess.temporaryFile(mixed), "--strategies", "Strategies",
    ])
    #expect(clean.status == 0)
    #expect(dirty.status == 0)
    #expect(!clean.stdout.isEmpty)
    #expect(dirty.stdout == clean.stdout)
    #expect(dirty.stderr.contains("lines skipped: 4"))
    for line in positions {
      #expect(dirty.stderr.contains("line \(line)"), "stderr lacks line \(line)")
    }
    #expect(clean.stderr.contains("lines skipped: 0"))
  }

  @Test("--strict stops at the first malformed line, naming it")
  func strict() throws {
    var lines = EngineProcess.simulatedLines(steps: 5)
    lines.insert(#"{"e":"24hrTicker","E":1,"s":"X","c":"0x1F"}"#, at: 41)
    let path = EngineProcess.temporaryFile(lines)
    let result = try EngineProcess.run(["replay", path, "--strategies", "Strategies", "--strict"])
    #expect(result.status == 1)
    #expect(result.stderr.contains("\(path):42:"))
    #expect(result.stderr.contains("c"))
  }

  @Test("the live engine on the simulator prints valid diffs and stops cleanly on Ctrl-C")
  func liveRun() throws {
    let result = try EngineProcess.run(
      ["--strategies", "Strategies", "--workers", "2"], interruptWhenLines: 6, timeout: 60)
    #expect(result.status == 0, "stderr: \(result.stderr)")
    let lines = result.stdout.split(separator: "\n")
    #expect(lines.count > 5)
    for line in lines {
      let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
      #expect(object?["strategy"] is String)
      #expect(object?["symbol"] is String)
    }
  }

  @Test("engine check passes the examples and names file:line of a broken strategy")
  func check() throws {
    let ok = try EngineProcess.run(["check", "Strategies"])
    #expect(ok.status == 0)
    #expect(ok.stdout.contains("strategies and plugins OK"))
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "engine-check-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try "return {\n filter = function(s)\n  return s.price >> \n end\n}".write(
      to: dir.appendingPathComponent("syntax.lua"), atomically: true, encoding: .utf8)
    try "return {\n filter = function(s)\n  return s.nope.field\n end\n}".write(
      to: dir.appendingPathComponent("runtime.lua"), atomically: true, encoding: .utf8)
    let bad = try EngineProcess.run(["check", dir.path])
    #expect(bad.status == 1)
    #expect(bad.stdout.contains("runtime.lua:3:"))
    #expect(bad.stdout.contains("syntax.lua:4:"))
  }

  @Test("engine check names a strategy's bad params and settings, and checks --param overrides")
  func checkParams() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "engine-check-params-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try "return {\n params = { period = 14, bad = {1} },\n filter = function(s) return true end\n}"
      .write(to: dir.appendingPathComponent("tablevalue.lua"), atomically: true, encoding: .utf8)
    try "return {\n confirm_s = -1,\n filter = function(s) return true end\n}".write(
      to: dir.appendingPathComponent("negative.lua"), atomically: true, encoding: .utf8)
    try "return {\n trigger = 'tick',\n filter = function(s) return true end\n}".write(
      to: dir.appendingPathComponent("trigger.lua"), atomically: true, encoding: .utf8)
    try
      "return {\n params = { period = 14 },\n filter = function(s) return s.price > params.period end\n}"
      .write(to: dir.appendingPathComponent("good.lua"), atomically: true, encoding: .utf8)
    let bad = try EngineProcess.run(["check", dir.path])
    #expect(bad.status == 1)
    #expect(
      bad.stdout.contains("tablevalue.lua: params.bad must be a number, a string or a boolean"))
    #expect(bad.stdout.contains("negative.lua: 'confirm_s' must be a number of seconds"))
    #expect(bad.stdout.contains("trigger.lua: 'trigger' must be"))
    #expect(!bad.stdout.contains("good.lua"))
    #expect(bad.stderr.contains("3 problems"))

    for file in ["tablevalue.lua", "negative.lua", "trigger.lua"] {
      try FileManager.default.removeItem(at: dir.appendingPathComponent(file))
    }
    let ok = try EngineProcess.run(["check", dir.path, "--param", "good.period=20"])
    #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
    let wrongType = try EngineProcess.run(["check", dir.path, "--param", "good.period=abc"])
    #expect(wrongType.status == 1)
    #expect(
      wrongType.stdout.contains("strategy.good.params.period: expected a number, got \"abc\""))
    let unknown = try EngineProcess.run(["check", dir.path, "--param", "good.nope=1"])
    #expect(unknown.status == 1)
    #expect(unknown.stdout.contains("strategy good has no param 'nope' (it declares: period)"))
    let noStrategy = try EngineProcess.run(["check", dir.path, "--param", "zz.period=1"])
    #expect(noStrategy.status == 2)
    #expect(noStrategy.stderr.contains("no strategy with this id"))
    let malformed = try EngineProcess.run(["check", dir.path, "--param", "period=1"])
    #expect(malformed.status != 0)
    #expect(malformed.stderr.contains("--param"))
  }
}
