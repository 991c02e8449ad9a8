import Foundation
import Testing

/// The bus roles as separate processes on a real `nats-server`: the merged output must be the
/// bytes `engine replay` prints, whatever the shard count and whatever crashes mid-run.
@Suite("Shards on NATS JetStream", .serialized)
struct ShardedRunTests {
  /// A recorded simulator file and `engine replay`'s output on it: the baseline.
  struct Recording {
    var feed: String
    var baseline: Data
  }

  static func record(_ p: Processes, symbols: Int = 50, steps: Int = 300) throws -> Recording {
    let feed = p.path("feed.jsonl")
    let status = try p.engineRun(
      [
        "record", "--feed", "sim", "--symbols", String(symbols), "--steps", String(steps),
        "--start", "1700000000000", "--out", feed,
      ], stderr: "record.err")
    guard status == 0 else { throw TestFailure("engine record: \(p.text("record.err"))") }
    let replayStatus = try p.engineRun(
      ["replay", feed, "--strategies", "Strategies", "--output", "jsonl"],
      stdout: "baseline.jsonl", stderr: "baseline.err")
    guard replayStatus == 0 else { throw TestFailure("engine replay: \(p.text("baseline.err"))") }
    let baseline = FileManager.default.contents(atPath: p.path("baseline.jsonl")) ?? Data()
    return Recording(feed: feed, baseline: baseline)
  }

  static func lines(_ data: Data) -> [Substring] {
    String(decoding: data, as: UTF8.self).split(separator: "\n")
  }

  /// `engine bus tail` with `args` (filters); its stdout.
  static func tail(_ p: Processes, _ nats: NatsServer, _ args: [String]) throws -> Data {
    let out = "tail-\(UUID().uuidString).jsonl"
    let status = try p.engineRun(
      ["bus", "tail", "--nats", nats.url] + args, stdout: out, stderr: "tail.err")
    guard status == 0 else { throw TestFailure("engine bus tail: \(p.text("tail.err"))") }
    return FileManager.default.contents(atPath: p.path(out)) ?? Data()
  }

  /// A nats-server, `bus init` with `partitions`, and a merger writing `merged.jsonl`.
  static func startBus(_ p: Processes, partitions: Int) throws -> (NatsServer, Process) {
    let nats = try NatsServer(processes: p)
    let status = try p.engineRun(
      ["bus", "init", "--nats", nats.url, "--partitions", String(partitions)],
      stderr: "init.err")
    guard status == 0 else { throw TestFailure("bus init: \(p.text("init.err"))") }
    let merger = try p.engine(
      ["merge", "--nats", nats.url, "--output", "jsonl"], stdout: "merged.jsonl",
      stderr: "merge.err")
    return (nats, merger)
  }

  struct Scenario: CustomTestStringConvertible, Sendable {
    var shards: Int
    var workers: Int?
    /// The ingest's `--speed`: paced, every crash lands while input is still arriving; at
    /// `max`, the input is all on the bus early and the crashes land while shards catch up.
    var speed = "10"
    var testDescription: String {
      "\(shards) shard\(shards == 1 ? "" : "s")" + (workers.map { ", --workers \($0)" } ?? "")
        + ", ingest --speed \(speed)"
    }
  }

