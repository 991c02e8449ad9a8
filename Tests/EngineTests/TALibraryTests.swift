import CLua
import CLuaHost
import Indicators
import Testing
import Tracking

@testable import Engine
@testable import Evaluation

@Suite("The ta library in Lua")
struct TALibraryTests {
  /// A store with one symbol and `count` 1m candles of a deterministic random walk.
  static func store(count: Int) -> MarketStore {
    let store = MarketStore(maxSymbols: 4, maxCandles: 500)
    var rng = SplitMix(seed: 99)
    var price = 100.0
    for i in 0..<count {
      let open = price
      price *= 1 + (Double(rng.next() % 2001) - 1000) / 50_000
      let high = max(open, price) * (1 + Double(rng.next() % 100) / 10_000)
      let low = min(open, price) * (1 - Double(rng.next() % 100) / 10_000)
      _ = store.apply(
        .kline(
          KlineEvent(
            symbol: "XUSDT", eventTime: 1, interval: "1m", openTime: Int64(i) * 60_000, open: open,
            high: high, low: low, close: price, volume: Double(rng.next() % 1000 + 1),
            isClosed: true)))
    }
    var f = TickerFields()
    f.price = price
    _ = store.apply(.ticker(TickerEvent(symbol: "XUSDT", eventTime: 1, isMini: false, fields: f)))
    return store
  }

  /// Runs `body` (Lua returning one value) as a filter's info on the store's symbol.
  static func evaluate(_ body: String, store: MarketStore) throws -> Outcome {
    let runtime = try StrategyRuntime(store: store, limits: SandboxLimits())
    let source = """
      return { timeframes = { "1m" }, min_candles = 1, filter = function(s)
        local k = s.klines["1m"]
        return true, (function() \(body) end)()
      end }
      """
    let compiled = try runtime.compile(
      StrategySource(id: "t", path: "Strategies/t.lua", source: source))
    runtime.install([compiled])
    runtime.prepareView(0)
    return runtime.evaluate(0, symbol: 0)
  }

  static func number(_ outcome: Outcome) -> Double? {
    if case .match(let info) = outcome {
      switch info {
      case .number(let v): return v
      case .integer(let v): return Double(v)
      default: return nil
      }
    }
    return nil
  }

  @Test(
    "each function returns exactly what Indicators.TA gives on the store's columns",
    arguments: [20, 300])
  func matchesNative(count: Int) throws {
    let store = Self.store(count: count)
    store.materializeNewest(0, interval: 0)
    let s = try #require(store.series(0, interval: 0))
    func col(_ c: KlineSeries.Column) -> UnsafeBufferPointer<Double> {
      UnsafeBufferPointer(start: s.values(c), count: s.count)
    }
    let close = col(.close)
    let h = col(.high)
    let l = col(.low)
    let v = col(.volume)
    let cases: [(String, Double?)] = [
      ("return ta.sma(k.close, 14)", TA.sma(close, 14)),
      ("return ta.ema(k.close, 9)", TA.ema(close, 9)),
      ("return ta.rsi(k.close, 14)", TA.rsi(close, 14)),
      ("return ta.stddev(k.close, 20)", TA.stddev(close, 20)),
      ("return ta.highest(k.high, 20)", TA.highest(h, 20)),
      ("return ta.lowest(k.low, 20)", TA.lowest(l, 20)),
      ("return ta.roc(k.close, 10)", TA.roc(close, 10)),
      ("return ta.wma(k.close, 10)", TA.wma(close, 10)),
      (
        "return (select(2, ta.macd(k.close, 12, 26, 9)))",
        TA.macd(close, fast: 12, slow: 26, signal: 9)?.signal
      ),
      ("return (select(3, ta.bbands(k.close, 20, 2)))", TA.bbands(close, 20, 2)?.lower),
      ("return ta.atr(k, 14)", TA.atr(high: h, low: l, close: close, 14)),
      ("return ta.adx(k, 14)", TA.adx(high: h, low: l, close: close, 14)),
      ("return ta.vwap(k)", TA.vwap(high: h, low: l, close: close, volume: v)),
      ("return ta.obv(k)", TA.obv(close: close, volume: v)),
      ("return ta.mfi(k, 14)", TA.mfi(high: h, low: l, close: close, volume: v, 14)),
      ("return ta.cci(k, 20)", TA.cci(high: h, low: l, close: close, 20)),
      ("return ta.willr(k, 14)", TA.willr(high: h, low: l, close: close, 14)),
      (
        "return (select(2, ta.stoch(k)))",
        TA.stoch(high: h, low: l, close: close, fastK: 5, slowK: 3, slowD: 3)?.d
      ),
    ]
    for (body, expected) in cases {
      let outcome = try Self.evaluate(body, store: store)
      if let expected {
        #expect(Self.number(outcome) == expected, "\(body)")
      } else if case .match(let info) = outcome {
        #expect(info == nil, "\(body) should be nil on \(count) candles")
      } else {
        Issue.record("\(body): \(outcome)")
      }
    }
  }

