import Engine
import EngineSettings
import Foundation
import Testing

/// A replay prints the same bytes whatever `--workers`, `--tracking` and
/// batch mode, on generated feeds with tickers, mini tickers, arrays and klines.
@Suite("Replay output is the same bytes in every mode", .serialized)
struct ReplayEquivalenceTests {
  /// Extra strategies: one with string info, one reading several kline columns and `#k`,
  /// one matching on a narrow band so symbols enter and exit often.
  static let extras: [String: String] = [
    "band": """
    -- enters and leaves often: the last digit of the price in cents
    return {
      filter = function(s)
        local cents = math.floor(s.price * 100 + 0.5)
        return cents % 7 < 3, s.symbol .. ":" .. (cents % 7)
      end,
    }
    """,
    "green_candles": """
    return {
      timeframes = { "1m" },
      min_candles = 3,
      filter = function(s)
        local k = s.klines["1m"]
        local n = #k
        return k.close[n] > k.open[n] and k.close[n - 1] > k.open[n - 1], n
      end,
    }
    """,
  ]

  static let feed = ReplayFixtures.write(
    ReplayFixtures.simulatedLines(symbols: 150, steps: 80, seed: 7), name: "equivalence")
  static let strategies = ReplayFixtures.strategies(extras)

  @Test("workers 1, 2, 4 × tracking changed, all × batch threshold 0, 0.5, 1 give identical bytes")
  func identicalBytes() throws {
    let reference = try ReplayFixtures.replay(Self.feed, strategies: Self.strategies, workers: 1)
    #expect(reference.output.count > 1000)
    #expect(reference.summary.diffs > 50)
    #expect(reference.output.contains("\"event\":\"exit\""))
    for workers in [1, 2, 4] {
      for mode in [TrackingMode.changed, .all] {
        for threshold in [0.0, 0.5, 1.0] {
          let run = try ReplayFixtures.replay(
            Self.feed, strategies: Self.strategies, workers: workers, mode: mode,
            batchThreshold: threshold)
          #expect(
            run.output == reference.output,
            "workers \(workers), tracking \(mode), batch_threshold \(threshold)")
          if threshold == 0 { #expect(run.summary.batchCycles > run.summary.cycles / 2) }
          if threshold == 1 { #expect(run.summary.batchCycles == 0) }
        }
      }
    }
  }

  @Test("symbol names longer than events hold inline give the same bytes, names aside")
  func longSymbolNames() throws {
    let lines = ReplayFixtures.simulatedLines(symbols: 60, steps: 30, seed: 11)
    // A prefix keeps the symbols' byte order; 42 bytes puts every name past the 31 held inline.
    let prefix = "P" + String(repeating: "0123456789", count: 4) + "_"
    var renamed = 0
    let long = lines.map { line in
      let parts = line.components(separatedBy: "\"s\":\"")
      renamed += parts.count - 1
      return parts.joined(separator: "\"s\":\"" + prefix)
    }
    #expect(renamed > 60 * 30)
    let reference = try ReplayFixtures.replay(
      ReplayFixtures.write(lines, name: "short-names"), strategies: Self.strategies)
    #expect(reference.summary.diffs > 20)
    for workers in [1, 2] {
      let run = try ReplayFixtures.replay(
        ReplayFixtures.write(long, name: "long-names"), strategies: Self.strategies,
        workers: workers)
      #expect(run.output.contains(prefix))
      #expect(run.output.replacingOccurrences(of: prefix, with: "") == reference.output)
    }
  }

  @Test("diff lines are ordered by strategy id, then symbol, within each cycle")
  func ordering() throws {
    let run = try ReplayFixtures.replay(Self.feed, strategies: Self.strategies, workers: 4)
    var previous: (Int, String, String)?
    for line in run.output.split(separator: "\n") {
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      let key = (
        object["cycle"] as? Int ?? -1, object["strategy"] as? String ?? "",
        object["symbol"] as? String ?? ""
      )
      if let p = previous, p.0 == key.0 {
        let order =
          p.1 == key.1
          ? p.2.utf8.lexicographicallyPrecedes(key.2.utf8)
          : p.1.utf8.lexicographicallyPrecedes(key.1.utf8)
        #expect(order, "\(p) then \(key)")
      } else if let p = previous {
        #expect(p.0 < key.0)
      }
      previous = key
      #expect(object["time"] as? Int == ((object["cycle"] as? Int ?? 0) + 1) * 1000)
      let event = object["event"] as? String
      #expect(event == "enter" || event == "exit")
      if event == "exit" { #expect(object["info"] == nil) }
      #expect(object["price"] is Double || object["price"] is Int)
    }
  }

  @Test("enter and exit alternate per strategy and symbol, starting with enter")
  func alternation() throws {
    let run = try ReplayFixtures.replay(Self.feed, strategies: Self.strategies, workers: 2)
    var matched: [String: Bool] = [:]
    for line in run.output.split(separator: "\n") {
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      let key = "\(object["strategy"] ?? "")/\(object["symbol"] ?? "")"
      let enter = object["event"] as? String == "enter"
      #expect(matched[key, default: false] != enter, "\(key) repeated \(enter ? "enter" : "exit")")
      matched[key] = enter
    }
  }

  @Test("in changed mode the share of symbol evaluations skipped is the share of unchanged symbols")
  func skippedShare() throws {
    let lines = ReplayFixtures.simulatedLines(symbols: 100, steps: 40, seed: 11)
    let path = ReplayFixtures.write(lines, name: "share")
    let run = try ReplayFixtures.replay(path, strategies: Self.strategies, workers: 2)
    // Count, independently of the engine, the symbols with an event in each cycle.
    var changedPerCycle: [Int: Set<String>] = [:]
    var known = Set<String>()
    var symbolCycles = 0
    var lastCycle: Int?
    for line in lines {
      guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) else { continue }
      let payload: Any = (object as? [String: Any])?["data"] ?? object
      let events = (payload as? [[String: Any]]) ?? [(payload as? [String: Any]) ?? [:]]
      for e in events {
        guard let time = e["E"] as? Int, let symbol = e["s"] as? String else { continue }
        let cycle = time / 1000
        if let last = lastCycle, cycle > last { symbolCycles += known.count }
        lastCycle = cycle
        known.insert(symbol)
        changedPerCycle[cycle, default: []].insert(symbol)
      }
    }
    symbolCycles += known.count
    let changed = changedPerCycle.values.reduce(0) { $0 + $1.count }
    #expect(run.summary.symbolEvaluations == changed)
    #expect(run.summary.symbolCycles == symbolCycles)
    #expect(run.summary.cycles == changedPerCycle.count)
    let unchangedShare = 1 - Double(changed) / Double(symbolCycles)
    #expect(abs(run.summary.skippedShare - unchangedShare) < 1e-12)
    #expect(run.summary.text.contains("skipped: "))
    let all = try ReplayFixtures.replay(path, strategies: Self.strategies, workers: 2, mode: .all)
    #expect(all.summary.symbolEvaluations == symbolCycles)
    #expect(all.summary.skippedShare == 0)
    #expect(all.output == run.output)
  }
}
