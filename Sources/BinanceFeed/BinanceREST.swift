import AsyncHTTPClient
import Foundation

/// Spreads REST requests over time: at most `concurrency` in flight, at most
/// `weightPerMinute` weight per minute (token bucket), and nothing at all while a 429/418
/// `Retry-After` pause runs.
actor RestGate {
  private let concurrency: Int
  private let weightPerSecond: Double
  private let capacity: Double
  private var inFlight = 0
  private var waiters: [CheckedContinuation<Void, Never>] = []
  private var tokens: Double
  private var refilled = ContinuousClock.now
  private var pausedUntil = ContinuousClock.now

  init(concurrency: Int, weightPerMinute: Double) {
    self.concurrency = concurrency
    self.weightPerSecond = weightPerMinute / 60
    // A burst of at most a tenth of the minute's budget.
    self.capacity = max(20, weightPerMinute / 10)
    self.tokens = max(20, weightPerMinute / 10)
  }

  func acquire(weight: Double) async throws {
    while inFlight >= concurrency {
      await withCheckedContinuation { waiters.append($0) }
    }
    inFlight += 1
    do {
      while true {
        try Task.checkCancellation()
        let now = ContinuousClock.now
        if pausedUntil > now {
          try await Task.sleep(until: pausedUntil, clock: .continuous)
          continue
        }
        let elapsed = now - refilled
        refilled = now
        tokens = min(capacity, tokens + seconds(elapsed) * weightPerSecond)
        if tokens >= weight {
          tokens -= weight
          return
        }
        try await Task.sleep(for: .seconds((weight - tokens) / weightPerSecond))
      }
    } catch {
      release()
      throw error
    }
  }

  func release() {
    inFlight -= 1
    if !waiters.isEmpty { waiters.removeFirst().resume() }
  }

  /// Stops every request for `seconds` (a 429 or 418 with `Retry-After`).
  func pause(seconds: Double) {
    let until = ContinuousClock.now + .seconds(seconds)
    if until > pausedUntil { pausedUntil = until }
  }
}

func seconds(_ duration: Duration) -> Double {
  let (s, attoseconds) = duration.components
  return Double(s) + Double(attoseconds) / 1e18
}

enum RestError: Error, CustomStringConvertible {
  case status(Int, String)
  case malformed(String)
  case gaveUp(String)

  var description: String {
    switch self {
    case .status(let code, let body): "HTTP \(code): \(body)"
    case .malformed(let what): "malformed response: \(what)"
    case .gaveUp(let why): why
    }
  }
}

/// Binance REST calls the feed makes: `exchangeInfo` and `klines`.
struct BinanceREST: Sendable {
  let baseURL: String
  let gate: RestGate
  let attempts: Int
  let stats: BinanceFeedStats
  let log: @Sendable (String) -> Void
  let client: HTTPClient

  /// GET `path`, honouring the gate, 429/418 `Retry-After`, and retrying network errors and
  /// 5xx with exponential back-off. Other statuses throw at once.
  func get(_ pathAndQuery: String, weight: Double, maxBytes: Int = 64 << 20) async throws -> Data {
    var failures = 0
    while true {
      try await gate.acquire(weight: weight)
      let outcome: Result<Data, any Error>
      var retryAfter: Double? = nil
      do {
        let request = HTTPClientRequest(url: baseURL + pathAndQuery)
        let response = try await client.execute(request, timeout: .seconds(30))
        let code = Int(response.status.code)
        if code == 429 || code == 418 {
          let header = response.headers.first(name: "Retry-After").flatMap { Double($0) }
          retryAfter = max(0.1, header ?? (code == 418 ? 120 : 30))
          outcome = .failure(RestError.status(code, "rate limited"))
        } else {
          var body = try await response.body.collect(upTo: maxBytes)
          let bytes = body.readBytes(length: body.readableBytes) ?? []
          if code == 200 {
            outcome = .success(Data(bytes))
          } else {
            let text = String(decoding: bytes.prefix(200), as: UTF8.self)
            outcome = .failure(RestError.status(code, text))
          }
        }
      } catch {
        outcome = .failure(error)
      }
      if let retryAfter {
        // Pause every request, not just this one: the limit is per IP.
        await gate.pause(seconds: retryAfter)
      }
      await gate.release()
      switch outcome {
      case .success(let data): return data
      case .failure(let error):
        try Task.checkCancellation()
        if let retryAfter {
          stats.update { $0.restBackoffs += 1 }
          log("binance: \(pathAndQuery): rate limited, retrying after \(retryAfter) s")
          continue
        }
        if case RestError.status(let code, _) = error, code < 500 { throw error }
        failures += 1
        if failures >= attempts {
          throw RestError.gaveUp("\(error) (after \(failures) attempts)")
        }
        let delay = min(30, 0.25 * Double(1 << min(failures, 8))) * Double.random(in: 0.5...1)
        try await Task.sleep(for: .seconds(delay))
      }
    }
  }

