/// The 24h ticker fields a strategy can read. `Double.nan` marks a field the feed never sent
/// (feeds reject number strings that are not plain decimals, so NaN never comes from a feed).
public struct TickerFields: Sendable, Equatable, BitwiseCopyable {
  public var price: Double = .nan  // c
  public var open: Double = .nan  // o
  public var high: Double = .nan  // h
  public var low: Double = .nan  // l
  public var volume: Double = .nan  // v
  public var quoteVolume: Double = .nan  // q
  public var change: Double = .nan  // p
  public var changePct: Double = .nan  // P
  public var vwap: Double = .nan  // w
  public var bid: Double = .nan  // b
  public var ask: Double = .nan  // a

  public init() {}

  public static func == (a: TickerFields, b: TickerFields) -> Bool {
    func same(_ x: Double, _ y: Double) -> Bool { x == y || (x.isNaN && y.isNaN) }
    return same(a.price, b.price) && same(a.open, b.open) && same(a.high, b.high)
      && same(a.low, b.low) && same(a.volume, b.volume) && same(a.quoteVolume, b.quoteVolume)
      && same(a.change, b.change) && same(a.changePct, b.changePct) && same(a.vwap, b.vwap)
      && same(a.bid, b.bid) && same(a.ask, b.ask)
  }
}

/// A 24h ticker (`24hrTicker`) or mini ticker (`24hrMiniTicker`) event.
public struct TickerEvent: Sendable, Equatable, BitwiseCopyable {
  /// The symbol (plain bits: see ``EventName``).
  public var symbolName: EventName
  public var symbol: String {
    get { symbolName.string }
    set { symbolName = EventName(newValue) }
  }
  /// Event time `E`, milliseconds since the epoch.
  public var eventTime: Int64
  /// A mini ticker carries only `c o h l v q`; the store derives `change` and `change_pct`
  /// and leaves `vwap`, `bid` and `ask` as they were.
  public var isMini: Bool
  public var fields: TickerFields

  public init(symbol: String, eventTime: Int64, isMini: Bool, fields: TickerFields) {
    self.init(symbolName: EventName(symbol), eventTime: eventTime, isMini: isMini, fields: fields)
  }

  public init(symbolName: EventName, eventTime: Int64, isMini: Bool, fields: TickerFields) {
    self.symbolName = symbolName
    self.eventTime = eventTime
    self.isMini = isMini
    self.fields = fields
  }
}

/// One candle of a kline event (`"e":"kline"`).
public struct KlineEvent: Sendable, Equatable, BitwiseCopyable {
  /// The symbol (plain bits: see ``EventName``).
  public var symbolName: EventName
  public var symbol: String {
    get { symbolName.string }
    set { symbolName = EventName(newValue) }
  }
  /// Event time `E`, milliseconds since the epoch.
  public var eventTime: Int64
  /// Kline interval `k.i`, e.g. `1m`.
  public var intervalName: EventName
  public var interval: String {
    get { intervalName.string }
    set { intervalName = EventName(newValue) }
  }
  /// Candle open time `k.t`, milliseconds since the epoch.
  public var openTime: Int64
  public var open: Double
  public var high: Double
  public var low: Double
  public var close: Double
  public var volume: Double
  /// `k.x`: whether the candle is closed (absent means open).
  public var isClosed: Bool

  public init(
    symbol: String, eventTime: Int64, interval: String, openTime: Int64, open: Double,
    high: Double, low: Double, close: Double, volume: Double, isClosed: Bool
  ) {
    self.init(
      symbolName: EventName(symbol), eventTime: eventTime, intervalName: EventName(interval),
      openTime: openTime, open: open, high: high, low: low, close: close, volume: volume,
      isClosed: isClosed)
  }

