import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// SIGINT/SIGTERM end the process within 2 seconds whatever a worker is doing.
@Suite("Stopping always works", .serialized)
struct StopTests {
  struct Stopped {
    var status: Int32
    var seconds: Double
    var stderr: String
  }

  /// Starts `engine args` live on a replay of simulated data, waits until its stderr shows
  /// `marker` (a strategy's `print`), sends `signal`, and measures how long the process takes
  /// to exit.
  static func stop(
    strategies: [String: String], environment extra: [String: String] = [:],
    marker: String, signal: Int32 = SIGTERM
  ) throws -> Stopped {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "engine-stop-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for (id, source) in strategies {
      try source.write(
        to: dir.appendingPathComponent("\(id).lua"), atomically: true, encoding: .utf8)
    }
    let feed = EngineProcess.temporaryFile(EngineProcess.simulatedLines(symbols: 20, steps: 200))
    let process = Process()
    process.executableURL = EngineProcess.executable
    process.arguments = [
      "--strategies", dir.path, "--feed", "replay:\(feed)", "--speed", "20", "--workers", "2",
    ]
    process.currentDirectoryURL = EngineProcess.root
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in extra { environment[k] = v }
    process.environment = environment
    let errPath = EngineProcess.temporaryFile([])
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    process.standardError = err
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline, process.isRunning {
      let text = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
      if text.contains(marker) { break }
      Thread.sleep(forTimeInterval: 0.05)
    }
    // Well inside the call by now.
    Thread.sleep(forTimeInterval: 0.3)
    let sent = Date()
    kill(process.processIdentifier, signal)
    while process.isRunning, Date().timeIntervalSince(sent) < 10 {
      Thread.sleep(forTimeInterval: 0.01)
    }
    let seconds = Date().timeIntervalSince(sent)
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    try err.close()
    let text = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    return Stopped(status: process.terminationStatus, seconds: seconds, stderr: text)
  }

  static let momentum = """
    return { filter = function(s) return s.change_pct ~= nil and s.change_pct > 5 end }
    """

  @Test("a worker stuck in a C call: exit within 2 s, naming the strategy and symbol")
  func stuckInC() throws {
    let stuck = """
      return { filter = function(s)
        if s.symbol == "BTCUSDT" then print("entering the C call") test_stall_in_c() end
        return false
      end }
      """
    let result = try Self.stop(
      strategies: ["stuck": stuck, "momentum": Self.momentum],
      environment: ["ENGINE_TEST_C_STALL": "1", "SANDBOX_CALL_TIMEOUT_MS": "0"],
      marker: "entering the C call")
    #expect(result.seconds < 2, "took \(result.seconds) s")
    #expect(result.status != 0)
    #expect(result.stderr.contains("strategy stuck on BTCUSDT"), "\(result.stderr)")
  }

  @Test("a call looping in Lua under a huge budget is interrupted: clean exit within 2 s")
  func loopingInLua() throws {
    let looping = """
      return { filter = function(s)
        if s.symbol == "BTCUSDT" then print("looping") while true do end end
        return false
      end }
      """
    let result = try Self.stop(
      strategies: ["looping": looping, "momentum": Self.momentum],
      environment: ["SANDBOX_INSTRUCTION_BUDGET": "2147483647", "SANDBOX_CALL_TIMEOUT_MS": "0"],
      marker: "looping", signal: SIGINT)
    #expect(result.seconds < 2, "took \(result.seconds) s")
    #expect(result.status == 0, "\(result.stderr)")
  }

  @Test("the live watchdog reports a call past sandbox.call_timeout_ms by strategy and symbol")
  func watchdog() throws {
    let slow = """
      return { filter = function(s)
        if s.symbol == "BTCUSDT" then print("slow call") while true do end end
        return false
      end }
      """
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "engine-watchdog-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try slow.write(to: dir.appendingPathComponent("slow.lua"), atomically: true, encoding: .utf8)
    let feed = EngineProcess.temporaryFile(EngineProcess.simulatedLines(symbols: 10, steps: 5))
    let result = try EngineProcess.run(
      ["--strategies", dir.path, "--feed", "replay:\(feed)", "--speed", "max"],
      environment: ["SANDBOX_INSTRUCTION_BUDGET": "2147483647", "SANDBOX_CALL_TIMEOUT_MS": "300"])
    #expect(result.status == 0)
    #expect(
      result.stderr.contains("strategy slow: the call on BTCUSDT ran for")
        && result.stderr.contains("sandbox.call_timeout_ms (300)"), "\(result.stderr)")
  }
}