  /// Every TRADING spot symbol with quote asset `quote`, in `exchangeInfo` order.
  func symbols(quote: String) async throws -> [String] {
    let data = try await get("/api/v3/exchangeInfo", weight: 20)
    let info: ExchangeInfo
    do {
      info = try JSONDecoder().decode(ExchangeInfo.self, from: data)
    } catch {
      throw RestError.malformed("exchangeInfo: \(error)")
    }
    return info.symbols.filter {
      $0.status == "TRADING" && $0.quoteAsset == quote && $0.isSpotTradingAllowed != false
    }.map(\.symbol)
  }

  /// The last `limit` klines of `symbol` in `interval`, as Binance kline event messages.
  func klineMessages(symbol: String, interval: String, limit: Int) async throws -> [String] {
    stats.update { $0.klineRequests += 1 }
    let weight: Double = limit <= 100 ? 1 : limit <= 500 ? 2 : 5
    let data = try await get(
      "/api/v3/klines?symbol=\(symbol)&interval=\(interval)&limit=\(limit)", weight: weight)
    let rows: [RestKline]
    do {
      rows = try JSONDecoder().decode([RestKline].self, from: data)
    } catch {
      throw RestError.malformed("klines \(symbol) \(interval): \(error)")
    }
    let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    return rows.map { $0.message(symbol: symbol, interval: interval, now: now) }
  }
}

struct ExchangeInfo: Decodable {
  struct Symbol: Decodable {
    var symbol: String
    var status: String
    var quoteAsset: String
    var isSpotTradingAllowed: Bool?
  }
  var symbols: [Symbol]
}

/// One row of `/api/v3/klines`:
/// `[openTime, "o", "h", "l", "c", "v", closeTime, "q", n, "V", "Q", "B"]`.
struct RestKline: Decodable, Equatable {
  var openTime: Int64
  var open, high, low, close, volume: String
  var closeTime: Int64
  var quoteVolume: String
  var trades: Int64
  var takerBase, takerQuote: String

  init(from decoder: any Decoder) throws {
    var row = try decoder.unkeyedContainer()
    openTime = try row.decode(Int64.self)
    open = try row.decode(String.self)
    high = try row.decode(String.self)
    low = try row.decode(String.self)
    close = try row.decode(String.self)
    volume = try row.decode(String.self)
    closeTime = try row.decode(Int64.self)
    quoteVolume = try row.decode(String.self)
    trades = try row.decode(Int64.self)
    takerBase = try row.decode(String.self)
    takerQuote = try row.decode(String.self)
  }

  /// The kline event a WebSocket would have sent for this candle, at event time `now`; the
  /// candle is closed when its close time has passed.
  func message(symbol: String, interval: String, now: Int64) -> String {
    let s = jsonString(symbol)
    let i = jsonString(interval)
    return
      #"{"e":"kline","E":\#(now),"s":\#(s),"k":{"t":\#(openTime),"T":\#(closeTime),"s":\#(s),"i":\#(i),"#
      + #""o":\#(jsonString(open)),"c":\#(jsonString(close)),"h":\#(jsonString(high)),"#
      + #""l":\#(jsonString(low)),"v":\#(jsonString(volume)),"n":\#(trades),"x":\#(closeTime < now),"#
      + #""q":\#(jsonString(quoteVolume)),"V":\#(jsonString(takerBase)),"#
      + #""Q":\#(jsonString(takerQuote)),"B":"0"}}"#
  }
}

/// `value` as a JSON string literal.
func jsonString(_ value: String) -> String {
  var out = "\""
  for scalar in value.unicodeScalars {
    switch scalar {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\r": out += "\\r"
    case "\t": out += "\\t"
    default:
      if scalar.value < 0x20 {
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      } else {
        out.unicodeScalars.append(scalar)
      }
    }
  }
  return out + "\""
}
