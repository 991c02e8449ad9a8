import BinanceFeed
import Engine
import Feeds
import Support

#if canImport(Glibc)
  import Glibc
#endif

/// The live status line on stderr: one line rewritten after every cycle (cycles, symbols
/// changed and evaluated, filter calls, the share of evaluations skipped, diffs, and the
/// Binance feed's connections). Shown with pretty output while stderr is a terminal, where
/// rewriting a line in place reads as intended.
enum StatusLine {
  /// Whether a run with `pretty` output shows the line.
  static func isShown(pretty: Bool) -> Bool { pretty && isatty(2) == 1 }

  /// Rewrites the line after each of `engine`'s cycles.
  static func attach(to engine: CycleEngine, feed: Feed) {
    engine.addCycleObserver { status in
      let t = status.totals
      let efficiency = (t.skippedShare * 1000).rounded() / 10
      var feedStatus = ""
      if let binance = feed as? BinanceFeed {
        let f = binance.stats.snapshot()
        feedStatus =
          " | feed \(f.messages) msgs, \(f.connections.count) conns, \(f.reconnects) reconnects"
      }
      StandardError.write(
        "\r\u{1B}[K\u{1B}[2mcycle \(t.cycles) | changed \(status.changedSymbols)/\(status.knownSymbols) | evaluated \(status.evaluatedSymbols)\(status.batchMode ? " (batch)" : "") | filter calls \(t.filterCalls) | efficiency \(efficiency)% skipped | diffs \(t.diffs)\(feedStatus)\u{1B}[0m"
      )
    }
  }

  /// Ends the line, so what follows starts on a line of its own.
  static func finish() { StandardError.write("\n") }
}
