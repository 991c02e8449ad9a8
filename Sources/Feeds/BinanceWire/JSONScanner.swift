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
    var events: [MarketEvent] = []
    var result = parse(bytes, appendingTo: &events)
    result.events = events
    return result
  }

  /// Like `parse(_:)`, but appends the events to `events` (the returned result's `events` is
  /// empty). The feeds' path: events go straight into the batch, with no array per message
  /// and no second copy of every event (an event holds Strings, so each copy is a call).
  func parse(_ bytes: UnsafeRawBufferPointer, appendingTo events: inout [MarketEvent])
    -> BinanceParseResult
  {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return BinanceParseResult() }
    var run = Run(p: base, n: bytes.count)
    let mark = events.count
    // Lend the caller's array to the run (a swap moves the buffer: no copy).
    swap(&run.events, &events)
    defer { swap(&run.events, &events) }
    do {
      try run.message()
    } catch {
      run.events.removeSubrange(mark...)
      return BinanceParseResult(skipped: 1, firstError: "invalid JSON at byte \(error.offset)")
    }
    if run.notContainer {
      return BinanceParseResult(
        skipped: 1, firstError: "top-level value is not an object or array")
    }
    return BinanceParseResult(
      skipped: run.skipped, unknown: run.unknown, firstError: run.firstError)
  }

  public func parse(_ line: String) -> BinanceParseResult {
    var line = line
    return line.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
  }
}

// MARK: - Implementation

