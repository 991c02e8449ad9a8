import Foundation
import Testing

@testable import EngineServer

/// The dashboard: its page from the resource bundle, and the page live in headless Chromium.
extension EngineServerTests {
  @Test("the dashboard page is the resource file, read through the target's resource bundle")
  func dashboardFromResources() throws {
    let html = try Dashboard.page.get()
    let file = Support.repositoryRoot.appendingPathComponent(
      "Sources/EngineServer/Resources/dashboard.html")
    #expect(html == (try String(contentsOf: file, encoding: .utf8)))
    #expect(html.hasPrefix("<!doctype html>"))
    #expect(html.contains("new EventSource('events')"))
  }

  @Test("a resource bundle without dashboard.html: a clear error, no crash")
  func dashboardMissing() throws {
    let directory = Support.temporaryDirectory("empty-bundle")
    defer { try? FileManager.default.removeItem(at: directory) }
    let bundle = try #require(Bundle(url: directory))
    switch Dashboard.load(from: bundle) {
    case .success: Issue.record("loaded a page from an empty bundle")
    case .failure(let problem):
      #expect(
        problem.description
          == "the dashboard is unavailable: dashboard.html is missing from \(bundle.bundlePath)")
    }
  }

  @Test(
    "dashboard in headless Chromium: no JS errors, strategies and live diffs shown, screenshot",
    .enabled(if: Chromium.path != nil, "no chromium binary (apt-get install chromium)"))
  func dashboardInChromium() async throws {
    let chromium = try #require(Chromium.path)
    let run = try EngineRun()
    let base = try await run.start()
    #expect(await Support.waitUntil(30) { run.capture.snapshot.count >= 3 })

    // The page is loaded, then runs for a few seconds: the diffs it shows as "live" came
    // through the event stream after it loaded.
    let page = try await Chromium.run(
      chromium, ["--virtual-time-budget=5000", "--dump-dom", base + "/?events=16"], timeout: 90)
    let dom = Chromium.withoutScripts(page)
    let errors = Chromium.text(ofElement: "js-errors", in: dom)
    #expect(errors.isEmpty, "JS errors: \(errors)")
    #expect(dom.contains("<pre id=\"js-errors\" hidden=\"\">"))
    let strategyRows = dom.components(separatedBy: "class=\"strategy\" data-strategy=").count - 1
    #expect(strategyRows == 10)
    for id in ["flipper", "momentum", "rsi_oversold"] {
      #expect(dom.contains("data-strategy=\"\(id)\""))
    }
    let liveRows = dom.components(separatedBy: "class=\"diff live").count - 1
    #expect(liveRows > 0, "no live diffs arrived through /events")
    #expect(dom.contains("class=\"chip\""))
    #expect(dom.contains("id=\"conn\" class=\"pill ok\""))

    let docsCopy = ProcessInfo.processInfo.environment["ENGINE_DASHBOARD_PNG"]
    if docsCopy != nil {
      // For the README picture: run both tracking modes so the A/B table has both rows.
      _ = try await Support.request(base + "/control/tracking", post: true, body: "all")
      try await Task.sleep(for: .seconds(4))
      _ = try await Support.request(base + "/control/tracking", post: true, body: "changed")
      try await Task.sleep(for: .seconds(6))
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "engine-dashboard-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let png = directory.appendingPathComponent("dashboard.png").path
    _ = try await Chromium.run(
      chromium,
      [
        "--virtual-time-budget=8000", "--hide-scrollbars", "--window-size=1280,900",
        "--screenshot=\(png)", base + "/?events=30",
      ], timeout: 90)
    let size = (try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
    #expect(size > 10_000)
    print("dashboard screenshot: \(png)")
    if let extra = docsCopy, size > 0 {
      try? FileManager.default.removeItem(atPath: extra)
      try FileManager.default.copyItem(atPath: png, toPath: extra)
      print("dashboard screenshot copied to \(extra)")
    }
    await run.stop()
  }
}
