// A hand-written, fully validating JSON scanner for Binance market-data WebSocket messages.
//
// Why hand-written: Foundation's JSONDecoder manages ~63 MB/s and JSONSerialization ~33 MB/s on
// these messages, and both build intermediate objects (dictionaries, boxed numbers, strings) for
// every field. No well-kept Swift library validates a message and extracts a handful of fields
// without first building a DOM. This scanner makes a single pass over the UTF-8 bytes, checks the
// whole message against RFC 8259 (structure, string escapes including \uXXXX surrogate pairs,
// UTF-8, number grammar, literals, trailing garbage), and captures only the fields the store
// needs. The only allocations are the events array and one symbol (and interval) String per event.
//
// Deviations from "any valid JSON": nesting deeper than 512 containers is rejected (the same limit
// as JSONSerialization), and so are unpaired UTF-16 surrogates in \u escapes.

import Tracking

public struct BinanceParseResult: Sendable {
  public var events: [MarketEvent]
  /// Items skipped: 1 for a line that is not valid JSON (or not an object/array at top level), or
  /// one per bad event object (inside an array, only the bad element is skipped).
  public var skipped: Int
  /// Event objects with an unknown or missing "e" type, counted and skipped (not errors).
  public var unknown: Int
  /// A one-line description of the first problem, e.g. `invalid JSON at byte 17` or
  /// `24hrTicker: field "c" is not a plain decimal ("12..5")` or `kline: missing field "k.t"`.
  public var firstError: String?

  init(events: [MarketEvent] = [], skipped: Int = 0, unknown: Int = 0, firstError: String? = nil) {
    self.events = events
    self.skipped = skipped
    self.unknown = unknown
    self.firstError = firstError
  }
}

/// Turns one Binance market-data message (raw, or in the combined-stream envelope
/// `{"stream": ..., "data": ...}`) into market events. See `BinanceParseResult` for the counts.
public struct BinanceParser: Sendable {
  public init() {}

  public func parse(_ bytes: UnsafeRawBufferPointer) -> BinanceParseResult {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return BinanceParseResult() }
    var run = Run(p: base, n: bytes.count)
    do {
      try run.message()
    } catch {
      return BinanceParseResult(skipped: 1, firstError: "invalid JSON at byte \(error.offset)")
    }
    if run.notContainer {
      return BinanceParseResult(
        skipped: 1, firstError: "top-level value is not an object or array")
    }
    return BinanceParseResult(
      events: run.events, skipped: run.skipped, unknown: run.unknown, firstError: run.firstError)
  }

  public func parse(_ line: String) -> BinanceParseResult {
    var line = line
    return line.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
  }
}

// MARK: - Implementation

extension BinanceParser {
  /// Containers nested deeper than this are rejected (JSONSerialization uses the same limit).
  fileprivate static var maxDepth: Int { 512 }

  fileprivate struct SyntaxError: Error {
    let offset: Int
  }

  fileprivate enum State: UInt8 {
    case absent, ok, notDecimal, notFinite, wrongType
  }

  /// A string token: the raw bytes between the quotes.
  fileprivate struct Span {
    var start: Int
    var end: Int
    var escaped: Bool
  }

  fileprivate struct NumField {
    var state = State.absent
    var value = Double.nan
    /// The raw string content, for the error message of a `notDecimal` field.
    var start = 0
    var end = 0
  }

  fileprivate struct IntField {
    var state = State.absent
    var value: Int64 = 0
  }

  fileprivate struct StrField {
    var state = State.absent
    var span = Span(start: 0, end: 0, escaped: false)
  }

  fileprivate struct BoolField {
    var state = State.absent
    var value = false
  }

  fileprivate struct KlineFields {
    var t = IntField()
    var i = StrField()
    var o = NumField(), c = NumField(), h = NumField(), l = NumField(), v = NumField()
    var q = NumField(), takerBase = NumField(), takerQuote = NumField(), ignored = NumField()
    var x = BoolField()
  }

  fileprivate struct EventFields {
    var e = StrField()
    var eventTime = IntField()
    var s = StrField()
    var p = NumField(), changePct = NumField(), w = NumField(), c = NumField(), lastQty = NumField()
    var b = NumField(), bidQty = NumField(), a = NumField(), askQty = NumField(), o = NumField()
    var h = NumField(), l = NumField(), v = NumField(), q = NumField()
    var kState = State.absent
    var k = KlineFields()
  }

