import Engine
import Foundation

/// `engine replay --profile`: one row per strategy, most expensive first.
enum ProfileTable {
  static func text(_ profiles: [(id: String, profile: StrategyProfile)]) -> String {
    let total = profiles.reduce(0.0) { $0 + $1.profile.seconds }
    let rows = profiles.sorted { $0.profile.seconds > $1.profile.seconds }.map { p -> [String] in
      let share = total > 0 ? p.profile.seconds / total * 100 : 0
      return [
        p.id, String(p.profile.calls), format(p.profile.seconds * 1000, digits: 1),
        format(p.profile.nanosPerCall, digits: 0), format(share, digits: 1) + "%",
        String(p.profile.errors),
      ]
    }
    let header = ["strategy", "calls", "total ms", "ns/call", "share", "errors"]
    let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
      cells.enumerated().map { c, cell in
        c == 0
          ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
          : String(repeating: " ", count: widths[c] - cell.count) + cell
      }.joined(separator: "  ")
    }
    var out =
      "profile (calls timed: one in 64, every call of slow strategies; per call: the mean "
      + "without the slowest tenth):\n"
    out += line(header) + "\n"
    for r in rows { out += line(r) + "\n" }
    return out
  }

  private static func format(_ x: Double, digits: Int) -> String {
    let p = (0..<digits).reduce(1.0) { r, _ in r * 10 }
    let v = (x * p).rounded() / p
    return digits == 0 ? String(Int(v)) : String(v)
  }
}
