import Foundation
import Synchronization
import Testing

@testable import Tracking

func ticker(_ symbol: String, _ time: Int64, price: Double, mini: Bool = false) -> MarketEvent {
  var f = TickerFields()
  f.price = price
  f.open = price - 1
  f.high = price + 1
  f.low = price - 2
  f.volume = price * 10
  f.quoteVolume = price * 100
  if !mini {
    f.change = 1
    f.changePct = 2
    f.vwap = price
    f.bid = price - 0.5
    f.ask = price + 0.5
  }
  return .ticker(TickerEvent(symbol: symbol, eventTime: time, isMini: mini, fields: f))
}

func kline(_ symbol: String, _ openTime: Int64, close: Double, interval: String = "1m")
  -> MarketEvent
{
  .kline(
    KlineEvent(
      symbol: symbol, eventTime: openTime + 1, interval: interval, openTime: openTime, open: close,
      high: close + 1, low: close - 1, close: close, volume: 10, isClosed: false))
}

@Suite("Market store")
struct MarketStoreTests {
  @Test("symbols intern to dense indices, both ways")
  func interning() {
    var table = SymbolTable(capacity: 3)
    #expect(table.intern("BTCUSDT") == 0)
    #expect(table.intern("ETHUSDT") == 1)
    #expect(table.intern("BTCUSDT") == 0)
    #expect(table.index(of: "ETHUSDT") == 1)
    #expect(table.name(at: 1) == "ETHUSDT")
    #expect(table.intern("C") == 2)
    #expect(table.intern("D") == nil)
  }

  @Test("a symbol past max_symbols is a clear error for that symbol, and the rest go on")
  func capacity() {
    let store = MarketStore(maxSymbols: 2, maxCandles: 10)
    _ = store.apply(ticker("A", 1, price: 1))
    _ = store.apply(ticker("B", 1, price: 1))
    let result = store.apply(ticker("C", 1, price: 1))
    #expect(result == .failure(.tooManySymbols("C", capacity: 2)))
    #expect("\(MarketStore.ApplyError.tooManySymbols("C", capacity: 2))".contains("max_symbols"))
    #expect(store.apply(ticker("A", 2, price: 5)) == .success(.changed(0)))
    #expect(store.ticker(0).fields.price == 5)
    #expect(store.symbolsRejected == 1)
  }

  @Test("a mini ticker derives change and change_pct and keeps vwap, bid and ask")
  func miniTicker() {
    let store = MarketStore(maxSymbols: 4, maxCandles: 10)
    _ = store.apply(ticker("A", 1, price: 100))
    _ = store.apply(ticker("A", 2, price: 110, mini: true))
    let t = store.ticker(0)
    #expect(t.fields.price == 110)
    #expect(t.fields.change == 1)  // 110 - 109
    #expect(abs(t.fields.changePct - 100.0 / 109.0) < 1e-12)
    #expect(t.fields.vwap == 100)
    #expect(t.fields.bid == 99.5)
    #expect(t.time == 2)
  }

  @Test("a mini ticker first leaves vwap, bid and ask unset")
  func miniFirst() {
    let store = MarketStore(maxSymbols: 4, maxCandles: 10)
    _ = store.apply(ticker("A", 1, price: 100, mini: true))
    #expect(store.ticker(0).fields.vwap.isNaN)
    #expect(store.ticker(0).fields.bid.isNaN)
    #expect(store.ticker(0).hasTicker)
  }

  @Test("klines: same open time replaces, later appends, earlier is ignored and counted")
  func klineRules() {
    let store = MarketStore(maxSymbols: 4, maxCandles: 3)
    _ = store.apply(kline("A", 60_000, close: 1))
    _ = store.apply(kline("A", 60_000, close: 2))
    #expect(store.candleCount(0, interval: 0) == 1)
    #expect(store.series(0, interval: 0)?.value(.close, at: 0) == 2)
    for i in 2...5 { _ = store.apply(kline("A", Int64(i) * 60_000, close: Double(i))) }
    let s = store.series(0, interval: 0)
    #expect(s?.count == 3)
    #expect((0..<3).map { s?.value(.close, at: $0) } == [3, 4, 5])
    #expect(store.apply(kline("A", 60_000, close: 9)) == .success(.ignored))
    #expect(store.klinesIgnored == 1)
  }

