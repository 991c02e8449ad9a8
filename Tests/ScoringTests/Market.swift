import Scoring
import Tracking

/// Hand-made market data for the figure tests: ticker prices at given times.
enum Market {
  /// A ticker event of `symbol` at `time` with last price `price`.
  static func ticker(_ symbol: String, _ time: Int64, _ price: Double) -> MarketEvent {
    var fields = TickerFields()
    fields.price = price
    return .ticker(TickerEvent(symbol: symbol, eventTime: time, isMini: false, fields: fields))
  }

  /// A kline event (no price for the scorer; it only stretches the file's span).
  static func kline(_ symbol: String, _ time: Int64) -> MarketEvent {
    .kline(
      KlineEvent(
        symbol: symbol, eventTime: time, interval: "1m", openTime: time / 60_000 * 60_000,
        open: 1, high: 1, low: 1, close: 1, volume: 1, isClosed: false))
  }

  static func enter(_ strategy: String, _ symbol: String, _ time: Int64, _ price: Double)
    -> RecordedDiff
  {
    RecordedDiff(strategy: strategy, symbol: symbol, time: time, isEnter: true, price: price)
  }

  static func exit(_ strategy: String, _ symbol: String, _ time: Int64, _ price: Double)
    -> RecordedDiff
  {
    RecordedDiff(strategy: strategy, symbol: symbol, time: time, isEnter: false, price: price)
  }

  static func horizons(_ list: String) -> [Horizon] {
    (try? Horizon.parseList(list)) ?? []
  }
}

/// Two doubles equal within rounding.
func close(_ a: Double?, _ b: Double, tolerance: Double = 1e-12) -> Bool {
  guard let a else { return false }
  return abs(a - b) <= tolerance * max(1, abs(b))
}
