import Foundation

extension ScoreReport {
  /// The report as an aligned text table: one block per strategy, one row per horizon.
  /// Returns in percent with sign, the hit rate in percent, the mean match time in seconds;
  /// `-` where there is no data.
  public var table: String {
    let header = [
      "strategy", "signals", "open", "skipped", "match_s", "horizon", "n", "mean", "median",
      "hit", "mfe", "mae", "excess",
    ]
    var rows: [[String]] = [header]
    for s in strategies {
      let lead = [
        s.id, String(s.signals), String(s.open), String(s.skipped),
        s.meanMatchSeconds.map { Self.fixed($0, 1) } ?? "-",
      ]
      for (k, h) in horizons.enumerated() where k < s.horizons.count {
        let score = s.horizons[k]
        let figures = [
          h.label, String(score.n), Self.percent(score.mean), Self.percent(score.median),
          score.hitRate.map { Self.fixed($0 * 100, 1) + "%" } ?? "-", Self.percent(score.mfe),
          Self.percent(score.mae), Self.percent(score.excessMean),
        ]
        rows.append((k == 0 ? lead : lead.map { _ in "" }) + figures)
      }
      if horizons.isEmpty { rows.append(lead + Array(repeating: "", count: 8)) }
    }
    let widths = header.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
    // Names and horizons read left-aligned, numbers right-aligned.
    let leftAligned: Set<Int> = [0, 5]
    var text = ""
    for row in rows {
      var cells: [String] = []
      for (c, cell) in row.enumerated() {
        let pad = String(repeating: " ", count: widths[c] - cell.count)
        cells.append(leftAligned.contains(c) ? cell + pad : pad + cell)
      }
      var line = cells.joined(separator: "  ")
      while line.last == " " { line.removeLast() }
      text += line + "\n"
    }
    return text
  }

  /// `+0.123%` (three decimals), `-` for no data.
  static func percent(_ fraction: Double?) -> String {
    guard let fraction, fraction.isFinite else { return "-" }
    let text = fixed(fraction * 100, 3)
    return (fraction >= 0 && !text.hasPrefix("-") ? "+" : "") + text + "%"
  }

  static func fixed(_ value: Double, _ decimals: Int) -> String {
    var text = String(format: "%.\(decimals)f", value)
    // "-0.000" reads as a loss that is not there.
    if text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) {
      text.removeFirst()
    }
    return text
  }
}