  @Test(
    "a long series keeps the newest max_candles, contiguous, oldest first",
    arguments: [1, 2, 7, 500])
  func slidingWindow(limit: Int) {
    var series = KlineSeries(limit: limit)
    defer { series.deallocate() }
    for i in 0..<(limit * 5 + 3) {
      _ = series.apply(
        openTime: Int64(i), open: Double(i), high: Double(i), low: Double(i), close: Double(i),
        volume: Double(i))
      let n = min(i + 1, limit)
      #expect(series.count == n)
      // The newest candle reaches storage lazily; `value(_:at:)` reads it either way.
      #expect(series.value(.close, at: n - 1) == Double(i))
      #expect(series.pending)
      series.materialize()
      #expect(!series.pending)
      let closes = series.values(.close)
      #expect(closes[n - 1] == Double(i))
      #expect(closes[0] == Double(i + 1 - n))
    }
  }

  @Test("rate limiting defers a symbol evaluated too recently, never drops it")
  func rateLimit() {
    var limiter = RateLimiter(minInterval: 100)
    #expect(limiter.allows(3, at: 1000))
    limiter.recordEvaluation(3, at: 1000)
    #expect(!limiter.allows(3, at: 1050))
    #expect(limiter.allows(3, at: 1100))
    #expect(limiter.allows(4, at: 1050))
  }

  @Test("the update ring keeps the last 100 events, oldest first, and nothing when off")
  func ring() {
    let on = UpdateRing(enabled: true)
    for i in 0..<250 { on.record(symbol: "S\(i)", time: Int64(i), kind: .ticker) }
    let entries = on.snapshot()
    #expect(entries.count == 100)
    #expect(entries.first?.time == 150)
    #expect(entries.last?.time == 249)
    #expect(on.dump().contains("249 S249 ticker"))
    let off = UpdateRing(enabled: false)
    off.record(symbol: "X", time: 1, kind: .kline)
    #expect(off.snapshot().isEmpty)
  }

  /// A writer thread applies ticks whose fields all derive from one number n (price n,
  /// volume 10n, ...) and whose candles carry n in every column, in the write phase, while
  /// reader threads read whole symbols in the read phase. A reader that saw half of one tick
  /// and half of the next would find two different n in one symbol.
  @Test("readers never see a torn symbol while a writer applies ticks")
  func noTornReads() {
    let symbols = 64
    let store = MarketStore(maxSymbols: symbols, maxCandles: 50)
    for s in 0..<symbols {
      _ = store.apply(ticker("S\(s)", 0, price: 1))
      _ = store.apply(tick(symbol: s, n: 1))
    }
    let stop = Atomic<Bool>(false)
    let torn = Atomic<Int>(0)
    let reads = Atomic<Int>(0)
    let finished = Atomic<Int>(0)
    let readers = 3
    for r in 0..<readers {
      Thread {
        var s = Int32(r)
        while !stop.load(ordering: .acquiring) {
          store.phase.withReadPhase {
            let t = store.ticker(s).fields
            let n = t.price
            var ok = t.volume == n * 10 && t.quoteVolume == n * 100 && t.high == n + 1
            if let series = store.series(s, interval: 0) {
              let last = series.count - 1
              ok =
                ok && series.value(.close, at: last) == n && series.value(.open, at: last) == n
                && series.value(.volume, at: last) == n
            }
            if !ok { torn.add(1, ordering: .relaxed) }
          }
          reads.add(1, ordering: .relaxed)
          s = (s + 1) % Int32(symbols)
        }
        finished.add(1, ordering: .releasing)
      }.start()
    }
    var n = 2.0
    while reads.load(ordering: .relaxed) < 200_000 {
      store.phase.withWritePhase {
        for s in 0..<symbols {
          _ = store.apply(ticker("S\(s)", Int64(n), price: n))
          _ = store.apply(tick(symbol: s, n: n))
        }
      }
      n += 1
    }
    stop.store(true, ordering: .releasing)
    while finished.load(ordering: .acquiring) < readers { usleep(1000) }
    #expect(torn.load(ordering: .relaxed) == 0)
    #expect(n > 3)
  }

