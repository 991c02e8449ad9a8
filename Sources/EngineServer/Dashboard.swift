// The live dashboard: one HTML page with hand-written JS (no build step, no CDN), kept as the
// resource Resources/dashboard.html and served as it is at `/`.

import Foundation

enum Dashboard {
  /// The page, read from the resource bundle on first use; or why it cannot be served.
  static let page: Result<String, DashboardUnavailable> = load()

  /// The resource bundle SwiftPM builds for this target, as it names it on this platform.
  #if canImport(Darwin)
    static let bundleName = "engine_EngineServer.bundle"
  #else
    static let bundleName = "engine_EngineServer.resources"
  #endif

  /// Reads the page through `Bundle.module`, once the resource bundle is known to exist.
  ///
  /// `Bundle.module` stops the process (`fatalError`) when the bundle is in neither place it
  /// looks: beside the executable, then in the directory it was built in. A missing bundle
  /// (an executable copied without it) must cost the dashboard, not the engine, so the bundle
  /// is looked for first: beside the executable, `Bundle.module` is sure to find it; beside a
  /// loaded bundle (a test bundle that `swift test` runs from the build directory, on Darwin)
  /// it is opened directly.
  static func load() -> Result<String, DashboardUnavailable> {
    let beside = Bundle.main.bundleURL.appendingPathComponent(bundleName)
    if FileManager.default.fileExists(atPath: beside.path) { return load(from: Bundle.module) }
    for loaded in Bundle.allBundles {
      let url = loaded.bundleURL.deletingLastPathComponent().appendingPathComponent(bundleName)
      if let bundle = Bundle(url: url) { return load(from: bundle) }
    }
    let directory = beside.deletingLastPathComponent().path
    return .failure(
      DashboardUnavailable(
        "its resource bundle \(bundleName) is not beside the executable (in \(directory))"))
  }

  /// The page from `bundle`, or why not.
  static func load(from bundle: Bundle) -> Result<String, DashboardUnavailable> {
    guard let url = bundle.url(forResource: "dashboard", withExtension: "html") else {
      return .failure(DashboardUnavailable("dashboard.html is missing from \(bundle.bundlePath)"))
    }
    do {
      return .success(try String(contentsOf: url, encoding: .utf8))
    } catch {
      return .failure(DashboardUnavailable("cannot read \(url.path): \(error)"))
    }
  }
}

/// Why the dashboard cannot be served: the server answers `/` with this, and the rest of the
/// server and the engine go on.
struct DashboardUnavailable: Error, CustomStringConvertible {
  var description: String
  init(_ reason: String) { description = "the dashboard is unavailable: \(reason)" }
}
