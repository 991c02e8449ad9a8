import ArgumentParser
import Engine
import EngineSettings
import Foundation
import Scoring
import Support

#if canImport(Glibc)
  import Glibc
#endif

/// `engine score FILE`: replays FILE exactly as `engine replay` does, then scores every enter
/// signal against the prices that followed it in the same file.
struct ScoreCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "score",
    abstract: "Replay a recorded file and score every enter signal against the prices after it.",
    discussion: """
      For an enter of symbol S at time t and price p0, and each horizon h: r = p_h / p0 - 1, \
      where p_h is S's last ticker price at or before t + h. A signal is open (counted apart) \
      when the file holds no event at or after t + h. Per strategy and horizon: n, mean, \
      median, hit rate (share of r > 0), mfe/mae (mean best and worst ticker price in \
      (t, t + h] relative to p0) and the mean excess over the market's equal-weight mean \
      return. No fees, no slippage; prices are ticker prices. The replay is the same as \
      `engine replay`'s: --diffs writes the very bytes it prints.
      """)

  @Argument(help: "A file of Binance messages, one JSON message per line.")
  var file: String

  @OptionGroup var common: CommonOptions

  @Option(help: "Comma-separated horizons, each a whole number and a unit s, m, h or d.")
  var horizons = Horizon.defaultList

  @Flag(help: "Print the figures as one JSON object instead of a table.")
  var json = false

  @Option(help: "Also write the report as one self-contained HTML page (charts) to this file.")
  var html: String?

  @Option(help: "Write the replay's diff lines to this file (what `engine replay` prints).")
  var diffs: String?

  func validate() throws {
    do {
      _ = try Horizon.parseList(horizons)
    } catch {
      throw ValidationError("--horizons: \(error.description)")
    }
  }

  func run() throws {
    let horizons: [Horizon]
    do {
      horizons = try Horizon.parseList(self.horizons)
    } catch {
      throw EngineFailure(message: "--horizons: \(error.description)", code: 64)
    }
    var overrides = common.overrides
    overrides[setting: SettingsTable.feedSource] = "replay:" + file
    overrides[setting: SettingsTable.speed] = "max"
    let settings = try Session.settings(overrides: overrides, configPath: common.config)
    guard FileManager.default.isReadableFile(atPath: file) else {
      throw EngineFailure(message: "\(file): cannot read the replay file")
    }
    // Both outputs are opened before the replay, so a bad path stops the command at once.
    let diffsFile = try diffs.map { try Self.create($0, what: "diffs") }
    defer { diffsFile.map { _ = close($0) } }
    let htmlFile = try html.map { try Self.create($0, what: "HTML report") }
    defer { htmlFile.map { _ = close($0) } }

    let recorder = SignalRecorder()
    let sink: DiffSink =
      diffsFile.map { FanOutSink([JSONLinesWriter(fd: $0), recorder]) } ?? recorder
    let prices = PendingPriceIndex(path: file)
    let strategies = try Session.run(
      settings: settings, live: false, summary: true, overrides: overrides,
      configPath: common.config, diffSink: sink)
    let index: PriceIndex
    do {
      index = try prices.wait()
    } catch {
      throw EngineFailure(message: error.description)
    }
    let report = Scorer(horizons: horizons).score(
      diffs: recorder.diffs, prices: index, strategies: strategies)
    print(json ? report.json : report.table, terminator: "")
    if let htmlFile, let html {
      let page = report.html(title: URL(fileURLWithPath: file).lastPathComponent)
      guard Self.writeFully(htmlFile, Array(page.utf8)) else {
        throw EngineFailure(message: "\(html): cannot write the HTML report")
      }
      StandardError.line("score: HTML report written to \(html)")
    }
  }

  /// Creates (or truncates) `path` for writing; its descriptor.
  private static func create(_ path: String, what: String) throws -> Int32 {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw EngineFailure(
        message: "\(path): cannot create the \(what) file (\(String(cString: strerror(errno))))",
        code: 2)
    }
    return fd
  }

  /// Writes every byte of `bytes` to `fd`; false on an error.
  private static func writeFully(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { raw in
      guard let base = raw.baseAddress else { return true }
      var offset = 0
      while offset < raw.count {
        let n = write(fd, base + offset, raw.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          return false
        }
        offset += n
      }
      return true
    }
  }
}
