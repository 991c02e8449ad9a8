import Feeds
import Tracking

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Every ticker price of a replay file by symbol, and the file's span of event time: what
/// forward returns are read from.
public struct PriceIndex: Sendable {
  private var series: [EventName: PriceSeries] = [:]
  /// The latest event time of any event (ticker or kline, any symbol); nil for no event. A
  /// horizon ending after it is "open": the file does not reach it.
  public private(set) var lastEventTime: Int64?
  /// The earliest event time of any event.
  public private(set) var firstEventTime: Int64?

  public init() {}

  /// The prices of `events`, in their order.
  public init(events: some Sequence<MarketEvent>) {
    for event in events { add(event) }
    finish()
  }

  /// The symbols with at least one price, in byte order of their names.
  public var symbols: [String] { series.keys.map(\.string).sorted() }

  /// The prices of `symbol`, or nil when the file has no ticker for it.
  public func prices(of symbol: String) -> PriceSeries? { series[EventName(symbol)] }

  /// Every symbol's series in byte order of the names: the baseline averages over all of
  /// them, and a fixed order keeps its sums, and so the report, the same bytes every run
  /// (a dictionary's order changes from process to process).
  var allSeries: [PriceSeries] {
    series.sorted { $0.key.string.utf8.lexicographicallyPrecedes($1.key.string.utf8) }.map(\.value)
  }

  mutating func add(_ event: MarketEvent) {
    let time = event.eventTime
    if lastEventTime.map({ time > $0 }) ?? true { lastEventTime = time }
    if firstEventTime.map({ time < $0 }) ?? true { firstEventTime = time }
    guard case .ticker(let ticker) = event else { return }
    series[ticker.symbolName, default: PriceSeries()].append(
      time: time, price: ticker.fields.price)
  }

  mutating func finish() {
    for key in series.keys { series[key]?.finish() }
  }

  /// Reads a replay file (one Binance message per line, raw or in the combined-stream
  /// envelope) with the feed's own parser. A bad line gives no price (the replay reports it).
  public static func load(path: String) throws(PriceIndexError) -> PriceIndex {
    guard let file = fopen(path, "r") else { throw PriceIndexError(path: path) }
    defer { fclose(file) }
    var index = PriceIndex()
    let parser = BinanceParser()
    var line: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    defer { free(line) }
    while true {
      let n = getline(&line, &capacity, file)
      guard n >= 0, let line else { break }
      var length = n
      while length > 0, line[length - 1] == 10 || line[length - 1] == 13 { length -= 1 }
      let bytes = UnsafeRawBufferPointer(start: line, count: length)
      if bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
      for event in parser.parse(bytes).events { index.add(event) }
    }
    index.finish()
    return index
  }
}

/// A replay file that could not be opened.
public struct PriceIndexError: Error, Sendable, CustomStringConvertible {
  public var path: String
  public var description: String { "\(path): cannot read the replay file" }
}