  public init(
    symbolName: EventName, eventTime: Int64, intervalName: EventName, openTime: Int64,
    open: Double, high: Double, low: Double, close: Double, volume: Double, isClosed: Bool
  ) {
    self.symbolName = symbolName
    self.eventTime = eventTime
    self.intervalName = intervalName
    self.openTime = openTime
    self.open = open
    self.high = high
    self.low = low
    self.close = close
    self.volume = volume
    self.isClosed = isClosed
  }
}

/// A market-data event as every feed delivers it to the store's single apply path.
public enum MarketEvent: Sendable, Equatable, BitwiseCopyable {
  case ticker(TickerEvent)
  case kline(KlineEvent)

  public var eventTime: Int64 {
    borrowing get {
      switch self {
      case .ticker(let t): t.eventTime
      case .kline(let k): k.eventTime
      }
    }
  }

  public var symbol: String { symbolName.string }

  public var symbolName: EventName {
    switch self {
    case .ticker(let t): t.symbolName
    case .kline(let k): k.symbolName
    }
  }

  /// Whether a payload sits unchanged at its event's address, so the store's
  /// `apply(at:)` and ``eventTime(at:inPlace:)`` can read it in place (only read: nothing
  /// writes an event through those pointers). Why: a `switch` that binds the payload
  /// (`case .kline(let k)`) makes the compiler copy the whole event to the stack first
  /// (a `memcpy` call and three outlined helper calls per event, seen in the disassembly),
  /// on the path every event takes. Swift lays a multi-payload enum out with each payload at
  /// offset 0 and the case in a tag byte after them when the payloads have no spare bits in
  /// common (these have none: both begin with 32 bytes of name); were the case kept in spare
  /// bits instead, payload bits would be changed. So this checks, once, on real values of
  /// both cases, that what sits at the address equals the payload; if not, the readers copy
  /// as the `switch` does.
  public static let payloadsInPlace: Bool = {
    func check(_ event: MarketEvent) -> Bool {
      withUnsafePointer(to: event) { p in
        let raw = UnsafeRawPointer(p)
        switch event {
        case .ticker(let t):
          return raw.load(fromByteOffset: isMiniOffset, as: UInt8.self) == (t.isMini ? 1 : 0)
            && raw.assumingMemoryBound(to: TickerEvent.self).pointee == t
        case .kline(let k):
          return raw.load(fromByteOffset: isClosedOffset, as: UInt8.self) == (k.isClosed ? 1 : 0)
            && raw.assumingMemoryBound(to: KlineEvent.self).pointee == k
        }
      }
    }
    var fields = TickerFields()
    fields.price = 1.5
    fields.ask = -2.25
    var name = EventName("S")
    name.w0 = .max
    name.w1 = .max
    name.w2 = .max
    var ok = timeOffset == MemoryLayout<KlineEvent>.offset(of: \.eventTime)
    for flag in [false, true] {
      ok =
        ok
        && check(
          .ticker(TickerEvent(symbolName: name, eventTime: -1, isMini: flag, fields: fields)))
        && check(
          .kline(
            KlineEvent(
              symbolName: name, eventTime: -1, intervalName: name, openTime: -1, open: 1, high: 2,
              low: -3, close: 4, volume: 5, isClosed: flag)))
    }
    return ok
  }()

  private static let isMiniOffset = MemoryLayout<TickerEvent>.offset(of: \.isMini) ?? 0
  private static let isClosedOffset = MemoryLayout<KlineEvent>.offset(of: \.isClosed) ?? 0
}

extension MarketEvent {
  /// The event time of the event at `event`; `inPlace`: ``payloadsInPlace`` (which a hot
  /// loop keeps in a local), read in place, with no copy of the event.
  @inline(__always)
  public static func eventTime(at event: UnsafePointer<MarketEvent>, inPlace: Bool) -> Int64 {
    // Both payloads keep the time at the same offset (checked by `payloadsInPlace`).
    inPlace
      ? UnsafeRawPointer(event).load(fromByteOffset: timeOffset, as: Int64.self)
      : event.pointee.eventTime
  }

  static let timeOffset = MemoryLayout<TickerEvent>.offset(of: \.eventTime) ?? 0
}