  /// Key codes: a one-byte key is its own code; these two never collide with a one-byte key.
  fileprivate static var keyOther: UInt8 { 0 }
  fileprivate static var keyData: UInt8 { 0xFF }

  // ASCII
  fileprivate static var quote: UInt8 { 0x22 }

  /// The state of one parse: the input, the position, and what has been collected.
  fileprivate struct Run {
    let p: UnsafeRawPointer
    let n: Int
    var i = 0
    var events: [MarketEvent] = []
    var skipped = 0
    var unknown = 0
    var firstError: String? = nil
    var notContainer = false

    init(p: UnsafeRawPointer, n: Int) {
      self.p = p
      self.n = n
    }

    // MARK: Byte access

    @inline(__always) func at(_ j: Int) -> UInt8 { p.load(fromByteOffset: j, as: UInt8.self) }

    /// The current byte, or 0 at the end (NUL is invalid everywhere, so it reads as "unexpected").
    @inline(__always) func cur() -> UInt8 { i < n ? at(i) : 0 }

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

    @inline(__always) mutating func ws() {
      while i < n {
        let c = at(i)
        if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { return }
      }
    }

    @inline(__always) func fail() -> SyntaxError { SyntaxError(offset: i < n ? i : n) }

    // MARK: Top level

    mutating func message() throws(SyntaxError) {
      ws()
      if i == n { return }  // blank line
      switch cur() {
      case 0x7B: try eventObject(depth: 1, envelope: true)
      case 0x5B: try eventArray(depth: 1)
      default:
        _ = try value(depth: 0)
        notContainer = true
      }
      ws()
      if i != n { throw fail() }
    }

    // MARK: Event objects

    /// An array whose elements are event objects. At `[`.
    mutating func eventArray(depth: Int) throws(SyntaxError) {
      if depth > BinanceParser.maxDepth { throw fail() }
      i += 1
      ws()
      if cur() == 0x5D {
        i += 1
        return
      }
      var index = 0
      while true {
        if cur() == 0x7B {
          try eventObject(depth: depth + 1, envelope: false)
        } else {
          _ = try value(depth: depth)
          skipped += 1
          if firstError == nil { firstError = "array element \(index) is not an object" }
        }
        index += 1
        ws()
        let c = cur()
        if c == 0x2C {
          i += 1
          ws()
        } else if c == 0x5D {
          i += 1
          return
        } else {
          throw fail()
        }
      }
    }

    /// An event object, or (at top level, `envelope`) possibly the combined-stream envelope.
    /// At `{`.
    mutating func eventObject(depth: Int, envelope: Bool) throws(SyntaxError) {
      if depth > BinanceParser.maxDepth { throw fail() }
      var f = EventFields()
      // Envelope bookkeeping: what "data" produced, so it can be rolled back.
      let mark = (events.count, skipped, unknown, firstError == nil)
      var dataSeen = false
      i += 1
      ws()
      if cur() == 0x7D {
        i += 1
      } else {
        while true {
          guard cur() == 0x22 else { throw fail() }
          let key = try string()
          ws()
          guard cur() == 0x3A else { throw fail() }
          i += 1
          ws()
          switch keyCode(key) {
          case 0x65: f.e = try strField(depth: depth)  // e
          case 0x45: f.eventTime = try intField(depth: depth)  // E
          case 0x73: f.s = try strField(depth: depth)  // s
          case 0x70: f.p = try numField(depth: depth)  // p
          case 0x50: f.changePct = try numField(depth: depth)  // P
          case 0x77: f.w = try numField(depth: depth)  // w
          case 0x63: f.c = try numField(depth: depth)  // c
          case 0x51: f.lastQty = try numField(depth: depth)  // Q
          case 0x62: f.b = try numField(depth: depth)  // b
          case 0x42: f.bidQty = try numField(depth: depth)  // B
          case 0x61: f.a = try numField(depth: depth)  // a
          case 0x41: f.askQty = try numField(depth: depth)  // A
          case 0x6F: f.o = try numField(depth: depth)  // o
          case 0x68: f.h = try numField(depth: depth)  // h
          case 0x6C: f.l = try numField(depth: depth)  // l
          case 0x76: f.v = try numField(depth: depth)  // v
          case 0x71: f.q = try numField(depth: depth)  // q
          case 0x6B:  // k
            if cur() == 0x7B {
              f.kState = .ok
              f.k = KlineFields()
              try klineObject(&f.k, depth: depth + 1)
            } else {
              f.kState = try value(depth: depth) == .null ? .absent : .wrongType
              f.k = KlineFields()
            }
          case BinanceParser.keyData where envelope:
            if dataSeen { rollback(to: mark) }
            let c = cur()
            if c == 0x7B {
              dataSeen = true
              try eventObject(depth: depth + 1, envelope: false)
            } else if c == 0x5B {
              dataSeen = true
              try eventArray(depth: depth + 1)
            } else {
              dataSeen = false
              _ = try value(depth: depth)
            }
          default:
            _ = try value(depth: depth)
          }
          ws()
          let c = cur()
          if c == 0x2C {
            i += 1
            ws()
          } else if c == 0x7D {
            i += 1
            break
          } else {
            throw fail()
          }
        }
      }
      if dataSeen {
        if f.e.state == .absent { return }  // the envelope: keep what "data" produced
        rollback(to: mark)
      }
      finish(f)
    }

    mutating func rollback(to mark: (Int, Int, Int, Bool)) {
      if events.count > mark.0 { events.removeLast(events.count - mark.0) }
      skipped = mark.1
      unknown = mark.2
      if mark.3 { firstError = nil }
    }

    /// The `k` object of a kline event. At `{`.
    mutating func klineObject(_ k: inout KlineFields, depth: Int) throws(SyntaxError) {
      if depth > BinanceParser.maxDepth { throw fail() }
      i += 1
      ws()
      if cur() == 0x7D {
        i += 1
        return
      }
      while true {
        guard cur() == 0x22 else { throw fail() }
        let key = try string()
        ws()
        guard cur() == 0x3A else { throw fail() }
        i += 1
        ws()
        switch keyCode(key) {
        case 0x74: k.t = try intField(depth: depth)  // t
        case 0x69: k.i = try strField(depth: depth)  // i
        case 0x6F: k.o = try numField(depth: depth)  // o
        case 0x63: k.c = try numField(depth: depth)  // c
        case 0x68: k.h = try numField(depth: depth)  // h
        case 0x6C: k.l = try numField(depth: depth)  // l
        case 0x76: k.v = try numField(depth: depth)  // v
        case 0x71: k.q = try numField(depth: depth)  // q
        case 0x56: k.takerBase = try numField(depth: depth)  // V
        case 0x51: k.takerQuote = try numField(depth: depth)  // Q
        case 0x42: k.ignored = try numField(depth: depth)  // B
        case 0x78:  // x
          switch try value(depth: depth) {
          case .trueValue: k.x = BoolField(state: .ok, value: true)
          case .falseValue: k.x = BoolField(state: .ok, value: false)
          case .null: k.x = BoolField()
          default: k.x = BoolField(state: .wrongType)
          }
        default:
          _ = try value(depth: depth)
        }
        ws()
        let c = cur()
        if c == 0x2C {
          i += 1
          ws()
        } else if c == 0x7D {
          i += 1
          return
        } else {
          throw fail()
        }
      }
    }

    func keyCode(_ key: Span) -> UInt8 {
      let len = key.end - key.start
      if !key.escaped {
        if len == 1 { return at(key.start) }
        if len == 4 && matches(key.start, 4, "data") { return BinanceParser.keyData }
        return BinanceParser.keyOther
      }
      let bytes = decode(key)
      if bytes.count == 1 { return bytes[0] }
      if bytes == Array("data".utf8) { return BinanceParser.keyData }
      return BinanceParser.keyOther
    }

    func matches(_ start: Int, _ len: Int, _ lit: StaticString) -> Bool {
      guard lit.utf8CodeUnitCount == len else { return false }
      let q = lit.utf8Start
      for j in 0..<len where at(start + j) != q[j] { return false }
      return true
    }

    // MARK: Field values

    mutating func strField(depth: Int) throws(SyntaxError) -> StrField {
      if cur() == 0x22 { return StrField(state: .ok, span: try string()) }
      return StrField(state: try value(depth: depth) == .null ? .absent : .wrongType)
    }

    mutating func intField(depth: Int) throws(SyntaxError) -> IntField {
      let c = cur()
      if c == 0x2D || Run.isDigit(c) {
        let num = try number()
        if num.kind == .integer, let v = int64(num.start, num.end) {
          return IntField(state: .ok, value: v)
        }
        return IntField(state: .wrongType)
      }
      return IntField(state: try value(depth: depth) == .null ? .absent : .wrongType)
    }

    mutating func numField(depth: Int) throws(SyntaxError) -> NumField {
      let c = cur()
      if c == 0x22 {
        let s = try string()
        let d: Double?
        if !s.escaped {
          d = decimal(s.start, s.end)
        } else {
          let bytes = decode(s)
          d = bytes.withUnsafeBytes { buf in
            Run(p: buf.baseAddress!, n: buf.count).decimal(0, buf.count)
          }
        }
        if let d { return NumField(state: .ok, value: d) }
        return NumField(state: .notDecimal, start: s.start, end: s.end)
      }
      if c == 0x2D || Run.isDigit(c) {
        let num = try number()
        let d =
          num.kind == .exponent
          ? slowDouble(num.start, num.end) : (decimal(num.start, num.end) ?? .nan)
        return d.isFinite ? NumField(state: .ok, value: d) : NumField(state: .notFinite)
      }
      return NumField(state: try value(depth: depth) == .null ? .absent : .wrongType)
    }

    // MARK: Generic JSON values

    enum Kind { case string, number, trueValue, falseValue, null, object, array }

    /// Scans (and validates) any JSON value; containers are skipped.
    mutating func value(depth: Int) throws(SyntaxError) -> Kind {
      switch cur() {
      case 0x22:
        _ = try string()
        return .string
      case 0x7B:
        try skipObject(depth: depth + 1)
        return .object
      case 0x5B:
        try skipArray(depth: depth + 1)
        return .array
      case 0x74:
        try literal("true")
        return .trueValue
      case 0x66:
        try literal("false")
        return .falseValue
      case 0x6E:
        try literal("null")
        return .null
      case 0x2D, 0x30...0x39:
        _ = try number()
        return .number
      default:
        throw fail()
      }
    }

    mutating func literal(_ lit: StaticString) throws(SyntaxError) {
      let q = lit.utf8Start
      for j in 0..<lit.utf8CodeUnitCount {
        if i >= n || at(i) != q[j] { throw fail() }
        i += 1
      }
    }

    mutating func skipObject(depth: Int) throws(SyntaxError) {
      if depth > BinanceParser.maxDepth { throw fail() }
      i += 1
      ws()
      if cur() == 0x7D {
        i += 1
        return
      }
      while true {
        guard cur() == 0x22 else { throw fail() }
        _ = try string()
        ws()
        guard cur() == 0x3A else { throw fail() }
        i += 1
        ws()
        _ = try value(depth: depth)
        ws()
        let c = cur()
        if c == 0x2C {
          i += 1
          ws()
        } else if c == 0x7D {
          i += 1
          return
        } else {
          throw fail()
        }
      }
    }

    mutating func skipArray(depth: Int) throws(SyntaxError) {
      if depth > BinanceParser.maxDepth { throw fail() }
      i += 1
      ws()
      if cur() == 0x5D {
        i += 1
        return
      }
      while true {
        _ = try value(depth: depth)
        ws()
        let c = cur()
        if c == 0x2C {
          i += 1
          ws()
        } else if c == 0x5D {
          i += 1
          return
        } else {
          throw fail()
        }
      }
    }

    // MARK: Strings

    /// Scans a string at `"`; returns the raw content span.
    mutating func string() throws(SyntaxError) -> Span {
      i += 1
      let start = i
      var escaped = false
      while i < n {
        let c = at(i)
        // One test for the common case: printable ASCII other than `"` and `\`.
        if c &- 0x20 < 0x60 && c != 0x22 && c != 0x5C {
          i += 1
          continue
        }
        if c == 0x22 {
          let span = Span(start: start, end: i, escaped: escaped)
          i += 1
          return span
        }
        if c == 0x5C {
          escaped = true
          try escape()
        } else if c < 0x20 {
          throw fail()
        } else {
          try utf8(c)
        }
      }
      throw fail()
    }

    func hex4(_ j: Int) -> Int? {
      if j + 4 > n { return nil }
      var u = 0
      for k in j..<j + 4 {
        let c = at(k)
        let d: UInt8
        switch c {
        case 0x30...0x39: d = c - 0x30
        case 0x41...0x46: d = c - 0x41 + 10
        case 0x61...0x66: d = c - 0x61 + 10
        default: return nil
        }
        u = u << 4 | Int(d)
      }
      return u
    }

    /// At `\`.
    mutating func escape() throws(SyntaxError) {
      i += 1
      switch cur() {
      case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:
        i += 1
      case 0x75:  // u
        guard let u = hex4(i + 1) else { throw fail() }
        i += 5
        if u >= 0xD800 && u <= 0xDBFF {
          guard cur() == 0x5C, i + 1 < n, at(i + 1) == 0x75,
            let lo = hex4(i + 2), lo >= 0xDC00 && lo <= 0xDFFF
          else { throw fail() }
          i += 6
        } else if u >= 0xDC00 && u <= 0xDFFF {
          throw fail()
        }
      default:
        throw fail()
      }
    }

    /// Validates one multi-byte UTF-8 sequence starting with `c` (≥ 0x80) at `i`.
    mutating func utf8(_ c: UInt8) throws(SyntaxError) {
      func cont(_ j: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
        j < n && at(j) >= lo && at(j) <= hi
      }
      let len: Int
      switch c {
      case 0xC2...0xDF: len = cont(i + 1) ? 2 : 0
      case 0xE0: len = cont(i + 1, 0xA0) && cont(i + 2) ? 3 : 0
      case 0xE1...0xEC, 0xEE...0xEF: len = cont(i + 1) && cont(i + 2) ? 3 : 0
      case 0xED: len = cont(i + 1, 0x80, 0x9F) && cont(i + 2) ? 3 : 0
      case 0xF0: len = cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0
      case 0xF1...0xF3: len = cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0
      case 0xF4: len = cont(i + 1, 0x80, 0x8F) && cont(i + 2) && cont(i + 3) ? 4 : 0
      default: len = 0
      }
      if len == 0 { throw fail() }
      i += len
    }

    /// The decoded bytes of a validated string that contains escapes (rare: allocates).
    func decode(_ s: Span) -> [UInt8] {
      var out: [UInt8] = []
      out.reserveCapacity(s.end - s.start)
      var j = s.start
      while j < s.end {
        let c = at(j)
        if c != 0x5C {
          out.append(c)
          j += 1
          continue
        }
        let e = at(j + 1)
        j += 2
        switch e {
        case 0x62: out.append(0x08)
        case 0x66: out.append(0x0C)
        case 0x6E: out.append(0x0A)
        case 0x72: out.append(0x0D)
        case 0x74: out.append(0x09)
        case 0x75:
          var u = hex4(j) ?? 0xFFFD
          j += 4
          if u >= 0xD800 && u <= 0xDBFF, let lo = hex4(j + 2) {
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
            j += 6
          }
          let scalar = Unicode.Scalar(UInt32(u)) ?? "\u{FFFD}"
          out.append(contentsOf: UTF8.encode(scalar)!)
        default: out.append(e)  // " \ /
        }
      }
      return out
    }

    func makeString(_ s: Span) -> String {
      if s.escaped { return String(decoding: decode(s), as: UTF8.self) }
      let len = s.end - s.start
      return String(unsafeUninitializedCapacity: len) { buf in
        UnsafeMutableRawBufferPointer(buf).copyMemory(
          from: UnsafeRawBufferPointer(start: p + s.start, count: len))
        return len
      }
    }

    // MARK: Numbers

    enum NumKind { case integer, fraction, exponent }

    /// Scans a JSON number (RFC 8259 grammar) at `-` or a digit.
    mutating func number() throws(SyntaxError) -> (start: Int, end: Int, kind: NumKind) {
      let start = i
      if cur() == 0x2D { i += 1 }
      let c = cur()
      if c == 0x30 {
        i += 1
      } else if c >= 0x31 && c <= 0x39 {
        i += 1
        while Run.isDigit(cur()) { i += 1 }
      } else {
        throw fail()
      }
      var kind = NumKind.integer
      if cur() == 0x2E {
        i += 1
        guard Run.isDigit(cur()) else { throw fail() }
        while Run.isDigit(cur()) { i += 1 }
        kind = .fraction
      }
      let e = cur()
      if e == 0x65 || e == 0x45 {
        i += 1
        let sign = cur()
        if sign == 0x2B || sign == 0x2D { i += 1 }
        guard Run.isDigit(cur()) else { throw fail() }
        while Run.isDigit(cur()) { i += 1 }
        kind = .exponent
      }
      return (start, i, kind)
    }

    /// An integer token (`-?digits`) as Int64, nil on overflow.
    func int64(_ a: Int, _ b: Int) -> Int64? {
      var j = a
      let neg = at(j) == 0x2D
      if neg { j += 1 }
      var mag: UInt64 = 0
      while j < b {
        let (m, o1) = mag.multipliedReportingOverflow(by: 10)
        let (s, o2) = m.addingReportingOverflow(UInt64(at(j) &- 0x30))
        if o1 || o2 { return nil }
        mag = s
        j += 1
      }
      if neg {
        return mag <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- mag) : nil
      }
      return mag <= UInt64(Int64.max) ? Int64(mag) : nil
    }