  @Test("a list of numbers works as input, and crossover sees the last two values")
  func listsAndCrossings() throws {
    let store = Self.store(count: 30)
    #expect(Self.number(try Self.evaluate("return ta.sma({1, 2, 3, 4}, 2)", store: store)) == 3.5)
    let up = try Self.evaluate("return ta.crossover({1, 3}, {2, 2}) and 1 or 0", store: store)
    #expect(Self.number(up) == 1)
    let down = try Self.evaluate("return ta.crossunder({3, 1}, 2) and 1 or 0", store: store)
    #expect(Self.number(down) == 1)
    let none = try Self.evaluate("return ta.crossover({3, 4}, 2) and 1 or 0", store: store)
    #expect(Self.number(none) == 0)
  }

  @Test("bad arguments are errors naming the strategy's file and line; ta is read-only")
  func errors() throws {
    let store = Self.store(count: 30)
    guard case .failed(let message) = try Self.evaluate("return ta.rsi('x', 14)", store: store)
    else {
      Issue.record("expected an error")
      return
    }
    #expect(message.contains("Strategies/t.lua:3:"))
    #expect(message.contains("ta.rsi: argument 1"))
    guard case .failed(let m2) = try Self.evaluate("ta.rsi = nil return 1", store: store) else {
      Issue.record("expected an error")
      return
    }
    #expect(m2.contains("read-only"))
  }

  @Test(
    "only a kline column view or a list is a series: other userdata and values are refused",
    arguments: ["k", "s.klines", "ta.rsi", "io", "true"])
  func notAColumn(argument: String) throws {
    let store = Self.store(count: 30)
    guard
      case .failed(let message) = try Self.evaluate("return ta.rsi(\(argument), 14)", store: store)
    else {
      Issue.record("expected an error for \(argument)")
      return
    }
    #expect(message.contains("ta.rsi: argument 1"))
  }

  @Test("columns are told apart by their view, with and without reading the userdata layout")
  func columnRecognition() throws {
    let store = Self.store(count: 30)
    store.materializeNewest(0, interval: 0)
    let series = try #require(store.series(0, interval: 0))
    for (column, c) in [("high", KlineSeries.Column.high), ("close", .close)] {
      let values = UnsafeBufferPointer(start: series.values(c), count: series.count)
      let got = Self.number(try Self.evaluate("return ta.rsi(k.\(column), 14)", store: store))
      #expect(got == TA.rsi(values, 14))
    }
    // The layout check holds on this Lua, and both ways of reading a view agree.
    let runtime = try StrategyRuntime(store: store, limits: SandboxLimits())
    let L = runtime.L
    #expect(clua_udatalayout(L) == 1)
    let a = lua_newuserdatauv(L, 16, 0)
    lua_createtable(L, 0, 0)
    let meta = lua_topointer(L, -1)
    lua_setmetatable(L, -2)
    let b = lua_newuserdatauv(L, 16, 0)  // no metatable
    lua_createtable(L, 0, 0)  // a table
    lua_pushlightuserdata(L, a)  // a light userdata with a's address
    let top = lua_gettop(L)
    for layout: Int32 in [0, 1] {
      #expect(clua_viewof(L, top - 3, meta, layout) == a)
      #expect(clua_viewof(L, top - 2, meta, layout) == nil)
      #expect(b != nil)
      #expect(clua_viewof(L, top - 1, meta, layout) == nil)
      #expect(clua_viewof(L, top, meta, layout) == nil)
      #expect(clua_viewof(L, top - 3, nil, layout) == nil)
    }
    lua_settop(L, top - 4)
  }

