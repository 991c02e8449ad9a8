import Feeds
import Foundation
import Testing

/// Start times: one in the middle of a minute, one on a minute boundary.
private let midMinuteStart: Int64 = 1_700_000_012_345
private let alignedStart: Int64 = 1_700_000_040_000

/// One parsed simulator line.
private struct SimMessage {
  var stream: String?
  var data: [String: Any]
  var kind: String { data["e"] as? String ?? "" }
  var symbol: String { data["s"] as? String ?? "" }
  var eventTime: Int64 { int(data["E"]) }
  var kline: [String: Any] { data["k"] as? [String: Any] ?? [:] }
}

private func int(_ v: Any?) -> Int64 {
  (v as? NSNumber)?.int64Value ?? Int64.min
}

private func num(_ v: Any?) -> Double {
  guard let s = v as? String, let d = Double(s) else { return .nan }
  return d
}

private func parse(_ line: String) throws -> SimMessage {
  let obj = try JSONSerialization.jsonObject(with: Data(line.utf8))
  guard let dict = obj as? [String: Any] else { throw SimTestError.notAnObject(line) }
  if let stream = dict["stream"] as? String {
    guard let data = dict["data"] as? [String: Any], dict.count == 2 else {
      throw SimTestError.badEnvelope(line)
    }
    return SimMessage(stream: stream, data: data)
  }
  return SimMessage(stream: nil, data: dict)
}

private enum SimTestError: Error {
  case notAnObject(String)
  case badEnvelope(String)
}

private func isPlainDecimal(_ s: String) -> Bool {
  s.wholeMatch(of: /-?[0-9]+(\.[0-9]+)?/) != nil
}

private func stepWindow(_ config: SimulatorConfig, _ n: Int) -> Range<Int64> {
  let w0 = config.startTime + Int64(n) * config.cycleMs
  return w0..<(w0 + config.cycleMs)
}

/// Wilder's RSI over the whole series; nil when there are fewer than `period + 1` closes.
private func rsi(_ closes: [Double], period: Int = 14) -> Double? {
  guard closes.count > period else { return nil }
  var gain = 0.0
  var loss = 0.0
  for j in 1...period {
    let d = closes[j] - closes[j - 1]
    if d > 0 { gain += d } else { loss -= d }
  }
  gain /= Double(period)
  loss /= Double(period)
  if closes.count > period + 1 {
    for j in (period + 1)..<closes.count {
      let d = closes[j] - closes[j - 1]
      gain = (gain * Double(period - 1) + max(d, 0)) / Double(period)
      loss = (loss * Double(period - 1) + max(-d, 0)) / Double(period)
    }
  }
  if loss == 0 { return 100 }
  return 100 - 100 / (1 + gain / loss)
}

/// Latest state of every 1m candle per symbol, keyed by open time.
private struct CandleBook {
  struct Candle {
    var o, h, l, c, v: Double
    var closed: Bool
  }
  var candles: [String: [Int64: Candle]] = [:]

  mutating func add(_ m: SimMessage) {
    guard m.kind == "kline" else { return }
    let k = m.kline
    let c = Candle(
      o: num(k["o"]), h: num(k["h"]), l: num(k["l"]), c: num(k["c"]), v: num(k["v"]),
      closed: k["x"] as? Bool ?? false)
    candles[m.symbol, default: [:]][int(k["t"])] = c
  }

  func series(_ symbol: String) -> [(t: Int64, candle: Candle)] {
    (candles[symbol] ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
  }
}

@Suite("MarketSimulator")
struct MarketSimulatorTests {
  @Test("symbol names are distinct, uppercase, end in USDT, BTC and ETH first")
  func names() {
    let sim = MarketSimulator(SimulatorConfig(symbols: 500, startTime: midMinuteStart))
    let names = sim.symbolNames
    #expect(names.count == 500)
    #expect(names[0] == "BTCUSDT")
    #expect(names[1] == "ETHUSDT")
    #expect(Set(names).count == names.count)
    for n in names {
      #expect(n.hasSuffix("USDT") && n.count > 4)
      #expect(n.utf8.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) })
    }
    #expect(names.contains("AAB0USDT"))
  }