    /// The value of a plain decimal (`-?[0-9]+(\.[0-9]+)?`) in `[a, b)`, nil if it is not one.
    /// Equal to `Double(String)` of the same text: exact mantissa ≤ 2^53 divided by an exact
    /// power of ten (≤ 10^22) is correctly rounded; everything else goes to `Double(String)`.
    func decimal(_ a: Int, _ b: Int) -> Double? {
      var j = a
      let neg = j < b && at(j) == 0x2D
      if neg { j += 1 }
      var mant: UInt64 = 0
      var digits = 0  // significant digits in `mant` (from the first non-zero)
      let intStart = j
      while j < b {
        let d = at(j) &- 0x30
        if d > 9 { break }
        if mant != 0 || d != 0 { digits += 1 }
        mant = mant &* 10 &+ UInt64(d)
        j += 1
      }
      if j == intStart { return nil }
      var frac = 0
      if j < b && at(j) == 0x2E {
        j += 1
        let fracStart = j
        while j < b {
          let d = at(j) &- 0x30
          if d > 9 { break }
          if mant != 0 || d != 0 { digits += 1 }
          mant = mant &* 10 &+ UInt64(d)
          j += 1
        }
        if j == fracStart { return nil }
        frac = j - fracStart
      }
      if j != b { return nil }
      if digits <= 19 {
        if mant > 1 << 53 || frac > 22 {
          while frac > 0 && mant % 10 == 0 {
            mant /= 10
            frac -= 1
          }
        }
        if mant <= 1 << 53 && frac <= 22 {
          let v = Double(mant) / Run.pow10(frac)
          return neg ? -v : v
        }
      }
      return slowDouble(a, b)
    }