  @Test(
    "kill -9 of a shard, the merger and nats-server mid-run; a second copy refused; output identical",
    arguments: [
      Scenario(shards: 3, workers: nil), Scenario(shards: 3, workers: 1),
      Scenario(shards: 1, workers: nil), Scenario(shards: 5, workers: nil),
      Scenario(shards: 3, workers: nil, speed: "max"),
    ])
  func crashes(_ scenario: Scenario) throws {
    let p = Processes(dir: try Paths.temporaryDirectory("bus"))
    defer { p.killAll() }
    let recording = try Self.record(p)
    let baselineLines = Self.lines(recording.baseline)
    #expect(baselineLines.count > 100, "the simulator file should produce plenty of diffs")
    let nats = try NatsServer(processes: p)
    let initStatus = try p.engineRun(
      ["bus", "init", "--nats", nats.url, "--partitions", "10"], stderr: "init.err")
    try #require(initStatus == 0, "bus init: \(p.text("init.err"))")

    let shardArgs = { (i: Int) in
      [
        "shard", "--nats", nats.url, "--shard", "\(i)/\(scenario.shards)", "--strategies",
        "Strategies",
      ]
        + (scenario.workers.map { ["--workers", String($0)] } ?? [])
    }
    func startMerger() throws -> Process {
      try p.engine(
        ["merge", "--nats", nats.url, "--output", "jsonl"], stdout: "merged.jsonl",
        stderr: "merge.err", appendStdout: true)
    }
    var merger = try startMerger()
    var shards = try (0..<scenario.shards).map {
      try p.engine(shardArgs($0), stderr: "shard\($0).err")
    }
    let ingest = try p.engine(
      [
        "ingest", "--nats", nats.url, "--feed", "replay:\(recording.feed)", "--speed",
        scenario.speed,
      ], stderr: "ingest.err")
    let total = baselineLines.count
    func merged() -> Int { p.lineCount("merged.jsonl") }

    // A second copy of a running shard: the broker's lease refuses it.
    try p.until("the first merged lines") { merged() >= total / 10 }
    let second = try p.engine(shardArgs(0), stderr: "second.err")

    let secondStatus = p.wait(second, seconds: 60)
    #expect(secondStatus == 1, "a second copy must exit 1: \(p.text("second.err"))")
    #expect(p.text("second.err").contains("second copy"), "\(p.text("second.err"))")

    // A shard crashes and is restarted.
    try p.until("a fifth of the output") { merged() >= total / 5 }
    let victim = scenario.shards > 1 ? 1 : 0
    p.crash(shards[victim])
    shards[victim] = try p.engine(shardArgs(victim), stderr: "shard\(victim).err")

    // The merger crashes and is restarted on the same stdout file.
    try p.until("two fifths of the output") { merged() >= total * 2 / 5 }
    p.crash(merger)
    merger = try startMerger()

    // The broker crashes and is restarted on the same store.
    try p.until("three fifths of the output") { merged() >= total * 3 / 5 }
    try nats.crashAndRestart()

    #expect(p.wait(ingest) == 0, "ingest: \(p.text("ingest.err"))")
    for (i, shard) in shards.enumerated() {
      #expect(p.wait(shard) == 0, "shard \(i): \(p.text("shard\(i).err"))")
    }
    #expect(p.wait(merger) == 0, "merge: \(p.text("merge.err"))")

    let output = FileManager.default.contents(atPath: p.path("merged.jsonl")) ?? Data()
    #expect(output == recording.baseline, "merged stdout differs from engine replay's")

    // The output stream: every line exactly once, in order.
    #expect(try Self.tail(p, nats, []) == recording.baseline)
    // A consumer filtered on one strategy reads exactly its lines, in order.
    let counts = Dictionary(grouping: baselineLines) { line in
      line.firstRange(of: "\"strategy\":\"").map { r in
        line[r.upperBound...].prefix { $0 != "\"" }
      } ?? ""
    }
    let busiest = try #require(counts.max { $0.value.count < $1.value.count })
    let filtered = try Self.tail(p, nats, ["--strategy", String(busiest.key)])
    #expect(Self.lines(filtered) == busiest.value)
    #expect(!busiest.value.isEmpty)
  }

