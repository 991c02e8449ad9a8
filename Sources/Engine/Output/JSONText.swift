import Support
import Evaluation
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Appends JSON text. Hand-written because Foundation's `JSONEncoder` cannot keep the
/// documented key order and costs an allocation per value on the per-cycle path. Nothing
/// here allocates but the output buffer's growth: literals are appended as UTF-8 views,
/// integers digit by digit (an `Array` per literal and a `String` per number made each diff
/// line cost several times more).
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
