import Support
import Evaluation
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A diff ready to print: names resolved.
public struct ResolvedDiff: Sendable, Equatable {
  public var strategy: String
  public var symbol: String
  public var isEnter: Bool
  public var price: Double
  public var info: DiffInfo?
}

/// Where a cycle's diffs go. Called on the cycle thread only.
public protocol DiffSink: AnyObject {
  /// `diffs` are already ordered by strategy id, then symbol (byte order).
  func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff])
}

/// Sends every cycle's diffs to several sinks, in order (stdout first, then e.g. webhooks).
public final class FanOutSink: DiffSink {
  public let sinks: [DiffSink]
  public init(_ sinks: [DiffSink]) { self.sinks = sinks }
  public func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff]) {
    for s in sinks { s.write(cycle: cycle, time: time, diffs: diffs) }
  }
}

/// Appends JSON text. Hand-written because Foundation's `JSONEncoder` cannot keep the
/// contract's key order and costs an allocation per value on the per-cycle path. Nothing
/// here allocates but the output buffer's growth: literals are appended as UTF-8 views,
/// integers digit by digit (a diff line was ~1.7 µs with an `Array` per literal and a
/// `String` per number, measured by `engine bench` on a filter whose matches flip).
public enum JSONText {
  /// Appends a literal's bytes (one copy, where a `String.UTF8View` is appended byte by byte).
  @inline(__always)
  public static func append(_ literal: StaticString, to out: inout [UInt8]) {
    out.append(
      contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
  }

  /// Appends the decimal digits of `value`.
  @inline(__always)
  public static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
    if value < 0 { out.append(UInt8(ascii: "-")) }
    var v = value.magnitude
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
      var i = 20
      repeat {
        i -= 1
        buf[i] = UInt8(ascii: "0") + UInt8(v % 10)
        v /= 10
      } while v > 0
      out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[i...]))
    }
  }

  public static func appendString(_ s: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    // Names need no escaping: copy them whole when the string's bytes are contiguous.
    let copied: Bool? = s.utf8.withContiguousStorageIfAvailable { bytes in
      for b in bytes where b < 32 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
        return false
      }
      out.append(contentsOf: bytes)
      return true
    }
    if copied == true {
      out.append(UInt8(ascii: "\""))
      return
    }
    for byte in s.utf8 {
      switch byte {
      case UInt8(ascii: "\""): out.append(92); out.append(34)
      case UInt8(ascii: "\\"): out.append(92); out.append(92)
      case 10: out.append(92); out.append(UInt8(ascii: "n"))
      case 13: out.append(92); out.append(UInt8(ascii: "r"))
      case 9: out.append(92); out.append(UInt8(ascii: "t"))
      case 0..<32:
        out.append(contentsOf: "\\u00".utf8)
        out.append(hexDigit(byte >> 4))
        out.append(hexDigit(byte & 15))
      default: out.append(byte)
      }
    }
    out.append(UInt8(ascii: "\""))
  }

  @inline(__always)
  static func hexDigit(_ v: UInt8) -> UInt8 {
    v < 10 ? UInt8(ascii: "0") + v : UInt8(ascii: "a") + v - 10
  }

  /// Shortest text that reads back as the same double; `null` when not finite.
  public static func appendNumber(_ x: Double, to out: inout [UInt8]) {
    guard x.isFinite else {
      JSONText.append("null", to: &out)
      return
    }
    // A double's description fits a small (inline) string: no allocation.
    out.append(contentsOf: x.description.utf8)
  }

  public static func appendInfo(_ info: DiffInfo, to out: inout [UInt8]) {
    switch info {
    case .integer(let i): appendInteger(i, to: &out)
    case .number(let x): appendNumber(x, to: &out)
    case .string(let s): appendString(s, to: &out)
    }
  }
}

/// CONTRACT §5: one JSON object per line,
/// `{"cycle":…,"time":…,"strategy":…,"symbol":…,"event":…,"price":…,"info":…}`.
public final class JSONLinesWriter: DiffSink {
  private let fd: Int32
  private var buffer: [UInt8] = []

  public init(fd: Int32 = 1) { self.fd = fd }

  public func write(cycle: Int64, time: Int64, diffs: [ResolvedDiff]) {
    guard !diffs.isEmpty else { return }
    buffer.removeAll(keepingCapacity: true)
    Self.append(diffs, cycle: cycle, time: time, to: &buffer)
    writeAll(fd, buffer)
  }

  /// Appends the lines of one cycle's diffs to `out`. The part every line of the cycle
  /// shares (`{"cycle":…,"time":…,"strategy":`) is formatted once: formatting its two
  /// integers per line was a third of a line's cost in the bench's profile.
  public static func append(
    _ diffs: [ResolvedDiff], cycle: Int64, time: Int64, to out: inout [UInt8]
  ) {
    guard !diffs.isEmpty else { return }
    var prefix: [UInt8] = []
    prefix.reserveCapacity(64)
    Self.appendPrefix(cycle: cycle, time: time, to: &prefix)
    out.reserveCapacity(out.count + diffs.count * (prefix.count + 96))
    for d in diffs {
      out.append(contentsOf: prefix)
      Self.appendRest(d, to: &out)
    }
  }

  /// Appends one diff line (with its newline) to `out`.
  public static func append(_ d: ResolvedDiff, cycle: Int64, time: Int64, to out: inout [UInt8]) {
    Self.appendPrefix(cycle: cycle, time: time, to: &out)
    Self.appendRest(d, to: &out)
  }

  private static func appendPrefix(cycle: Int64, time: Int64, to out: inout [UInt8]) {
    JSONText.append("{\"cycle\":", to: &out)
    JSONText.appendInteger(cycle, to: &out)
    JSONText.append(",\"time\":", to: &out)
    JSONText.appendInteger(time, to: &out)
    JSONText.append(",\"strategy\":", to: &out)
  }

  /// A line after its prefix: strategy, symbol, event, price, info.
  private static func appendRest(_ d: ResolvedDiff, to out: inout [UInt8]) {
    JSONText.appendString(d.strategy, to: &out)
    JSONText.append(",\"symbol\":", to: &out)
    JSONText.appendString(d.symbol, to: &out)
    if d.isEnter {
      JSONText.append(",\"event\":\"enter\",\"price\":", to: &out)
    } else {
      JSONText.append(",\"event\":\"exit\",\"price\":", to: &out)
    }
    JSONText.appendNumber(d.price, to: &out)
    if d.isEnter, let info = d.info {
      JSONText.append(",\"info\":", to: &out)
      JSONText.appendInfo(info, to: &out)
    }
    JSONText.append("}\n", to: &out)
  }
}

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