  @Test("ingest --speed max: the shards and the merger catch up, output identical")
  func flatOut() throws {
    let p = Processes(dir: try Paths.temporaryDirectory("bus-max"))
    defer { p.killAll() }
    let recording = try Self.record(p)
    let (nats, merger) = try Self.startBus(p, partitions: 6)
    let shards = try (0..<3).map {
      try p.engine(
        ["shard", "--nats", nats.url, "--shard", "\($0)/3", "--strategies", "Strategies"],
        stderr: "shard\($0).err")
    }
    #expect(
      try p.engineRun(
        ["ingest", "--nats", nats.url, "--feed", "replay:\(recording.feed)", "--speed", "max"],
        stderr: "ingest.err") == 0, "ingest: \(p.text("ingest.err"))")
    for (i, shard) in shards.enumerated() {
      #expect(p.wait(shard) == 0, "shard \(i): \(p.text("shard\(i).err"))")
    }
    #expect(p.wait(merger) == 0, "merge: \(p.text("merge.err"))")
    let output = FileManager.default.contents(atPath: p.path("merged.jsonl")) ?? Data()
    #expect(output == recording.baseline, "merged stdout differs from engine replay's")
  }

  @Test("a strategy saved mid-run applies at the same cycle in every shard")
  func hotReload() throws {
    let p = Processes(dir: try Paths.temporaryDirectory("bus-reload"))
    defer { p.killAll() }
    let recording = try Self.record(p, symbols: 30, steps: 200)
    let strategies = p.dir.appendingPathComponent("strategies")
    try FileManager.default.createDirectory(at: strategies, withIntermediateDirectories: true)
    for file in ["dump_alert.lua", "momentum.lua"] {
      try FileManager.default.copyItem(
        at: Paths.root.appendingPathComponent("Strategies/\(file)"),
        to: strategies.appendingPathComponent(file))
    }
    let flip = strategies.appendingPathComponent("flip.lua")
    try "return { filter = function(s) return false end }".write(
      to: flip, atomically: true, encoding: .utf8)
    let (nats, merger) = try Self.startBus(p, partitions: 6)
    // The shards' own directory is not used: the strategies come from the bus.
    let local = p.dir.appendingPathComponent("local")
    try FileManager.default.createDirectory(at: local, withIntermediateDirectories: true)
    try "return { filter = function(s) return true end }".write(
      to: local.appendingPathComponent("local_only.lua"), atomically: true, encoding: .utf8)
    let shards = try (0..<3).map {
      try p.engine(
        ["shard", "--nats", nats.url, "--shard", "\($0)/3", "--strategies", local.path],
        stderr: "shard\($0).err")
    }
    let ingest = try p.engine(
      [
        "ingest", "--nats", nats.url, "--feed", "replay:\(recording.feed)", "--speed", "10",
        "--strategies", strategies.path,
      ], stderr: "ingest.err")
    try p.until("the first merged lines") { p.lineCount("merged.jsonl") >= 5 }
    try "return { filter = function(s) return true end }".write(
      to: flip, atomically: true, encoding: .utf8)
    #expect(p.wait(ingest) == 0, "ingest: \(p.text("ingest.err"))")
    for (i, shard) in shards.enumerated() {
      #expect(p.wait(shard) == 0, "shard \(i): \(p.text("shard\(i).err"))")
    }
    #expect(p.wait(merger) == 0, "merge: \(p.text("merge.err"))")
    let output = Self.lines(FileManager.default.contents(atPath: p.path("merged.jsonl")) ?? Data())
    #expect(!output.contains { $0.contains("local_only") })
    #expect(output.contains { $0.contains("\"strategy\":\"momentum\"") })
    let flipped = output.filter { $0.contains("\"strategy\":\"flip\"") }
    #expect(flipped.count == 30, "every symbol enters once: \(flipped.count)")
    let cycles = Set(flipped.map { $0.prefix { $0 != "," } })
    #expect(cycles.count == 1, "the new version applies at one cycle in every shard: \(cycles)")
    #expect(flipped.allSatisfy { $0.contains("\"event\":\"enter\"") })
  }

  @Test("adding a shard mid-run: stop three, start four, output identical")
  func addShard() throws {
    let p = Processes(dir: try Paths.temporaryDirectory("bus-reshard"))
    defer { p.killAll() }
    let recording = try Self.record(p)
    let (nats, merger) = try Self.startBus(p, partitions: 12)
    let shardArgs = { (i: Int, n: Int) in
      ["shard", "--nats", nats.url, "--shard", "\(i)/\(n)", "--strategies", "Strategies"]
    }
    let three = try (0..<3).map { try p.engine(shardArgs($0, 3), stderr: "three\($0).err") }
    let ingest = try p.engine(
      ["ingest", "--nats", nats.url, "--feed", "replay:\(recording.feed)", "--speed", "10"],
      stderr: "ingest.err")
    let total = Self.lines(recording.baseline).count
    try p.until("a third of the output") { p.lineCount("merged.jsonl") >= total / 3 }
    for shard in three { shard.interrupt() }
    for (i, shard) in three.enumerated() {
      #expect(p.wait(shard, seconds: 10) == 0, "shard \(i)/3: \(p.text("three\(i).err"))")
    }
    let four = try (0..<4).map { try p.engine(shardArgs($0, 4), stderr: "four\($0).err") }
    #expect(p.wait(ingest) == 0, "ingest: \(p.text("ingest.err"))")
    for (i, shard) in four.enumerated() {
      #expect(p.wait(shard) == 0, "shard \(i)/4: \(p.text("four\(i).err"))")
    }
    #expect(p.wait(merger) == 0, "merge: \(p.text("merge.err"))")
    let output = FileManager.default.contents(atPath: p.path("merged.jsonl")) ?? Data()
    #expect(output == recording.baseline, "merged stdout differs from engine replay's")
  }
}
