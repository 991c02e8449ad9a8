import Foundation

extension BinanceREST {
  /// The rows Binance allows in one `/api/v3/klines` answer.
  static let maxKlinesPerRequest = 1000

  /// Every `interval` candle (`step` ms long) of `symbol` with open time in `from..<until`, in
  /// open-time order, paged by `startTime` (`maxKlinesPerRequest` rows a request: a page that
  /// comes back full, before the span's last candle, is followed by one starting after its
  /// last candle). A span with no candle (a gap, or before the symbol's listing) has none.
  func klineRows(symbol: String, interval: String, step: Int64, from: Int64, until: Int64)
    async throws -> [RestKline]
  {
    var rows: [RestKline] = []
    var start = from
    while start < until {
      stats.update { $0.klineRequests += 1 }
      let limit = Self.maxKlinesPerRequest
      let data = try await get(
        "/api/v3/klines?symbol=\(symbol)&interval=\(interval)&startTime=\(start)"
          + "&endTime=\(until - 1)&limit=\(limit)", weight: 5)
      let page: [RestKline]
      do {
        page = try JSONDecoder().decode([RestKline].self, from: data)
      } catch {
        throw RestError.malformed("klines \(symbol) \(interval) from \(start): \(error)")
      }
      for row in page where row.openTime >= start && row.openTime < until {
        // Binance answers in open-time order; a row out of order or repeated is dropped.
        if let last = rows.last, row.openTime <= last.openTime { continue }
        rows.append(row)
      }
      guard page.count >= limit, let last = page.last, last.openTime >= start,
        last.openTime + step < until
      else { break }
      start = last.openTime + 1
    }
    return rows
  }
}