    @inline(__always) static func pow10(_ k: Int) -> Double {
      switch k {
      case 0: 1e0
      case 1: 1e1
      case 2: 1e2
      case 3: 1e3
      case 4: 1e4
      case 5: 1e5
      case 6: 1e6
      case 7: 1e7
      case 8: 1e8
      case 9: 1e9
      case 10: 1e10
      case 11: 1e11
      case 12: 1e12
      case 13: 1e13
      case 14: 1e14
      case 15: 1e15
      case 16: 1e16
      case 17: 1e17
      case 18: 1e18
      case 19: 1e19
      case 20: 1e20
      case 21: 1e21
      default: 1e22
      }
    }

    func slowDouble(_ a: Int, _ b: Int) -> Double {
      Double(makeString(Span(start: a, end: b, escaped: false))) ?? .nan
    }

    // MARK: Building events

    mutating func finish(_ f: EventFields) {
      guard f.e.state == .ok else {
        unknown += 1
        return
      }
      let e = f.e.span
      let type: StaticString
      if e.escaped {
        let bytes = decode(e)
        type = bytes.withUnsafeBytes { Run(p: $0.baseAddress!, n: $0.count).eventType(0, $0.count) }
      } else {
        type = eventType(e.start, e.end - e.start)
      }
      switch type.utf8CodeUnitCount {
      case 10: ticker(f, mini: false, type)
      case 14: ticker(f, mini: true, type)
      case 5: kline(f, type)
      default: unknown += 1
      }
    }