  @Test("strategies asking for the same indicator on the same data share one computation")
  func cache() throws {
    let store = Self.store(count: 300)
    let runtime = try StrategyRuntime(store: store, limits: SandboxLimits())
    var compiled: [StrategyRuntime.Compiled] = []
    for id in ["a", "b", "c"] {
      let source = """
        return { timeframes = { "1m" }, filter = function(s)
          return true, ta.rsi(s.klines["1m"].close, 14) end }
        """
      compiled.append(
        try runtime.compile(StrategySource(id: id, path: "\(id).lua", source: source)))
    }
    runtime.install(compiled)
    runtime.prepareView(0)
    var infos: [DiffInfo?] = []
    for k in 0..<3 {
      if case .match(let info) = runtime.evaluate(k, symbol: 0) { infos.append(info) }
    }
    #expect(infos.count == 3)
    #expect(Set(infos.map { "\(String(describing: $0))" }).count == 1)
    // RSI is kept incrementally: one state for the three strategies.
    #expect(runtime.smoothingStates.count == 1)
    // New data for the symbol: the cached value is not reused.
    _ = store.apply(
      .kline(
        KlineEvent(
          symbol: "XUSDT", eventTime: 2, interval: "1m", openTime: 300 * 60_000, open: 1, high: 1,
          low: 1, close: 1, volume: 1, isClosed: false)))
    runtime.prepareView(0)
    guard case .match(let fresh) = runtime.evaluate(0, symbol: 0) else {
      Issue.record("expected a match")
      return
    }
    #expect(fresh != infos[0])
  }
}

@Suite("Incremental ta.rsi and ta.ema")
struct IncrementalTATests {
  /// Drives a symbol through replaced and appended candles (and, with a small max_candles,
  /// past the point where the oldest candles are dropped) and checks every call against the
  /// full TA-Lib-compatible computation on the store's current series.
  @Test(
    "equal to the full computation while candles are replaced, appended and dropped",
    arguments: [40, 500])
  func matchesFull(maxCandles: Int) throws {
    let store = MarketStore(maxSymbols: 2, maxCandles: maxCandles)
    var f = TickerFields()
    f.price = 1
    _ = store.apply(.ticker(TickerEvent(symbol: "X", eventTime: 1, isMini: false, fields: f)))
    let runtime = try StrategyRuntime(store: store, limits: SandboxLimits())
    let source = """
      return { timeframes = { "1m" }, filter = function(s)
        local c = s.klines["1m"].close
        local r, e = ta.rsi(c, 14), ta.ema(c, 9)
        return true, string.format("%.17g %.17g", r or -1, e or -1)
      end }
      """
    runtime.install([try runtime.compile(StrategySource(id: "t", path: "t.lua", source: source))])
    var rng = SplitMix(seed: 5)
    var price = 100.0
    var openTime: Int64 = 0
    var checked = 0
    for step in 0..<1500 {
      // Mostly replace the newest candle, sometimes append one, sometimes skip a call.
      if step % 4 == 0 { openTime += 60_000 }
      price *= 1 + (Double(rng.next() % 2001) - 1000) / 100_000
      _ = store.apply(
        .kline(
          KlineEvent(
            symbol: "X", eventTime: 1, interval: "1m", openTime: openTime, open: price, high: price,
            low: price, close: price, volume: 1, isClosed: false)))
      if rng.next() % 5 == 0 { continue }
      runtime.prepareView(0)
      guard case .match(let info) = runtime.evaluate(0, symbol: 0), case .string(let text) = info
      else { continue }
      let got = text.split(separator: " ").compactMap { Double($0) }
      store.materializeNewest(0, interval: 0)
      let series = try #require(store.series(0, interval: 0))
      let close = UnsafeBufferPointer(start: series.values(.close), count: series.count)
      let expected = [TA.rsi(close, 14) ?? -1, TA.ema(close, 9) ?? -1]
      #expect(got.count == 2)
      for (g, e) in zip(got, expected) {
        // The documented tolerance: 1e-8 of the inputs' magnitude (prices ~100, RSI 0...100).
        #expect(abs(g - e) <= 1e-8 * max(100, abs(e)), "step \(step): \(g) vs \(e)")
      }
      checked += 1
    }
    #expect(checked > 1000)
  }
}