/// 10^0 ... 10^22, the powers of ten that are exact in a Double (see `decimalValue`).
private let powersOfTen: [Double] = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
  1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]

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

    /// Whether `numProblem` finds nothing: `.ok`, or `.absent` when not `required`. These
    /// `fine` tests let an event skip the chain of problem checks (a call per field) unless
    /// it has a problem.
    @inline(__always) func fine(required: Bool = false) -> Bool {
      state == .ok || (!required && state == .absent)
    }
  }

  fileprivate struct IntField {
    var state = State.absent
    var value: Int64 = 0
  }

  fileprivate struct StrField {
    var state = State.absent
    var span = Span(start: 0, end: 0, escaped: false)

    /// Whether `strProblem` finds nothing.
    var fine: Bool { state == .ok && span.end > span.start }
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

    /// Whether `klineProblem` finds nothing.
    var fine: Bool {
      t.state == .ok && i.fine && o.fine(required: true) && c.fine(required: true)
        && h.fine(required: true) && l.fine(required: true) && v.fine(required: true)
        && q.fine() && takerBase.fine() && takerQuote.fine() && ignored.fine()
        && x.state != .wrongType
    }
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

    /// Whether `tickerProblem` finds nothing.
    func tickerFine(mini: Bool) -> Bool {
      eventTime.state == .ok && s.fine && c.fine(required: true)
        && (mini
          || (p.fine() && changePct.fine() && w.fine() && lastQty.fine() && b.fine()
            && bidQty.fine() && a.fine() && askQty.fine()))
        && o.fine() && h.fine() && l.fine() && v.fine() && q.fine()
    }
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
          switch try key() {
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
      finish(&f)
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
        switch try key() {
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

    /// A member's key and the `:` after it, at `"`: the key's code (see `keyCode`); then skips
    /// the whitespace before the value.
    ///
    /// Binance keys are one plain byte, `"e":`, which the first test takes in one go (4 bytes,
    /// no call to `string()`).
    @inline(__always) mutating func key() throws(SyntaxError) -> UInt8 {
      guard cur() == BinanceParser.quote else { throw fail() }
      if i &+ 3 < n && at(i &+ 2) == BinanceParser.quote && at(i &+ 3) == 0x3A {
        let c = at(i &+ 1)
        if c &- 0x20 < 0x60 && c != BinanceParser.quote && c != 0x5C {
          i &+= 4
          ws()
          return c
        }
      }
      let key = try string()
      ws()
      guard cur() == 0x3A else { throw fail() }
      i += 1
      ws()
      return keyCode(key)
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
        // Fast path, the usual field: `"` plain decimal `"`, converted while it is scanned.
        // Anything else (escapes, other text) takes the general path below from the start.
        if let d = decimalPrefix(i &+ 1, n), d.end < n, at(d.end) == BinanceParser.quote {
          let value = decimalValue(d.mant, d.digits, d.frac, d.neg, i &+ 1, d.end)
          i = d.end &+ 1
          return NumField(state: .ok, value: value)
        }
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
    ///
    /// Fast because it looks at 8 bytes per step (see `specialBytes`) and keeps the position in
    /// a local (a `mutating` loop on `i` stores it to memory on every byte).
    mutating func string() throws(SyntaxError) -> Span {
      let start = i + 1
      var j = start
      var escaped = false
      while true {
        // Skip plain bytes (printable ASCII other than `"` and `\`) 8 at a time.
        while j &+ 8 <= n {
          let special = Run.specialBytes(p.loadUnaligned(fromByteOffset: j, as: UInt64.self))
          if special != 0 {
            j &+= special.trailingZeroBitCount &>> 3
            break
          }
          j &+= 8
        }
        guard j < n else {
          i = n
          throw fail()
        }
        let c = at(j)
        if c == BinanceParser.quote {
          i = j &+ 1
          return Span(start: start, end: j, escaped: escaped)
        }
        // One test for the common case: printable ASCII other than `"` and `\` (in the last
        // 7 bytes of the input, which the 8-byte steps leave to this loop).
        if c &- 0x20 < 0x60 && c != 0x5C {
          j &+= 1
          continue
        }
        i = j
        if c == 0x5C {
          escaped = true
          try escape()
        } else if c < 0x20 {
          throw fail()
        } else {
          try utf8(c)
        }
        j = i
      }
    }

    /// A mask with the high bit set in the first byte of the 8 at `word` (as loaded from memory)
    /// that is not plain in a string: `"`, `\`, a control byte (< 0x20) or a non-ASCII byte
    /// (≥ 0x80); zero when all 8 are plain. Bits above the first flagged byte may be spurious
    /// (borrows of the subtractions), so callers use only the lowest one.
    @inline(__always) static func specialBytes(_ word: UInt64) -> UInt64 {
      let w = UInt64(littleEndian: word)
      let ones: UInt64 = 0x0101_0101_0101_0101
      let high: UInt64 = 0x8080_8080_8080_8080
      // The classic "has a zero byte" test: (x - 0x01…) & ~x & 0x80… flags exactly the
      // lowest zero byte. A byte below 0x20: w - 0x20…; `"` or `\`: zero after an xor.
      let control = (w &- ones &* 0x20) & ~w
      let q = w ^ (ones &* 0x22)
      let quote = (q &- ones) & ~q
      let b = w ^ (ones &* 0x5C)
      let backslash = (b &- ones) & ~b
      return (control | quote | backslash | w) & high
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

    /// A name from its bytes, with no `String` made unless escaped or long.
    func makeName(_ s: Span) -> EventName {
      if s.escaped { return EventName(makeString(s)) }
      return EventName(utf8: UnsafeRawBufferPointer(start: p + s.start, count: s.end - s.start))
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
      var j = i
      if at(j) == 0x2D { j &+= 1 }
      // `fail()` reports `i`: every throw below sets it to where the byte scan would stop.
      let c = j < n ? at(j) : 0
      if c == 0x30 {
        j &+= 1
      } else if c >= 0x31 && c <= 0x39 {
        j = skipDigits(j &+ 1)
      } else {
        i = j
        throw fail()
      }
      var kind = NumKind.integer
      if j < n && at(j) == 0x2E {
        let fracStart = j &+ 1
        j = skipDigits(fracStart)
        if j == fracStart {
          i = j
          throw fail()
        }
        kind = .fraction
      }
      if j < n && (at(j) == 0x65 || at(j) == 0x45) {
        j &+= 1
        if j < n && (at(j) == 0x2B || at(j) == 0x2D) { j &+= 1 }
        let expStart = j
        j = skipDigits(expStart)
        if j == expStart {
          i = j
          throw fail()
        }
        kind = .exponent
      }
      i = j
      return (start, j, kind)
    }

    /// The end of the run of ASCII digits at `j` (8 bytes per step, see `digitCount`).
    @inline(__always) func skipDigits(_ j: Int) -> Int {
      var j = j
      while j &+ 8 <= n {
        let k = digitCount(j)
        j &+= k
        if k < 8 { return j }
      }
      while j < n && Run.isDigit(at(j)) { j &+= 1 }
      return j
    }

    /// How many of the 8 bytes at `j` (`j + 8 <= n`) are ASCII digits before the first
    /// non-digit: 0...8. One SWAR test instead of 8 compares and branches.
    @inline(__always) func digitCount(_ j: Int) -> Int {
      Run.digitCount(ofDigitBytes: Run.digitBytes(j, p))
    }

    /// The 8 bytes at `j` xor `0x30` each, byte 0 lowest: a digit byte becomes its value 0...9.
    @inline(__always) static func digitBytes(_ j: Int, _ p: UnsafeRawPointer) -> UInt64 {
      UInt64(littleEndian: p.loadUnaligned(fromByteOffset: j, as: UInt64.self))
        ^ 0x3030_3030_3030_3030
    }

    /// Leading digits of `x` (from `digitBytes`): a byte is a digit iff its high nibble is 0
    /// and adding 6 leaves it below 0x10. A carry out of a non-digit byte can only disturb the
    /// bytes above it, so the lowest flagged byte is exact.
    @inline(__always) static func digitCount(ofDigitBytes x: UInt64) -> Int {
      let nonDigit = (x | (x &+ 0x0606_0606_0606_0606)) & 0xF0F0_F0F0_F0F0_F0F0
      return nonDigit.trailingZeroBitCount &>> 3  // 8 when all are digits (64 >> 3)
    }

    /// Accumulates the digit run at `j` (stopping before `b`) into `mant` (`mant * 10 + d` per
    /// digit, wrapping) and `digits` (significant digits: from the first non-zero one) exactly
    /// like a digit-by-digit loop, but up to 8 digits per step: the digits are shifted to the
    /// top of a word and combined by three multiplications (Lemire's "eight digits" trick).
    @inline(__always) func accumulateDigits(
      _ j: inout Int, _ b: Int, _ mant: inout UInt64, _ digits: inout Int
    ) {
      while j &+ 8 <= n {
        let x = Run.digitBytes(j, p)
        let k = Swift.min(Run.digitCount(ofDigitBytes: x), b &- j)
        guard k > 0 else { return }
        // The k digits in the top k bytes, zero bytes below: leading zero digits.
        let top = x &<< UInt64(truncatingIfNeeded: (8 &- k) &* 8)
        var v = top &* 10 &+ (top &>> 8)
        v =
          ((v & 0x0000_00FF_0000_00FF) &* 0x000F_4240_0000_0064
            &+ ((v &>> 16) & 0x0000_00FF_0000_00FF) &* 0x0000_2710_0000_0001) &>> 32
        // Significant digits: all k once `mant` is non-zero, else those from the first
        // non-zero byte of `top` (8 minus its trailing zero bytes; 0 when all are zero).
        digits &+= mant != 0 ? k : 8 &- (top.trailingZeroBitCount &>> 3)
        mant = mant &* Run.pow10Int(k) &+ v
        j &+= k
        if k < 8 { return }
      }
      while j < b {
        let d = at(j) &- 0x30
        if d > 9 { return }
        if mant != 0 || d != 0 { digits &+= 1 }
        mant = mant &* 10 &+ UInt64(d)
        j &+= 1
      }
    }

    @inline(__always) static func pow10Int(_ k: Int) -> UInt64 {
      switch k {
      case 1: 10
      case 2: 100
      case 3: 1000
      case 4: 10000
      case 5: 100_000
      case 6: 1_000_000
      case 7: 10_000_000
      default: 100_000_000
      }
    }

    /// An integer token (`-?digits`) as Int64, nil on overflow.
    func int64(_ a: Int, _ b: Int) -> Int64? {
      var j = a
      let neg = at(j) == 0x2D
      if neg { j += 1 }
      var mag: UInt64 = 0
      if b &- j <= 18 {
        // Cannot overflow (< 10^18): the 8-digits-per-step loop.
        var digits = 0
        accumulateDigits(&j, b, &mag, &digits)
        return neg ? Int64(truncatingIfNeeded: 0 &- mag) : Int64(truncatingIfNeeded: mag)
      }
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

    /// A plain decimal (`-?[0-9]+(\.[0-9]+)?`) at `a`, read up to its first other byte (at most
    /// to `b`): the digits as an integer (`mant`, exact when `digits <= 19`), the number of
    /// significant digits, of fraction digits, the sign, and where it ends. Nil when it does
    /// not start with one.
    @inline(__always)
    func decimalPrefix(_ a: Int, _ b: Int) -> (
      mant: UInt64, digits: Int, frac: Int, neg: Bool, end: Int
    )? {
      var j = a
      let neg = j < b && at(j) == 0x2D
      if neg { j &+= 1 }
      var mant: UInt64 = 0
      var digits = 0
      let intStart = j
      accumulateDigits(&j, b, &mant, &digits)
      if j == intStart { return nil }
      var frac = 0
      if j < b && at(j) == 0x2E {
        j &+= 1
        let fracStart = j
        accumulateDigits(&j, b, &mant, &digits)
        if j == fracStart { return nil }
        frac = j &- fracStart
      }
      return (mant, digits, frac, neg, j)
    }

    /// The value of a plain decimal (`-?[0-9]+(\.[0-9]+)?`) in `[a, b)`, nil if it is not one.
    /// Equal to `Double(String)` of the same text: exact mantissa ≤ 2^53 divided by an exact
    /// power of ten (≤ 10^22) is correctly rounded; everything else goes to `Double(String)`.
    func decimal(_ a: Int, _ b: Int) -> Double? {
      guard let d = decimalPrefix(a, b), d.end == b else { return nil }
      return decimalValue(d.mant, d.digits, d.frac, d.neg, a, b)
    }

    /// The value of the plain decimal in `[a, b)` whose parts `decimalPrefix` returned.
    @inline(__always)
    func decimalValue(
      _ mant: UInt64, _ digits: Int, _ frac: Int, _ neg: Bool, _ a: Int, _ b: Int
    ) -> Double {
      var mant = mant
      var frac = frac
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

    /// 10^k for k in 0...22 (all exact in a Double), loaded from a table: the number of
    /// fraction digits varies from field to field, so a `switch` here (a jump table) was a
    /// mispredicted indirect branch per number.
    @inline(__always) static func pow10(_ k: Int) -> Double {
      powersOfTen[k]
    }

    func slowDouble(_ a: Int, _ b: Int) -> Double {
      Double(makeString(Span(start: a, end: b, escaped: false))) ?? .nan
    }

    // MARK: Building events

    /// Checks the fields of an event object and appends its event (or counts the problem).
    /// `inout` (here and in `ticker` and `kline`) only to pass the ~900 bytes of fields by
    /// address: passed as a value (even `borrowing`), they were copied (`memcpy`) per event.
    mutating func finish(_ f: inout EventFields) {
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
      case 10: ticker(&f, mini: false, type)
      case 14: ticker(&f, mini: true, type)
      case 5: kline(&f, type)
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

    mutating func ticker(_ f: inout EventFields, mini: Bool, _ type: StaticString) {
      if !f.tickerFine(mini: mini), let m = tickerProblem(f, mini: mini) {
        return reject(type, m)
      }
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
            symbolName: makeName(f.s.span), eventTime: f.eventTime.value, isMini: mini,
            fields: t)))
    }

    /// The first problem of a ticker event (nil: none).
    func tickerProblem(_ f: EventFields, mini: Bool) -> String? {
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
      return m
    }

    mutating func kline(_ f: inout EventFields, _ type: StaticString) {
      if let m = intProblem(f.eventTime, "E") ?? strProblem(f.s, "s") { return reject(type, m) }
      switch f.kState {
      case .ok: break
      case .absent: return reject(type, "missing field \"k\"")
      default: return reject(type, "field \"k\" is not an object")
      }
      if !f.k.fine, let m = klineProblem(f.k) { return reject(type, m) }
      events.append(
        .kline(
          KlineEvent(
            symbolName: makeName(f.s.span), eventTime: f.eventTime.value,
            intervalName: makeName(f.k.i.span),
            openTime: f.k.t.value, open: f.k.o.value, high: f.k.h.value, low: f.k.l.value,
            close: f.k.c.value, volume: f.k.v.value, isClosed: f.k.x.value)))
    }

    /// The first problem of a kline's `k` object (nil: none).
    func klineProblem(_ k: KlineFields) -> String? {
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
      return m
    }
  }
}