    func eventType(_ start: Int, _ len: Int) -> StaticString {
      if matches(start, len, "24hrTicker") { return "24hrTicker" }
      if matches(start, len, "24hrMiniTicker") { return "24hrMiniTicker" }
      if matches(start, len, "kline") { return "kline" }
      return ""
    }

    mutating func reject(_ type: StaticString, _ problem: String) {
      skipped += 1
      if firstError == nil { firstError = "\(type): \(problem)" }
    }

    func intProblem(_ f: IntField, _ name: StaticString) -> String? {
      switch f.state {
      case .ok: nil
      case .absent: "missing field \"\(name)\""
      default: "field \"\(name)\" is not a JSON integer"
      }
    }

    func strProblem(_ f: StrField, _ name: StaticString) -> String? {
      switch f.state {
      case .ok where f.span.end > f.span.start: nil
      case .absent: "missing field \"\(name)\""
      default: "field \"\(name)\" is not a non-empty string"
      }
    }

    func numProblem(_ f: NumField, _ name: StaticString, required: Bool = false) -> String? {
      switch f.state {
      case .ok: return nil
      case .absent: return required ? "missing field \"\(name)\"" : nil
      case .notDecimal:
        let text = makeString(Span(start: f.start, end: min(f.end, f.start + 64), escaped: false))
        return "field \"\(name)\" is not a plain decimal (\"\(text)\")"
      case .notFinite: return "field \"\(name)\" is not a finite number"
      case .wrongType: return "field \"\(name)\" is not a number string"
      }
    }

