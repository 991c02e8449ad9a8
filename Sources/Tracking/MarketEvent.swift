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
}
