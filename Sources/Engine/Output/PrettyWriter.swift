import Support
import Evaluation
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Aligned, coloured lines for a terminal: time, ENTER/EXIT, strategy, symbol, price, info.
public final class PrettyWriter: DiffSink {
  private let fd: Int32
  private let colour: Bool

  public init(fd: Int32 = 1, colour: Bool) {
    self.fd = fd
    self.colour = colour
  }

  public func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff]) {
    guard !diffs.isEmpty else { return }
    var text = ""
    let clock = Self.clock(time)
    for d in diffs {
      let event = d.isEnter ? "ENTER" : "EXIT "
      let painted =
        colour ? (d.isEnter ? "\u{1B}[32m\(event)\u{1B}[0m" : "\u{1B}[31m\(event)\u{1B}[0m") : event
      var info = ""
      if d.isEnter, let i = d.info {
        switch i {
        case .integer(let v): info = String(v)
        case .number(let v): info = String(v)
        case .string(let v): info = v
        }
      }
      text += "\(clock)  \(painted)  \(Self.pad(d.strategy, 20))  \(Self.pad(d.symbol, 14))  "
      text += "\(Self.padLeft(String(d.price), 16))  \(info)\n"
    }
    // Clear a status line the engine may have drawn on a shared terminal.
    if colour { text = "\r\u{1B}[K" + text }
    writeAll(fd, Array(text.utf8))
  }

  static func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
  }

  static func padLeft(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
  }

  /// `HH:MM:SS` (UTC) of a time in ms.
  static func clock(_ ms: Int64) -> String {
    let seconds = (ms / 1000) % 86_400
    func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))"
  }
}
