// The validating single-pass JSON scanner under `BinanceParser`: the input and the position,
// the RFC 8259 grammar (values, strings, numbers), and the byte-level shortcuts that make one
// pass cheap. What it collects from Binance's event objects is in BinanceFields.swift.

import Tracking

/// 10^0 ... 10^22, the powers of ten that are exact in a Double (see `decimalValue`).
private let powersOfTen: [Double] = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
  1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]

extension BinanceParser {
  /// Containers nested deeper than this are rejected (JSONSerialization uses the same limit).
  static var maxDepth: Int { 512 }

  static var quote: UInt8 { 0x22 }

  /// The state of one parse: the input, the position, and what has been collected.
  ///
  /// `p` points into the caller's buffer, valid only during `BinanceParser.parse`: a scanner
  /// lives inside that call. Reads stay below `n`: single bytes through `at`, 8 bytes at a time
  /// only where `j + 8 <= n`.
  struct Scanner {
    /// The input: `n` bytes at `p`.
    let p: UnsafeRawPointer
    let n: Int
    /// The position: the next byte to read.
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
  }
}

extension BinanceParser.Scanner {
  /// The input is not valid JSON; `offset` is the byte where the scan stopped.
  struct SyntaxError: Error {
    let offset: Int
  }

  /// A string token: the raw bytes between the quotes.
  struct Span {
    var start: Int
    var end: Int
    var escaped: Bool
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

  // MARK: Keys

  /// A member's key and the `:` after it, at `"`: the key's code (see `keyCode`, in
  /// BinanceFields.swift); then skips the whitespace before the value.
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
        let special = Self.specialBytes(p.loadUnaligned(fromByteOffset: j, as: UInt64.self))
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

  /// Whether the `len` bytes at `start` are `lit`.
  func matches(_ start: Int, _ len: Int, _ lit: StaticString) -> Bool {
    guard lit.utf8CodeUnitCount == len else { return false }
    let q = lit.utf8Start
    for j in 0..<len where at(start + j) != q[j] { return false }
    return true
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
    while j < n && Self.isDigit(at(j)) { j &+= 1 }
    return j
  }

  /// How many of the 8 bytes at `j` (`j + 8 <= n`) are ASCII digits before the first
  /// non-digit: 0...8. One SWAR test instead of 8 compares and branches.
  @inline(__always) func digitCount(_ j: Int) -> Int {
    Self.digitCount(ofDigitBytes: Self.digitBytes(j, p))
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
      let x = Self.digitBytes(j, p)
      let k = Swift.min(Self.digitCount(ofDigitBytes: x), b &- j)
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
      mant = mant &* Self.pow10Int(k) &+ v
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
        let v = Double(mant) / Self.pow10(frac)
        return neg ? -v : v
      }
    }
    return slowDouble(a, b)
  }

  /// 10^k for k in 0...22 (all exact in a Double), loaded from a table: the number of
  /// fraction digits varies from field to field, so a `switch` here (a jump table) would be
  /// an indirect branch per number that the processor often mispredicts.
  @inline(__always) static func pow10(_ k: Int) -> Double {
    powersOfTen[k]
  }

  func slowDouble(_ a: Int, _ b: Int) -> Double {
    Double(makeString(Span(start: a, end: b, escaped: false))) ?? .nan
  }
}
