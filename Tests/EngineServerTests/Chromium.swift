import Foundation
import Synchronization

/// Finding and running headless Chromium.
enum Chromium {
  static let path: String? = {
    let environment = ProcessInfo.processInfo.environment
    if let explicit = environment["CHROMIUM_BIN"],
      FileManager.default.isExecutableFile(atPath: explicit)
    {
      return explicit
    }
    let names = [
      "chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell",
    ]
    let directories = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(
      String.init)
    for name in names {
      for directory in directories + ["/usr/bin", "/snap/bin"] {
        let candidate = directory + "/" + name
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      }
    }
    return nil
  }()

  /// Runs headless Chromium with `arguments` and returns its stdout.
  static func run(_ binary: String, _ arguments: [String], timeout: Double) async throws -> String {
    let profile = FileManager.default.temporaryDirectory.appendingPathComponent(
      "engine-chromium-\(UUID().uuidString)")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments =
      [
        "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions",
        "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0",
        "--user-data-dir=\(profile.path)",
      ] + arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let output = Mutex<Data>(Data())
    let reader = Thread {
      let data = out.fileHandleForReading.readDataToEndOfFile()
      output.withLock { $0 = data }
    }
    reader.start()
    let errorReader = Thread { _ = err.fileHandleForReading.readDataToEndOfFile() }
    errorReader.start()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline {
      try await Task.sleep(for: .milliseconds(100))
    }
    if process.isRunning {
      process.terminate()
      throw CancellationError()
    }
    _ = await Support.waitUntil(5) { output.withLock { !$0.isEmpty } || !reader.isExecuting }
    try? FileManager.default.removeItem(at: profile)
    return String(decoding: output.withLock { $0 }, as: UTF8.self)
  }

  /// `html` without the contents of its `<script>` elements (their source mentions markup).
  static func withoutScripts(_ html: String) -> String {
    var out = ""
    var rest = Substring(html)
    while let open = rest.range(of: "<script") {
      out += rest[..<open.lowerBound]
      guard let close = rest[open.upperBound...].range(of: "</script>") else { return out }
      rest = rest[close.upperBound...]
    }
    return out + rest
  }

  /// The text inside the element with `id` (tags stripped), trimmed.
  static func text(ofElement id: String, in html: String) -> String {
    guard let start = html.range(of: "id=\"\(id)\"") else { return "" }
    guard let open = html[start.upperBound...].firstIndex(of: ">") else { return "" }
    guard let close = html[open...].range(of: "</") else { return "" }
    return String(html[html.index(after: open)..<close.lowerBound])
      .trimmingCharacters(in: .whitespacesAndNewlines)
  }
}