  @Test("same config gives byte-identical output; another seed differs")
  func determinism() {
    let config = SimulatorConfig(symbols: 120, seed: 7, startTime: midMinuteStart)
    var a = MarketSimulator(config)
    var b = MarketSimulator(config)
    var other = config
    other.seed = 8
    var c = MarketSimulator(other)
    #expect(a.warmup() == b.warmup())
    var sameAsOther = a.symbolNames == c.symbolNames
    _ = c.warmup()
    for _ in 0..<90 {
      let la = a.nextStep()
      #expect(la == b.nextStep())
      sameAsOther = sameAsOther && la == c.nextStep()
    }
    #expect(!sameAsOther)

    // The warm-up does not consume randomness: the steps are the same without it.
    var d = MarketSimulator(config)
    var e = MarketSimulator(config)
    _ = d.warmup()
    for _ in 0..<5 { #expect(d.nextStep() == e.nextStep()) }
  }

  @Test("every line is valid JSON in Binance's format with plain decimal strings")
  func wireFormat() throws {
    for start in [midMinuteStart, alignedStart] {
      let config = SimulatorConfig(symbols: 60, seed: 3, historyCandles: 30, startTime: start)
      var sim = MarketSimulator(config)
      var lines = sim.warmup()
      for _ in 0..<130 { lines += sim.nextStep() }
      let names = Set(sim.symbolNames)
      var raw = 0
      var enveloped = 0
      let tickerStrings = [
        "p", "P", "w", "x", "c", "Q", "b", "B", "a", "A", "o", "h", "l", "v", "q",
      ]
      let klineStrings = ["o", "c", "h", "l", "v", "q", "V", "Q", "B"]
      for line in lines {
        let m = try parse(line)
        #expect(names.contains(m.symbol))
        #expect(m.eventTime != Int64.min)
        let suffix = m.kind == "kline" ? "@kline_1m" : "@ticker"
        if let stream = m.stream {
          enveloped += 1
          #expect(stream == m.symbol.lowercased() + suffix)
        } else {
          raw += 1
        }
        switch m.kind {
        case "24hrTicker":
          for key in tickerStrings {
            let s = m.data[key] as? String ?? "missing"
            #expect(isPlainDecimal(s), "\(key)=\(s) in \(line)")
            #expect(!s.hasPrefix("-") || Double(s) != 0, "negative zero \(key)=\(s)")
          }
          for key in ["O", "C", "F", "L", "n"] { #expect(int(m.data[key]) != Int64.min) }
          let (c, o, h, l) = (
            num(m.data["c"]), num(m.data["o"]), num(m.data["h"]), num(m.data["l"])
          )
          let (b, a, w) = (num(m.data["b"]), num(m.data["a"]), num(m.data["w"]))
          #expect(b < c && c < a, "\(line)")
          #expect(l <= min(o, c) && max(o, c) <= h, "\(line)")
          #expect(l <= w && w <= h)
          #expect(abs(num(m.data["p"]) - (c - o)) <= 1e-9 * max(1, c))
          #expect(abs(num(m.data["P"]) - 100 * (c - o) / o) <= 0.0051)
          #expect(int(m.data["C"]) == m.eventTime && int(m.data["O"]) == m.eventTime - 86_400_000)
          #expect(int(m.data["L"]) - int(m.data["F"]) + 1 == int(m.data["n"]))
          #expect(num(m.data["v"]) > 0 && num(m.data["q"]) > 0)
        case "kline":
          let k = m.kline
          for key in klineStrings {
            let s = k[key] as? String ?? "missing"
            #expect(isPlainDecimal(s), "\(key)=\(s) in \(line)")
          }
          #expect(k["s"] as? String == m.symbol)
          #expect(k["i"] as? String == "1m")
          #expect(k["x"] is Bool)
          let t = int(k["t"])
          #expect(t % 60_000 == 0)
          #expect(int(k["T"]) == t + 59_999)
          let (o, c, h, l) = (num(k["o"]), num(k["c"]), num(k["h"]), num(k["l"]))
          #expect(l <= min(o, c) && max(o, c) <= h && l > 0, "\(line)")
          #expect(num(k["V"]) <= num(k["v"]) && num(k["Q"]) <= num(k["q"]))
          let n = int(k["n"])
          if n > 0 {
            #expect(int(k["L"]) - int(k["f"]) + 1 == n)
          } else {
            #expect(int(k["f"]) == -1 && int(k["L"]) == -1)
          }
        default:
          Issue.record("unexpected event type in \(line)")
        }
      }
      #expect(raw > 0 && enveloped > 5 * raw)
    }
  }

  @Test(
    "event times lie in the step window and never decrease", arguments: [Int64(1000), 250, 7000])
  func eventTimes(cycleMs: Int64) throws {
    for start in [midMinuteStart, alignedStart] {
      let config = SimulatorConfig(
        symbols: 80, seed: 11, cycleMs: cycleMs, historyCandles: 5, startTime: start)
      var sim = MarketSimulator(config)
      for line in sim.warmup() {
        #expect(try parse(line).eventTime == start)
      }
      for n in 0..<150 {
        let window = stepWindow(config, n)
        var last = Int64.min
        for line in sim.nextStep() {
          let e = try parse(line).eventTime
          #expect(window.contains(e), "step \(n): E=\(e) outside \(window)")
          #expect(e >= last)
          last = e
        }
      }
    }
  }

  @Test("warm-up: history candles per symbol in order, closed before startTime, then one ticker")
  func warmup() throws {
    for (start, count) in [(midMinuteStart, 120), (alignedStart, 120), (midMinuteStart, 7)] {
      let config = SimulatorConfig(symbols: 40, historyCandles: count, startTime: start)
      var sim = MarketSimulator(config)
      let lines = sim.warmup()
      #expect(lines.count == 40 * (count + 1))
      let currentMinute = start - start % 60_000
      var i = 0
      for name in sim.symbolNames {
        var lastT = Int64.min
        for j in 0..<count {
          let m = try parse(lines[i])
          i += 1
          #expect(m.kind == "kline" && m.symbol == name)
          let t = int(m.kline["t"])
          #expect(m.kline["x"] as? Bool == true)
          #expect(t > lastT)
          if lastT != Int64.min { #expect(t == lastT + 60_000) }
          lastT = t
          if j == count - 1 {
            #expect(t == currentMinute - 60_000)
            #expect(int(m.kline["T"]) < start)
          }
        }
        let ticker = try parse(lines[i])
        i += 1
        #expect(ticker.kind == "24hrTicker" && ticker.symbol == name)
      }
    }
  }

  @Test("minute boundaries close every candle first; candles match the ticks in them")
  func candlesFollowTicks() throws {
    let config = SimulatorConfig(
      symbols: 100, seed: 5, historyCandles: 3, startTime: midMinuteStart)
    var sim = MarketSimulator(config)
    _ = sim.warmup()
    var openMinute = midMinuteStart - midMinuteStart % 60_000
    var ticks: [String: [Double]] = [:]  // ticker prices in the open minute
    var finals = 0
    for _ in 0..<200 {
      var closedThisStep: Set<String> = []
      for line in sim.nextStep() {
        let m = try parse(line)
        if m.kind == "24hrTicker" {
          #expect(m.eventTime >= openMinute && m.eventTime < openMinute + 60_000)
          ticks[m.symbol, default: []].append(num(m.data["c"]))
          continue
        }
        let k = m.kline
        let t = int(k["t"])
        if k["x"] as? Bool == true {
          finals += 1
          #expect(t == openMinute)
          #expect(m.eventTime == t + 60_000)
          closedThisStep.insert(m.symbol)
          let (o, c, h, l) = (num(k["o"]), num(k["c"]), num(k["h"]), num(k["l"]))
          if let prices = ticks[m.symbol], let last = prices.last {
            #expect(c == last)
            #expect(h >= prices.max()! && l <= prices.min()!)
            #expect(int(k["n"]) > 0)
          } else {
            #expect(o == c && h == c && l == c && int(k["n"]) == 0 && num(k["v"]) == 0)
          }
          if closedThisStep.count == sim.symbolNames.count {
            openMinute += 60_000
            ticks = [:]
          }
        } else {
          #expect(t == openMinute)
        }
      }
      // A boundary closes every symbol's candle, all at once.
      #expect(closedThisStep.isEmpty || closedThisStep.count == sim.symbolNames.count)
    }
    #expect(finals == 3 * 100)  // 200 s from 12.345 s past a minute crosses 3 boundaries
  }

  @Test("churn varies: mostly partial steps, some mass updates, some nearly quiet")
  func churn() throws {
    var sim = MarketSimulator(SimulatorConfig(symbols: 500, startTime: midMinuteStart))
    _ = sim.warmup()
    var shares: [Double] = []
    for _ in 0..<100 {
      var symbols: Set<String> = []
      for line in sim.nextStep() {
        // Cheap symbol extraction: the payload's "s" field.
        guard let r = line.range(of: "\"s\":\"") else { continue }
        let rest = line[r.upperBound...]
        symbols.insert(String(rest.prefix { $0 != "\"" }))
      }
      shares.append(Double(symbols.count) / 500)
    }
    #expect(shares.contains { $0 < 0.35 })
    #expect(shares.contains { $0 > 0.60 })
    #expect(shares.contains { $0 < 0.05 })
    #expect(shares.filter { $0 >= 0.05 && $0 <= 0.35 }.count >= 50)
    #expect(shares.filter { $0 > 0.6 }.count <= 20)
  }

  @Test(
    "example strategies fire within a minute on 500 symbols",
    arguments: zip([UInt64(42), 7], [midMinuteStart, alignedStart]))
  func signalsWithinAMinute(seed: UInt64, start: Int64) throws {
    let config = SimulatorConfig(symbols: 500, seed: seed, startTime: start)
    var sim = MarketSimulator(config)
    var book = CandleBook()
    var lastPct: [String: Double] = [:]
    var maxPct = -Double.infinity
    var minPct = Double.infinity
    func take(_ lines: [String]) throws {
      for line in lines {
        let m = try parse(line)
        if m.kind == "24hrTicker" {
          let p = num(m.data["P"])
          lastPct[m.symbol] = p
          maxPct = max(maxPct, p)
          minPct = min(minPct, p)
        } else {
          book.add(m)
        }
      }
    }
    try take(sim.warmup())
    for _ in 0..<60 { try take(sim.nextStep()) }

    #expect(maxPct > 5)
    #expect(minPct < -5)
    #expect(lastPct.values.filter { $0 > 5 }.count >= 5)
    #expect(lastPct.values.filter { $0 < -5 }.count >= 5)

    let firstLive = start - start % 60_000
    var volumeSpikes: Set<String> = []
    var oversold: Set<String> = []
    var breakouts: Set<String> = []
    for name in sim.symbolNames {
      let series = book.series(name)
      for j in series.indices where series[j].t >= firstLive && j >= 20 {
        let prev = series[(j - 20)..<j]
        let avgVolume = prev.reduce(0) { $0 + $1.candle.v } / 20
        if series[j].candle.v > 3 * avgVolume { volumeSpikes.insert(name) }
        if series[j].candle.c > prev.map(\.candle.h).max()! { breakouts.insert(name) }
      }
      if let value = rsi(series.map(\.candle.c)), value < 30 { oversold.insert(name) }
    }
    #expect(!volumeSpikes.isEmpty)
    #expect(!oversold.isEmpty)
    #expect(!breakouts.isEmpty)
    // A handful, not everything.
    #expect(volumeSpikes.count < 150 && oversold.count < 150 && breakouts.count < 250)
  }

  @Test("regimes start and end: symbols enter and leave matches over time")
  func regimesComeAndGo() throws {
    let config = SimulatorConfig(symbols: 200, seed: 9, historyCandles: 20, startTime: alignedStart)
    var sim = MarketSimulator(config)
    var book = CandleBook()
    for line in sim.warmup() { book.add(try parse(line)) }
    var spikesByMinute: [Set<String>] = []
    for minute in 0..<12 {
      for _ in 0..<60 {
        for line in sim.nextStep() where line.contains("kline") { book.add(try parse(line)) }
      }
      let t = alignedStart + Int64(minute) * 60_000
      var spikes: Set<String> = []
      for name in sim.symbolNames {
        guard let candles = book.candles[name], let c = candles[t] else { continue }
        let prev = (1...20).compactMap { candles[t - Int64($0) * 60_000]?.v }
        guard prev.count == 20 else { continue }
        if c.v > 3 * prev.reduce(0, +) / 20 { spikes.insert(name) }
      }
      spikesByMinute.append(spikes)
    }
    let first = spikesByMinute[0]
    let everyone = spikesByMinute.reduce(Set<String>()) { $0.union($1) }
    #expect(!first.isEmpty)
    #expect(everyone.count > first.count)  // new symbols start spiking
    #expect(!first.isSubset(of: spikesByMinute[11]))  // and earlier ones calm down
  }
}
