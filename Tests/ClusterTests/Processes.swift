import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The repository and the built `engine` executable.
enum Paths {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  static var engine: URL {
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for dir in [
      beside, beside.deletingLastPathComponent(), root.appendingPathComponent(".build/debug"),
    ] {
      let candidate = dir.appendingPathComponent("engine")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    return root.appendingPathComponent(".build/debug/engine")
  }

  static var natsServer: String? {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
      let path = dir + "/nats-server"
      if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
  }

  static func temporaryDirectory(_ name: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "engine-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }
}

struct TestFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// Every process a test starts, tracked by PID and killed by PID when the test ends.
final class Processes: @unchecked Sendable {
  // safe: used by the one test thread that owns it.
  private var running: [Process] = []
  let dir: URL

  init(dir: URL) { self.dir = dir }

  deinit { killAll() }

  /// Starts `executable args` with stdout and stderr in files of `dir` (stdout appended to
  /// when `appendStdout`).
  @discardableResult
  func start(
    _ executable: URL, _ args: [String], stdout: String, stderr: String,
    appendStdout: Bool = false
  ) throws -> Process {
    let process = Process()
    process.executableURL = executable
    process.arguments = args
    process.currentDirectoryURL = Paths.root
    var environment = ProcessInfo.processInfo.environment
    for key in ["TRACKING_MODE", "WORKERS", "OUTPUT", "FEED_SOURCE", "SPEED", "STRICT", "CYCLE_MS"]
    {
      environment.removeValue(forKey: key)
    }
    process.environment = environment
    process.standardOutput = try handle(stdout, append: appendStdout)
    process.standardError = try handle(stderr, append: true)
    try process.run()
    running.append(process)
    return process
  }

  func engine(
    _ args: [String], stdout: String = "/dev/null", stderr: String, appendStdout: Bool = false
  ) throws -> Process {
    try start(Paths.engine, args, stdout: stdout, stderr: stderr, appendStdout: appendStdout)
  }

  /// Runs `engine args` to its end; returns the status.
  func engineRun(_ args: [String], stdout: String = "/dev/null", stderr: String) throws -> Int32 {
    let p = try engine(args, stdout: stdout, stderr: stderr)
    p.waitUntilExit()
    return p.terminationStatus
  }

  func path(_ name: String) -> String {
    name.hasPrefix("/") ? name : dir.appendingPathComponent(name).path
  }

  func text(_ name: String) -> String {
    (try? String(contentsOfFile: path(name), encoding: .utf8)) ?? ""
  }

  func lineCount(_ name: String) -> Int {
    (FileManager.default.contents(atPath: path(name)) ?? Data()).reduce(0) {
      $0 + ($1 == 10 ? 1 : 0)
    }
  }

  private func handle(_ name: String, append: Bool) throws -> FileHandle {
    let p = path(name)
    if p == "/dev/null" { return FileHandle.nullDevice }
    if !append || !FileManager.default.fileExists(atPath: p) {
      _ = FileManager.default.createFile(atPath: p, contents: nil)
    }
    guard let h = FileHandle(forWritingAtPath: p) else {
      throw TestFailure("cannot open \(p)")
    }
    h.seekToEndOfFile()
    return h
  }

  /// SIGKILL, as a crash.
  func crash(_ process: Process) {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }

  /// Waits for `process` to exit (at most `seconds`, then kills it) and returns its status.
  func wait(_ process: Process, seconds: Double = 180) -> Int32? {
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    if process.isRunning {
      crash(process)
      return nil
    }
    return process.terminationStatus
  }

  /// Polls `condition` every 20 ms for at most `seconds`.
  func until(_ what: String, seconds: Double = 120, _ condition: () -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
      if Date() > deadline { throw TestFailure("timed out waiting for \(what)") }
      Thread.sleep(forTimeInterval: 0.02)
    }
  }

  func killAll() {
    for p in running where p.isRunning { kill(p.processIdentifier, SIGKILL) }
    for p in running { p.waitUntilExit() }
    running.removeAll()
  }
}

/// A `nats-server` with JetStream on a free loopback port, its store in a temp directory.
final class NatsServer {
  let processes: Processes
  let store: URL
  private(set) var process: Process?
  private(set) var port = 0
  var url: String { "nats://127.0.0.1:\(port)" }

  init(processes: Processes) throws {
    guard let binary = Paths.natsServer else {
      throw TestFailure("nats-server is not installed (apt-get install nats-server)")
    }
    self.processes = processes
    store = processes.dir.appendingPathComponent("jetstream")
    let portsDir = processes.dir.appendingPathComponent("ports")
    try FileManager.default.createDirectory(at: portsDir, withIntermediateDirectories: true)
    let p = try processes.start(
      URL(fileURLWithPath: binary),
      ["-a", "127.0.0.1", "-p", "-1", "-js", "-sd", store.path, "--ports_file_dir", portsDir.path],
      stdout: "nats.log", stderr: "nats.log", appendStdout: true)
    process = p
    let portsFile = portsDir.appendingPathComponent("nats-server_\(p.processIdentifier).ports")
    try processes.until("nats-server's ports file", seconds: 20) {
      guard let data = FileManager.default.contents(atPath: portsFile.path),
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let urls = object["nats"] as? [String], let first = urls.first,
        let port = first.split(separator: ":").last.flatMap({ Int($0) })
      else { return false }
      self.port = port
      return true
    }
    try waitReady()
  }

  /// `kill -9`, then a new server on the same port and store.
  func crashAndRestart() throws {
    guard let binary = Paths.natsServer, let old = process else { return }
    processes.crash(old)
    process = try processes.start(
      URL(fileURLWithPath: binary),
      ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store.path],
      stdout: "nats.log", stderr: "nats.log", appendStdout: true)
    try waitReady()
  }

  private func waitReady() throws {
    try processes.until("nats-server to accept connections on \(port)", seconds: 20) {
      let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      defer { close(fd) }
      var address = sockaddr_in()
      address.sin_family = sa_family_t(AF_INET)
      address.sin_port = in_port_t(UInt16(port).bigEndian)
      address.sin_addr.s_addr = inet_addr("127.0.0.1")
      let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
      return connected == 0
    }
  }
}