  private func tick(symbol s: Int, n: Double) -> MarketEvent {
    .kline(
      KlineEvent(
        symbol: "S\(s)", eventTime: Int64(n), interval: "1m", openTime: Int64(n) / 3 * 60_000,
        open: n, high: n, low: n, close: n, volume: n, isClosed: false))
  }
}

@Suite("Event names")
struct EventNameTests {
  /// Names of every length around the inline capacity, some with bytes that look like padding.
  static let names: [String] = [
    "", "A", "A\u{0}", "BTCUSDT", "1m", "1M", "15m", String(repeating: "X", count: 30),
    String(repeating: "Y", count: 31), String(repeating: "Y", count: 32),
    String(repeating: "Y", count: 31) + "\u{0}", String(repeating: "Z", count: 100),
    "ÄÖÜ€USDT", String(repeating: "é", count: 16), String(repeating: "é", count: 15) + "e",
  ]

  @Test("round trip, and equal exactly when the names are equal (inline and long)")
  func roundTrip() {
    for a in Self.names {
      let n = EventName(a)
      #expect(n.string == a)
      #expect(n.utf8Count == a.utf8.count)
      #expect(n.isLong == (a.utf8.count > EventName.inlineCapacity))
      var copy = a
      let fromBytes = copy.withUTF8 { EventName(utf8: UnsafeRawBufferPointer($0)) }
      #expect(fromBytes == n)
      #expect(fromBytes.bitsHash == n.bitsHash)
      for b in Self.names {
        #expect(
          (EventName(a) == EventName(b)) == (a == b),
          "\(a.debugDescription) vs \(b.debugDescription)")
      }
    }
  }

  @Test("names past the inline capacity: tracked by the store like any other")
  func longNamesInTheStore() {
    let store = MarketStore(maxSymbols: 8, maxCandles: 10)
    let long1 = String(repeating: "L", count: 40) + "USDT"
    let long2 = String(repeating: "L", count: 41) + "USDT"
    let edge = String(repeating: "E", count: 31)
    let longInterval = "interval-" + String(repeating: "i", count: 40)
    var indices: [Int32] = []
    for (i, name) in [long1, long2, edge, long1].enumerated() {
      guard case .success(.changed(let s)) = store.apply(ticker(name, Int64(i), price: 1)) else {
        Issue.record("ticker for \(name) not applied")
        return
      }
      indices.append(s)
    }
    #expect(indices == [0, 1, 2, 0])
    #expect(store.name(of: 0) == long1)
    #expect(store.name(of: 1) == long2)
    #expect(store.name(of: 2) == edge)
    #expect(
      store.apply(kline(long2, 60_000, close: 5, interval: longInterval)) == .success(.changed(1)))
    #expect(store.intervals == [longInterval])
    #expect(store.series(1, interval: 0)?.count == 1)
  }

  @Test("a long name past the process's table is refused with a clear error; the rest go on")
  func overflow() {
    let store = MarketStore(maxSymbols: 8, maxCandles: 10)
    var f = TickerFields()
    f.price = 1
    let refused = store.apply(
      .ticker(TickerEvent(symbolName: .overflow, eventTime: 1, isMini: false, fields: f)))
    #expect(refused == .failure(.tooManyLongNames))
    #expect("\(MarketStore.ApplyError.tooManyLongNames)".contains("over 31 bytes"))
    #expect(store.symbolCount == 0)
    #expect(store.apply(ticker("BTCUSDT", 2, price: 1)) == .success(.changed(0)))
    let kline = KlineEvent(
      symbolName: "BTCUSDT", eventTime: 3, intervalName: .overflow, openTime: 0, open: 1, high: 1,
      low: 1, close: 1, volume: 1, isClosed: false)
    #expect(store.apply(.kline(kline)) == .failure(.tooManyLongNames))
    #expect(store.intervalCount == 0)
  }
}

@Suite("Events read in place")
struct EventsInPlaceTests {
  @Test("this platform keeps payloads unchanged at the event's address (the fast path is on)")
  func fastPathOn() {
    #expect(MarketEvent.payloadsInPlace)
    #expect(MarketStore(maxSymbols: 1, maxCandles: 1).payloadsInPlace)
  }

