import Foundation
import Scoring
import Synchronization
import Testing

/// The HTML report in a real browser: it draws without a JS error, one histogram per strategy
/// and horizon with scored signals, one excess chart per strategy that has any.
@Suite("HTML report in headless Chromium")
struct ReportPageTests {
  @Test(
    "the page draws its charts with no JS error; screenshot",
    .enabled(if: Chromium.path != nil, "no chromium binary (apt-get install chromium)"))
  func drawsInChromium() async throws {
    let chromium = try #require(Chromium.path)
    let (prices, diffs) = ScorePropertyTests.market(seed: 11)
    let horizons = Market.horizons("1s,5s,30s,1m")
    let report = Scorer(horizons: horizons).score(
      diffs: diffs, prices: prices, strategies: ["never_fires"])
    let expectedHistograms = report.strategies.reduce(0) { sum, s in
      sum + s.horizons.count(where: { $0.n > 0 })
    }
    let expectedCharts = report.strategies.count(where: { s in s.horizons.contains { $0.n > 0 } })
    #expect(expectedHistograms > 4)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "engine-score-page-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let page = directory.appendingPathComponent("report.html")
    try report.html(title: "random.jsonl").write(to: page, atomically: true, encoding: .utf8)

    let dom = Chromium.withoutScripts(
      try await Chromium.run(
        chromium, ["--virtual-time-budget=3000", "--dump-dom", page.absoluteString], timeout: 90))
    let errors = Chromium.text(ofElement: "js-errors", in: dom)
    #expect(errors.isEmpty, "JS errors: \(errors)")
    #expect(dom.contains("<pre id=\"js-errors\" hidden=\"\">"))
    #expect(dom.contains("data-drawn=\"true\""))
    #expect(dom.components(separatedBy: "class=\"histogram\"").count - 1 == expectedHistograms)
    #expect(dom.components(separatedBy: "class=\"excess-chart\"").count - 1 == expectedCharts)
    #expect(dom.components(separatedBy: "class=\"bar-").count - 1 >= expectedHistograms)
    #expect(dom.contains("class=\"excess-line\""))
    #expect(dom.contains("No scored signal"))

    let png = directory.appendingPathComponent("report.png").path
    _ = try await Chromium.run(
      chromium,
      [
        "--virtual-time-budget=3000", "--hide-scrollbars", "--window-size=1280,1600",
        "--screenshot=\(png)", page.absoluteString,
      ], timeout: 90)
    let size = (try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
    #expect(size > 20_000)
    print("score report screenshot: \(png)")
  }
}

/// Finding and running headless Chromium (as the dashboard test does).
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
    let output = Mutex<Data?>(nil)
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
    // The reader finishes once the pipe closes, soon after the process exits.
    let readBy = Date().addingTimeInterval(5)
    while output.withLock({ $0 == nil }) && Date() < readBy {
      try await Task.sleep(for: .milliseconds(20))
    }
    try? FileManager.default.removeItem(at: profile)
    return String(decoding: output.withLock { $0 } ?? Data(), as: UTF8.self)
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
