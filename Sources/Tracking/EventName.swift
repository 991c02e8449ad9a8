import Foundation

/// A symbol or kline interval name as an event carries it: plain bits, no reference.
///
/// Why not `String`: applying an event binds its payload (`case .kline(let k)`), and with
/// strings inside that is an outlined copy and destroy of the whole payload per event
/// (retain and release of each string's storage, even for small strings: a call each).
/// `perf record --call-graph dwarf` of `engine bench` had them at a third of the store's
/// apply time. With names as bits the event is a plain value: its copy is a few moves.
///
/// Names up to ``inlineCapacity`` UTF-8 bytes (every Binance symbol and interval; the longest
/// symbols have about 20) are held inline, zero-padded, so equal names have equal bits. A
/// longer name is interned in a process-wide table and held by its index there, so equality
/// stays a compare of bits. The table keeps at most ``maxLongNames`` names; beyond, a new
/// long name becomes ``isOverflow``, which the store refuses with an error naming the name.
public struct EventName: Sendable, Hashable, BitwiseCopyable, CustomStringConvertible,
  ExpressibleByStringLiteral
{
  /// Bytes 0..<31: the name (inline) or, for a long name, `w0` holds its table index;
  /// byte 31: the length (0...31) or ``longTag``.
  @usableFromInline var w0: UInt64 = 0
  @usableFromInline var w1: UInt64 = 0
  @usableFromInline var w2: UInt64 = 0
  @usableFromInline var w3: UInt64 = 0

  public static let inlineCapacity = 31
  public static let maxLongNames = 65_536
  static let longTag: UInt64 = 0xFF
  /// `w0` of a long name that did not fit in the table.
  static let overflowIndex: UInt64 = .max

  /// Whether this is a long name refused because the table of long names is full.
  public var isOverflow: Bool { isLong && w0 == Self.overflowIndex }

  var isLong: Bool { w3 >> 56 == Self.longTag }

  /// What a new long name becomes once the table is full (tests build it directly: filling
  /// the process-wide table would change it for every other test in the process).
  static let overflow: EventName = {
    var n = EventName(utf8: UnsafeRawBufferPointer(start: nil, count: 0))
    n.w0 = overflowIndex
    n.w3 = longTag << 56
    return n
  }()

  public init(_ name: String) {
    var name = name
    self = name.withUTF8 { EventName(utf8: UnsafeRawBufferPointer($0)) }
  }

  public init(stringLiteral value: String) { self.init(value) }

  /// The name of these UTF-8 bytes (a feed parser's path: no `String` is made for a name that
  /// fits inline).
  public init(utf8 bytes: UnsafeRawBufferPointer) {
    if bytes.count <= Self.inlineCapacity {
      withUnsafeMutableBytes(of: &self) { raw in
        if let base = bytes.baseAddress, bytes.count > 0 {
          raw.baseAddress?.copyMemory(from: base, byteCount: bytes.count)
        }
        raw[31] = UInt8(bytes.count)
      }
    } else {
      w0 = LongNames.shared.index(of: String(decoding: bytes, as: UTF8.self))
      w3 = Self.longTag << 56
    }
  }

  /// The name's UTF-8 byte count.
  public var utf8Count: Int {
    if isLong { return string.utf8.count }
    return Int(w3 >> 56)
  }

  /// The name as a string (for a long name, from the table).
  public var string: String {
    if isLong { return LongNames.shared.name(at: w0) }
    var copy = self
    return withUnsafeBytes(of: &copy) { raw in
      String(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<Int(w3 >> 56)]), as: UTF8.self)
    }
  }

  public var description: String { string }

  /// A well-mixed hash of the bits (for open addressing; `Hashable` keeps the standard one).
  @inline(__always)
  public var bitsHash: Int {
    var h = (w0 ^ 0x9E37_79B9_7F4A_7C15) &* 0xBF58_476D_1CE4_E5B9
    h = (h ^ w1 ^ (h >> 29)) &* 0x94D0_49BB_1331_11EB
    h = (h ^ w2 ^ (h >> 32)) &* 0xBF58_476D_1CE4_E5B9
    h = (h ^ w3 ^ (h >> 29)) &* 0x94D0_49BB_1331_11EB
    return Int(truncatingIfNeeded: h ^ (h >> 32))
  }

  @inline(__always)
  public static func == (a: EventName, b: EventName) -> Bool {
    // Non-short-circuit: four compares and no branches in between.
    ((a.w0 ^ b.w0) | (a.w1 ^ b.w1) | (a.w2 ^ b.w2) | (a.w3 ^ b.w3)) == 0
  }
}

/// Names longer than ``EventName/inlineCapacity`` bytes, interned process-wide (every feed
/// thread and store shares it). Rare in practice: no Binance symbol or interval comes close.
final class LongNames: @unchecked Sendable {  // safe: `names`, `indices` only under `lock`
  static let shared = LongNames()
  private let lock = NSLock()
  private var names: [String] = []
  private var indices: [String: UInt64] = [:]

  func index(of name: String) -> UInt64 {
    lock.lock()
    defer { lock.unlock() }
    if let i = indices[name] { return i }
    guard names.count < EventName.maxLongNames else { return EventName.overflowIndex }
    let i = UInt64(names.count)
    names.append(name)
    indices[name] = i
    return i
  }

  func name(at index: UInt64) -> String {
    lock.lock()
    defer { lock.unlock() }
    if index < UInt64(names.count) { return names[Int(index)] }
    return
      "(a name over \(EventName.inlineCapacity) bytes, past the \(EventName.maxLongNames) kept)"
  }
}
