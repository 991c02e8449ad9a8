import Foundation
import Indicators

/// OHLCV columns of one fixture data set (oldest first).
struct OHLCV: Sendable {
  var open: [Double] = []
  var high: [Double] = []
  var low: [Double] = []
  var close: [Double] = []
  var volume: [Double] = []
}

/// One expected value: the last element of TA-Lib's output (nil when TA-Lib gave none).
struct ExpectedCase: Sendable, CustomStringConvertible {
  let dataset: String
  let indicator: String
  let output: String
  let params: [Double]
  let length: Int
  let expected: Double?

  var description: String {
    "\(dataset) \(indicator).\(output)(\(params.map { "\($0)" }.joined(separator: ","))) L=\(length)"
  }
}

enum FixtureError: Error { case missing(String), malformed(String) }

/// Fixtures written by Fixtures/generate.py (TA-Lib via its Python wrapper).
struct Fixtures: Sendable {
  let datasets: [String: OHLCV]
  let cases: [ExpectedCase]

  static let shared: Fixtures = {
    do { return try load() } catch { fatalError("cannot load fixtures: \(error)") }
  }()

  static func directory() throws -> URL {
    if let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) { return url }
    // Fallback: next to this source file.
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
      "Fixtures")
    guard FileManager.default.fileExists(atPath: url.path) else {
      throw FixtureError.missing(url.path)
    }
    return url
  }

  static func csvRows(_ url: URL) throws -> [[Substring]] {
    let text = try String(contentsOf: url, encoding: .utf8)
    var rows = text.split(whereSeparator: \.isNewline)
      .map { $0.split(separator: ",", omittingEmptySubsequences: false) }
    rows.removeFirst()  // header
    return rows
  }

  static func number(_ s: Substring) throws -> Double {
    guard let v = Double(String(s)) else { throw FixtureError.malformed(String(s)) }
    return v
  }

  static func load() throws -> Fixtures {
    let dir = try directory()
    let cases = try csvRows(dir.appendingPathComponent("expected.csv")).map { r -> ExpectedCase in
      guard r.count == 6, let length = Int(r[4]) else {
        throw FixtureError.malformed(r.joined(separator: ","))
      }
      let params = try r[3].split(separator: ";").map(number)
      let expected: Double? = r[5] == "nan" ? nil : try number(r[5])
      return ExpectedCase(
        dataset: String(r[0]), indicator: String(r[1]), output: String(r[2]),
        params: params, length: length, expected: expected)
    }
    var datasets: [String: OHLCV] = [:]
    for name in Set(cases.map(\.dataset)) {
      var d = OHLCV()
      for r in try csvRows(dir.appendingPathComponent("ohlcv_\(name).csv")) {
        guard r.count == 5 else { throw FixtureError.malformed(r.joined(separator: ",")) }
        d.open.append(try number(r[0]))
        d.high.append(try number(r[1]))
        d.low.append(try number(r[2]))
        d.close.append(try number(r[3]))
        d.volume.append(try number(r[4]))
      }
      datasets[name] = d
    }
    return Fixtures(datasets: datasets, cases: cases)
  }
}

/// Runs the Swift implementation for one fixture case on the first `length` rows.
func compute(_ c: ExpectedCase, _ d: OHLCV) -> Double? {
  let L = c.length
  let p = c.params.map { Int($0) }
  return d.high[..<L].withUnsafeBufferPointer { h in
    d.low[..<L].withUnsafeBufferPointer { l in
      d.close[..<L].withUnsafeBufferPointer { x in
        d.volume[..<L].withUnsafeBufferPointer { v in
          switch c.indicator {
          case "SMA": return TA.sma(x, p[0])
          case "EMA": return TA.ema(x, p[0])
          case "RSI": return TA.rsi(x, p[0])
          case "STDDEV": return TA.stddev(x, p[0])
          case "MAX": return TA.highest(x, p[0])
          case "MIN": return TA.lowest(x, p[0])
          case "WMA": return TA.wma(x, p[0])
          case "ROC": return TA.roc(x, p[0])
          case "ATR": return TA.atr(high: h, low: l, close: x, p[0])
          case "ADX": return TA.adx(high: h, low: l, close: x, p[0])
          case "CCI": return TA.cci(high: h, low: l, close: x, p[0])
          case "WILLR": return TA.willr(high: h, low: l, close: x, p[0])
          case "MFI": return TA.mfi(high: h, low: l, close: x, volume: v, p[0])
          case "OBV": return TA.obv(close: x, volume: v)
          case "VWAP": return TA.vwap(high: h, low: l, close: x, volume: v)
          case "MACD":
            guard let r = TA.macd(x, fast: p[0], slow: p[1], signal: p[2]) else { return nil }
            switch c.output {
            case "macd": return r.macd
            case "signal": return r.signal
            default: return r.histogram
            }
          case "BBANDS":
            guard let r = TA.bbands(x, p[0], c.params[1]) else { return nil }
            switch c.output {
            case "upper": return r.upper
            case "middle": return r.middle
            default: return r.lower
            }
          case "STOCH":
            guard let r = TA.stoch(high: h, low: l, close: x, fastK: p[0], slowK: p[1], slowD: p[2])
            else { return nil }
            return c.output == "k" ? r.k : r.d
          default:
            fatalError("unknown indicator \(c.indicator)")
          }
        }
      }
    }
  }
}

/// Tolerance scale: max(1, |expected|, largest |high|, |low|, |close| of the rows used).
func scale(_ c: ExpectedCase, _ d: OHLCV) -> Double {
  var m = max(1.0, (c.expected ?? 0).magnitude)
  for i in 0..<c.length {
    m = max(m, d.high[i].magnitude, d.low[i].magnitude, d.close[i].magnitude)
  }
  return m
}
