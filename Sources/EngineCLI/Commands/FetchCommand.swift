import ArgumentParser
import BinanceFeed
import Dispatch
import Foundation
import Support
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// `engine fetch`: Binance kline history over REST, written as a replay file with derived
/// 24h tickers, so `engine replay` and `engine score` run on history.
struct FetchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fetch",
    abstract: "Download Binance kline history as a replay file, with derived 24h tickers.",
    usage: """
      engine fetch (--symbols A,B | --quote ASSET [--max-symbols N]) [--interval 1m] \
      [--days N] [--end MS] --out FILE [--rest-url URL]
      """,
    discussion: """
      Each closed candle becomes a kline message with E = close time + 1, followed by a \
      24hrTicker of its symbol DERIVED from the candles of the preceding 24 h (open, high, \
      low, close, base and quote volume, change, change percent, VWAP; no bid or ask): not \
      Binance's own ticker, but enough for ticker filters to run on history. Requests are \
      paged by startTime (1000 candles each), kept within Binance's weight limit, and wait \
      out 429/418 answers (Retry-After).

      --symbols A,B: comma-separated symbols, e.g. BTCUSDT,ETHUSDT.
      --max-symbols N: with --quote, the first N symbols Binance lists (default 200).
      """)

  // The root command declares --symbols (the simulator's) and --max-symbols and takes them
  // wherever they appear on the line, so this command reads them through the same groups.
  // Its help describes them in the discussion, where the groups' help would mislead.
  @OptionGroup(visibility: .private) var feedOptions: FeedOptions
  @OptionGroup(visibility: .private) var common: CommonOptions

  @Option(help: "With no --symbols: every trading spot symbol with this quote asset.")
  var quote: String?

  @Option(help: "Kline interval (1m, 5m, 1h, ...; the tickers follow it).")
  var interval = "1m"

  @Option(help: "Days of history, ending at --end.")
  var days = 1

  @Option(
    help: "End of the history, ms since the epoch (default: now), rounded down to the interval.")
  var end: Int64?

  @Option(help: "Output file (replaced when the fetch completes).")
  var out: String

  @Option(help: "Binance REST base URL.")
  var restURL = "https://api.binance.com"

  private var symbols: String? { feedOptions.symbols }

  private var maxSymbols: Int { common.maxSymbols.map { Int($0) ?? 0 } ?? 200 }

  private var request: HistoryRequest {
    HistoryRequest(
      symbols: symbols.map { $0.split(separator: ",").map { String($0) } } ?? [], quote: quote,
      maxSymbols: maxSymbols, interval: interval, days: days, end: end, restURL: restURL)
  }

  func validate() throws {
    if symbols != nil && quote != nil {
      throw ValidationError("give --symbols or --quote, not both")
    }
    if let problem = request.validate() { throw ValidationError(problem) }
  }

  func run() throws {
    let request = self.request
    let path = out
    let bar = ProgressBar(enabled: isatty(2) == 1)
    let outcome = Mutex<Result<HistorySummary, any Error>?>(nil)
    let finished = DispatchSemaphore(value: 0)
    Task {
      let result: Result<HistorySummary, any Error>
      do {
        result = .success(
          try await HistoryFetcher.fetch(
            request, to: path, log: { line in bar.log(line) },
            progress: { p in bar.show(p) }))
      } catch {
        result = .failure(error)
      }
      outcome.withLock { $0 = result }
      finished.signal()
    }
    finished.wait()
    bar.finish()
    switch outcome.withLock({ $0 }) {
    case .success(let summary):
      StandardError.line(
        "fetch: \(summary.symbols.count) symbols, \(summary.klines) klines and \(summary.tickers) "
          + "derived tickers from \(summary.start) to \(summary.end) -> \(path) "
          + "(\(summary.requests) requests, \(summary.backoffs) rate-limit waits)")
    case .failure(let error):
      throw EngineFailure(message: "\(error)")
    case nil:
      throw EngineFailure(message: "fetch: stopped before it finished")
    }
  }
}

/// The fetch's progress on stderr: a bar redrawn in place while stderr is a terminal,
/// nothing otherwise (the summary line says how it went). Safe from any thread.
final class ProgressBar: Sendable {
  private let enabled: Bool
  private let drawn = Mutex(false)

  init(enabled: Bool) { self.enabled = enabled }

  func show(_ p: HistoryProgress) {
    guard enabled else { return }
    let width = 30
    let share = p.requestsPlanned > 0 ? Double(p.requestsDone) / Double(p.requestsPlanned) : 1
    let filled = min(width, Int(share * Double(width)))
    let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
    let waits = p.backoffs > 0 ? ", \(p.backoffs) rate-limit waits" : ""
    drawn.withLock { drawn in
      StandardError.write(
        "\r\u{1B}[Kfetch [\(bar)] \(Int(share * 100))% \(p.requestsDone)/\(p.requestsPlanned) requests\(waits)"
      )
      drawn = true
    }
  }

  /// A line of its own, above the bar.
  func log(_ line: String) {
    drawn.withLock { drawn in
      StandardError.write((drawn ? "\r\u{1B}[K" : "") + line + "\n")
    }
  }

  func finish() {
    drawn.withLock { drawn in
      if drawn { StandardError.write("\n") }
      drawn = false
    }
  }
}