    mutating func ticker(_ f: EventFields, mini: Bool, _ type: StaticString) {
      var m = intProblem(f.eventTime, "E")
      m = m ?? strProblem(f.s, "s")
      m = m ?? numProblem(f.c, "c", required: true)
      if !mini {
        m = m ?? numProblem(f.p, "p")
        m = m ?? numProblem(f.changePct, "P")
        m = m ?? numProblem(f.w, "w")
        m = m ?? numProblem(f.lastQty, "Q")
        m = m ?? numProblem(f.b, "b")
        m = m ?? numProblem(f.bidQty, "B")
        m = m ?? numProblem(f.a, "a")
        m = m ?? numProblem(f.askQty, "A")
      }
      m = m ?? numProblem(f.o, "o")
      m = m ?? numProblem(f.h, "h")
      m = m ?? numProblem(f.l, "l")
      m = m ?? numProblem(f.v, "v")
      m = m ?? numProblem(f.q, "q")
      if let m { return reject(type, m) }
      var t = TickerFields()
      t.price = f.c.value
      t.open = f.o.value
      t.high = f.h.value
      t.low = f.l.value
      t.volume = f.v.value
      t.quoteVolume = f.q.value
      if !mini {
        t.change = f.p.value
        t.changePct = f.changePct.value
        t.vwap = f.w.value
        t.bid = f.b.value
        t.ask = f.a.value
      }
      events.append(
        .ticker(
          TickerEvent(
            symbol: makeString(f.s.span), eventTime: f.eventTime.value, isMini: mini, fields: t)))
    }