@Suite("ta.ema/ta.rsi over many periods")
struct ManyPeriodsTests {
  @Test("right past the state table's kinds, and no state for periods TA-Lib rejects")
  func manyPeriods() throws {
    let store = TALibraryTests.store(count: 120)
    store.materializeNewest(0, interval: 0)
    let series = try #require(store.series(0, interval: 0))
    let close = UnsafeBufferPointer(start: series.values(.close), count: series.count)
    func list(_ values: [Double?]) -> String {
      "{" + values.map { $0.map { String(format: "%.17g", $0) } ?? "false" }.joined(separator: ",")
        + "}"
    }
    // The filter counts the values that differ from TA's (nil expected: `false` in the list).
    let source = """
      local ema, rsi = \(list((1...60).map { TA.ema(close, $0) })), \(list((0...60).map { TA.rsi(close, $0) }))
      local function off(got, want)
        if want == false then return got ~= nil end
        return got == nil or math.abs(got - want) > 1e-8 * math.max(100, math.abs(want))
      end
      return { timeframes = { "1m" }, filter = function(s)
        local c, bad = s.klines["1m"].close, 0
        for n = 1, 60 do if off(ta.ema(c, n), ema[n]) then bad = bad + 1 end end
        for n = 0, 60 do if off(ta.rsi(c, n), rsi[n + 1]) then bad = bad + 1 end end
        return true, bad
      end }
      """
    let runtime = try StrategyRuntime(store: store, limits: SandboxLimits())
    runtime.install([try runtime.compile(StrategySource(id: "m", path: "m.lua", source: source))])
    // Twice: the first call builds states, the second reads them (or computes in full).
    for _ in 0..<2 {
      runtime.prepareView(0)
      #expect(TALibraryTests.number(runtime.evaluate(0, symbol: 0)) == 0)
    }
    // The table stops at its cap.
    #expect(runtime.smoothingStates.kinds == SmoothingTable.maxKinds)
    #expect(runtime.smoothingStates.count == SmoothingTable.maxKinds)
    // Periods TA-Lib rejects get no kind (and a nil result).
    let rejected = try StrategyRuntime(store: store, limits: SandboxLimits())
    let bad = """
      return { timeframes = { "1m" }, filter = function(s)
        local c = s.klines["1m"].close
        return true, (ta.rsi(c, 1) or ta.rsi(c, 0) or ta.ema(c, 0) or ta.ema(c, -3)) and 1 or 0
      end }
      """
    rejected.install([try rejected.compile(StrategySource(id: "r", path: "r.lua", source: bad))])
    rejected.prepareView(0)
    #expect(TALibraryTests.number(rejected.evaluate(0, symbol: 0)) == 0)
    #expect(rejected.smoothingStates.kinds == 0)
  }
}

@Suite("Smoothing state table")
struct SmoothingTableTests {
  @Test("one state per symbol and kind, stable while kinds are added, across chunk bounds")
  func statesPerSymbolAndKind() throws {
    let table = SmoothingTable(symbols: 600)
    let symbols: [Int32] = [0, 1, 255, 256, 511, 512, 599]
    // More kinds than the table starts with room for (4), differing in every field.
    var kinds: [UInt64] = []
    for k in 0..<10 {
      let function: UInt8 = k % 2 == 0 ? 2 : 4
      kinds.append(
        SmoothingTable.kind(
          interval: Int16(k % 3), column: Int8(k % 5), function: function, period: Int32(10 + k)))
    }
    #expect(Set(kinds).count == kinds.count)
    var pointers: [UnsafeMutablePointer<SmoothingState>] = []
    for (k, kind) in kinds.enumerated() {
      for symbol in symbols {
        let p = try #require(table.state(symbol, kind: kind))
        #expect(p.pointee.isEmpty)
        p.pointee.appends = k * 1000 + Int(symbol)
        pointers.append(p)
      }
    }
    #expect(table.count == kinds.count * symbols.count)
    var i = 0
    for (k, kind) in kinds.enumerated() {
      for symbol in symbols {
        let p = try #require(table.state(symbol, kind: kind))
        #expect(p == pointers[i])
        #expect(p.pointee.appends == k * 1000 + Int(symbol))
        i += 1
      }
    }
    // Kinds are capped: beyond them there is no state (the caller computes in full).
    for k in kinds.count..<SmoothingTable.maxKinds {
      #expect(table.state(0, kind: UInt64(1000 + k)) != nil)
    }
    #expect(table.state(0, kind: 999_999) == nil)
    #expect(table.kinds == SmoothingTable.maxKinds)
    #expect(table.state(0, kind: kinds[3]) == pointers[3 * symbols.count])
    #expect(table.state(600, kind: kinds[0]) == nil)
    #expect(table.state(-1, kind: kinds[0]) == nil)
    #expect(table.state(2, kind: kinds[9])?.pointee.isEmpty == true)
  }
}
