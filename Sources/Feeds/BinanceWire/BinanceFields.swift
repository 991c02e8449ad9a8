// What `BinanceParser` takes from Binance's messages: the shape of a message (an event object,
// an array of them, or the combined-stream envelope around either), the key codes, the fields
// of a ticker and a kline with their checks, and the events built from them.

import Tracking

extension BinanceParser {
  /// Key codes: a one-byte key is its own code (every field key is one byte); these two are
  /// never the code of a field key.
  static var keyOther: UInt8 { 0 }
  static var keyData: UInt8 { 0xFF }
}

extension BinanceParser.Scanner {
  // MARK: Fields

  /// What a field held: nothing (absent or `null`), a good value, or which problem.
  enum State: UInt8 {
    case absent, ok, notDecimal, notFinite, wrongType
  }

  struct NumField {
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

  struct IntField {
    var state = State.absent
    var value: Int64 = 0
  }

  struct StrField {
    var state = State.absent
    var span = Span(start: 0, end: 0, escaped: false)

    /// Whether `strProblem` finds nothing.
    var fine: Bool { state == .ok && span.end > span.start }
  }

  struct BoolField {
    var state = State.absent
    var value = false
  }

  struct KlineFields {
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

  struct EventFields {
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

  // MARK: Top level

  /// A whole message: an event object (or the envelope), an array of them, or a blank line.
  /// Any other valid JSON value sets `notContainer`.
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
  /// At `{`. An object with an `"e"` is an event even if it has a `"data"` too (what `data`
  /// produced is rolled back); of several `"data"`, the last one counts.
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

  /// Forgets what was collected since `mark`: events, counts, and a first error set since.
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

  // MARK: Key codes

  /// The code of a key that `key()` scanned (see `BinanceParser.keyOther`).
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

  // MARK: Field values

  // Each reads one member's value (and validates it): `null` counts as absent, a value of
  // another type is `.wrongType`.

  mutating func strField(depth: Int) throws(SyntaxError) -> StrField {
    if cur() == 0x22 { return StrField(state: .ok, span: try string()) }
    return StrField(state: try value(depth: depth) == .null ? .absent : .wrongType)
  }

  mutating func intField(depth: Int) throws(SyntaxError) -> IntField {
    let c = cur()
    if c == 0x2D || Self.isDigit(c) {
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
      // A decimal too long for a Double (over 308 digits) converts to infinity: refused like
      // an infinite JSON number, so no field of an event is ever infinite.
      if let d = decimalPrefix(i &+ 1, n), d.end < n, at(d.end) == BinanceParser.quote {
        let value = decimalValue(d.mant, d.digits, d.frac, d.neg, i &+ 1, d.end)
        i = d.end &+ 1
        return value.isFinite ? NumField(state: .ok, value: value) : NumField(state: .notFinite)
      }
      let s = try string()
      let d: Double?
      if !s.escaped {
        d = decimal(s.start, s.end)
      } else {
        let bytes = decode(s)
        d = bytes.withUnsafeBytes { buf in
          guard let base = buf.baseAddress else { return nil }
          return Self(p: base, n: buf.count).decimal(0, buf.count)
        }
      }
      if let d { return d.isFinite ? NumField(state: .ok, value: d) : NumField(state: .notFinite) }
      return NumField(state: .notDecimal, start: s.start, end: s.end)
    }
    if c == 0x2D || Self.isDigit(c) {
      let num = try number()
      let d =
        num.kind == .exponent
        ? slowDouble(num.start, num.end) : (decimal(num.start, num.end) ?? .nan)
      return d.isFinite ? NumField(state: .ok, value: d) : NumField(state: .notFinite)
    }
    return NumField(state: try value(depth: depth) == .null ? .absent : .wrongType)
  }

  // MARK: Building events

  /// Checks the fields of an event object and appends its event (or counts the problem).
  /// `inout` (here and in `ticker` and `kline`) only so that the fields, a large struct, are
  /// passed by address: passed as a value (even `borrowing`), they are copied per event.
  mutating func finish(_ f: inout EventFields) {
    guard f.e.state == .ok else {
      unknown += 1
      return
    }
    let e = f.e.span
    let type: StaticString
    if e.escaped {
      let bytes = decode(e)
      type = bytes.withUnsafeBytes {
        Self(p: $0.baseAddress!, n: $0.count).eventType(0, $0.count)
      }
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