  @Test("reading events in place and from a copy give the same store, event by event")
  func bothPathsAgree() {
    var rng = SystemRandomNumberGenerator()
    let names = ["BTCUSDT", "ETHUSDT", String(repeating: "L", count: 40), "X"]
    var events: [MarketEvent] = []
    for i in 0..<3000 {
      let name = names[Int.random(in: 0..<names.count, using: &rng)]
      let price = Double.random(in: 1...100, using: &rng)
      switch Int.random(in: 0..<4, using: &rng) {
      case 0: events.append(ticker(name, Int64(i), price: price))
      case 1: events.append(ticker(name, Int64(i), price: price, mini: true))
      default:
        let interval = Bool.random(using: &rng) ? "1m" : "5m"
        // Open times that repeat, advance and sometimes go back (ignored).
        let open = Int64(i / 7 + Int.random(in: -2...0, using: &rng)) * 60_000
        events.append(kline(name, open, close: price, interval: interval))
      }
    }
    let fast = MarketStore(maxSymbols: 8, maxCandles: 50, payloadsInPlace: true)
    let copied = MarketStore(maxSymbols: 8, maxCandles: 50, payloadsInPlace: false)
    events.withUnsafeBufferPointer { buffer in
      for i in buffer.indices {
        let e = buffer.baseAddress! + i
        #expect(MarketEvent.eventTime(at: e, inPlace: true) == e.pointee.eventTime)
        #expect(MarketEvent.eventTime(at: e, inPlace: false) == e.pointee.eventTime)
        #expect(fast.apply(at: e) == copied.apply(at: e))
      }
    }
    #expect(fast.symbols.names == copied.symbols.names)
    #expect(fast.intervals == copied.intervals)
    for s in 0..<Int32(fast.symbolCount) {
      #expect(fast.ticker(s).fields == copied.ticker(s).fields)
      #expect(fast.ticker(s).time == copied.ticker(s).time)
      #expect(fast.version(s) == copied.version(s))
      for iv in 0..<fast.intervalCount {
        let a = fast.series(s, interval: iv)
        let b = copied.series(s, interval: iv)
        #expect(a?.count == b?.count)
        #expect(a?.newestOpenTime == b?.newestOpenTime)
        for c in KlineSeries.Column.allCases where a != nil {
          #expect(a?.newest(c) == b?.newest(c))
        }
      }
    }
    #expect(fast.klinesIgnored == copied.klinesIgnored && fast.klinesIgnored > 0)
  }
}

@Suite("Closed candles")
struct ClosedCandleTests {
  @Test("a candle closes by x: true once, or by the next candle's arrival")
  func closes() {
    var s = KlineSeries(limit: 3)
    defer { s.deallocate() }
    #expect(s.closes == 0)
    _ = s.apply(openTime: 0, open: 1, high: 1, low: 1, close: 1, volume: 1)
    _ = s.apply(openTime: 0, open: 1, high: 2, low: 1, close: 2, volume: 1)
    #expect(s.closes == 0 && !s.newestClosed)
    _ = s.apply(openTime: 0, open: 1, high: 2, low: 1, close: 2, volume: 1, isClosed: true)
    _ = s.apply(openTime: 0, open: 1, high: 2, low: 1, close: 2, volume: 1, isClosed: true)
    #expect(s.closes == 1 && s.newestClosed)
    // The next candle: the previous one said so already.
    _ = s.apply(openTime: 60, open: 2, high: 2, low: 2, close: 2, volume: 1)
    #expect(s.closes == 1 && !s.newestClosed)
    // A candle that never said so closes when a newer one arrives.
    _ = s.apply(openTime: 120, open: 2, high: 2, low: 2, close: 2, volume: 1)
    #expect(s.closes == 2)
    // An older candle is ignored and changes nothing.
    #expect(
      s.apply(openTime: 0, open: 9, high: 9, low: 9, close: 9, volume: 9, isClosed: true)
        == .ignored)
    #expect(s.closes == 2 && !s.newestClosed)
  }
}