    mutating func kline(_ f: EventFields, _ type: StaticString) {
      if let m = intProblem(f.eventTime, "E") ?? strProblem(f.s, "s") { return reject(type, m) }
      switch f.kState {
      case .ok: break
      case .absent: return reject(type, "missing field \"k\"")
      default: return reject(type, "field \"k\" is not an object")
      }
      let k = f.k
      var m = intProblem(k.t, "k.t")
      m = m ?? strProblem(k.i, "k.i")
      m = m ?? numProblem(k.o, "k.o", required: true)
      m = m ?? numProblem(k.c, "k.c", required: true)
      m = m ?? numProblem(k.h, "k.h", required: true)
      m = m ?? numProblem(k.l, "k.l", required: true)
      m = m ?? numProblem(k.v, "k.v", required: true)
      m = m ?? numProblem(k.q, "k.q")
      m = m ?? numProblem(k.takerBase, "k.V")
      m = m ?? numProblem(k.takerQuote, "k.Q")
      m = m ?? numProblem(k.ignored, "k.B")
      if m == nil && k.x.state == .wrongType { m = "field \"k.x\" is not a boolean" }
      if let m { return reject(type, m) }
      events.append(
        .kline(
          KlineEvent(
            symbol: makeString(f.s.span), eventTime: f.eventTime.value,
            interval: makeString(k.i.span),
            openTime: k.t.value, open: k.o.value, high: k.h.value, low: k.l.value,
            close: k.c.value, volume: k.v.value, isClosed: k.x.value)))
    }
  }
}
