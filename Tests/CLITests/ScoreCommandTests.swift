import Feeds
import Foundation
import Testing

/// `engine score` run as a user runs it, on a simulator recording made by `engine record`.
@Suite("engine score", .serialized)
struct ScoreCommandTests {
  /// A recording of the simulator (80 symbols, 300 one-second cycles) and its last event time.
  static let recording: (path: String, lastEventTime: Int64) = {
    let path = EngineProcess.temporaryFile([])
    let result = try? EngineProcess.run([
      "record", "--feed", "sim", "--symbols", "80", "--steps", "300", "--seed", "9", "--start",
      "1732400000000", "--out", path,
    ])
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    var last = Int64.min
    for line in text.split(separator: "\n") {
      for event in BinanceParser().parse(String(line)).events { last = max(last, event.eventTime) }
    }
    return (result?.status == 0 ? path : "", last)
  }()

  @Test(
    "--diffs is byte-identical to engine replay's stdout; --json's n counts the enters that fit")
  func diffsAndCounts() throws {
    let (file, end) = Self.recording
    try #require(!file.isEmpty, "engine record failed")
    let replay = try EngineProcess.run(["replay", file, "--strategies", "Strategies"])
    #expect(replay.status == 0)
    #expect(replay.stdout.contains("\"event\":\"enter\""))
    let diffs = EngineProcess.temporaryFile([])
    let score = try EngineProcess.run([
      "score", file, "--strategies", "Strategies", "--json", "--horizons", "5s,1m,2m,10m",
      "--diffs", diffs, "--workers", "2",
    ])
    #expect(score.status == 0, "\(score.stderr)")
    #expect(try String(contentsOfFile: diffs, encoding: .utf8) == replay.stdout)
    #expect(score.stderr.contains("summary:"))

    let enters = try replay.stdout.split(separator: "\n").compactMap { line -> (String, Int64)? in
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      guard object["event"] as? String == "enter" else { return nil }
      return (object["strategy"] as? String ?? "", (object["time"] as? NSNumber)?.int64Value ?? 0)
    }
    let report = try #require(
      try JSONSerialization.jsonObject(with: Data(score.stdout.utf8)) as? [String: Any])
    #expect(report["horizons"] as? [String] == ["5s", "1m", "2m", "10m"])
    let rows = try #require(report["strategies"] as? [[String: Any]])
    let shipped = try FileManager.default.contentsOfDirectory(
      atPath: EngineProcess.root.appendingPathComponent("Strategies").path
    ).filter { $0.hasSuffix(".lua") }.map { String($0.dropLast(4)) }.sorted()
    #expect(rows.compactMap { $0["id"] as? String } == shipped)
    var fitting = 0
    for row in rows {
      let id = try #require(row["id"] as? String)
      let mine = enters.filter { $0.0 == id }
      #expect(row["signals"] as? Int == mine.count)
      let horizons = try #require(row["horizons"] as? [String: [String: Any]])
      for (label, ms) in [("5s", 5000), ("1m", 60_000), ("2m", 120_000), ("10m", 600_000)] {
        let fits = mine.filter { $0.1 + Int64(ms) <= end }.count
        #expect(horizons[label]?["n"] as? Int == fits, "\(id) \(label)")
        #expect(horizons[label]?["open"] as? Int == mine.count - fits, "\(id) \(label)")
        fitting += fits
      }
    }
    #expect(fitting > 0)
  }

  @Test("the default output is an aligned table; --html writes the page")
  func tableAndHTML() throws {
    let (file, _) = Self.recording
    try #require(!file.isEmpty, "engine record failed")
    let html = EngineProcess.temporaryFile([]) + ".html"
    let score = try EngineProcess.run([
      "score", file, "--strategies", "Strategies", "--html", html,
    ])
    #expect(score.status == 0, "\(score.stderr)")
    let lines = score.stdout.split(separator: "\n")
    #expect(lines.first?.hasPrefix("strategy") == true)
    #expect(lines.first?.contains("excess") == true)
    // Each strategy has one row per default horizon (1m, 5m, 15m, 1h).
    #expect(lines.count == 1 + 4 * 9)
    #expect(lines.filter { $0.contains(" 1h ") }.count == 9)
    let page = try String(contentsOfFile: html, encoding: .utf8)
    #expect(page.contains("id=\"score-data\"") && page.contains("data-strategy=\"momentum\""))
    #expect(score.stderr.contains("HTML report written to \(html)"))
  }

  @Test(
    "a bad horizon list stops before the replay with one line naming it",
    arguments: [
      ("5x", "horizon \"5x\": the unit must be s, m, h or d"),
      ("1m,,5m", "an empty horizon"),
      ("0m", "a horizon must be positive"),
      ("1m,60s", "the same horizon as \"1m\""),
    ])
  func badHorizons(list: String, mention: String) throws {
    let result = try EngineProcess.run([
      "score", "/nonexistent.jsonl", "--strategies", "Strategies", "--horizons", list,
    ])
    #expect(result.status == 64)
    #expect(result.stderr.contains(mention), "\(result.stderr)")
    #expect(result.stderr.split(separator: "\n").count == 1)
    #expect(result.stdout.isEmpty)
  }

  @Test("a diffs file that cannot be created stops the command before the replay")
  func unwritableDiffs() throws {
    let (file, _) = Self.recording
    try #require(!file.isEmpty, "engine record failed")
    let result = try EngineProcess.run([
      "score", file, "--strategies", "Strategies", "--diffs", "/nonexistent/dir/d.jsonl",
    ])
    #expect(result.status == 2)
    #expect(result.stderr.contains("/nonexistent/dir/d.jsonl"))
    #expect(result.stdout.isEmpty)
  }
}
