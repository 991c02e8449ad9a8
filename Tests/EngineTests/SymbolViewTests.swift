import CLua
import CLuaHost
import Testing
import Tracking

@testable import Engine
@testable import Evaluation

/// The symbol view `s` and its kline views, read through one worker's runtime while it moves
/// from symbol to symbol (the kline views are shared per worker and follow the symbol being
/// evaluated, so a switch must never show another symbol's candles).
@Suite("Symbol and kline views")
struct SymbolViewTests {
  /// A: 12 candles in 1m and 3 in 5m; B: 5 in 1m; C: no candles. Every close is unique:
  /// symbol index × 1000 + interval × 100 + candle index.
  static func store() -> MarketStore {
    let store = MarketStore(maxSymbols: 8, maxCandles: 50)
    let plan: [(String, [(String, Int)])] = [
      ("AUSDT", [("1m", 12), ("5m", 3)]), ("BUSDT", [("1m", 5)]), ("CUSDT", []),
    ]
    for (s, (name, series)) in plan.enumerated() {
      var f = TickerFields()
      f.price = Double(s + 1)
      f.changePct = Double(s) * 10
      _ = store.apply(.ticker(TickerEvent(symbol: name, eventTime: 1, isMini: false, fields: f)))
      for (iv, (interval, count)) in series.enumerated() {
        for c in 0..<count {
          let close = Double(s * 1000 + iv * 100 + c)
          _ = store.apply(
            .kline(
              KlineEvent(
                symbol: name, eventTime: 1, interval: interval, openTime: Int64(c) * 60_000,
                open: close - 1, high: close + 1, low: close - 2, close: close, volume: 1,
                isClosed: true)))
        }
      }
    }
    return store
  }

  static func runtime(_ store: MarketStore, _ filter: String) throws -> StrategyRuntime {
    let runtime = try StrategyRuntime(store: store, limits: SandboxLimits())
    let compiled = try runtime.compile(
      StrategySource(
        id: "v", path: "Strategies/v.lua", source: "return { filter = function(s) \(filter) end }"
      ))
    runtime.install([compiled])
    return runtime
  }

  static func info(_ outcome: Outcome) -> String? {
    switch outcome {
    case .match(.string(let s)): s
    case .failed(let message): "error: \(message)"
    default: nil
    }
  }

  @Test("each symbol sees its own fields and candles, in any order of evaluation")
  func followsTheSymbol() throws {
    let store = Self.store()
    let runtime = try Self.runtime(
      store,
      """
      local k1, k5 = s.klines["1m"], s.klines["5m"]
      local d = s.symbol .. " " .. s.price .. " " .. s.change_pct
      if k1 then
        d = d .. " 1m:" .. #k1 .. "/" .. #k1.close .. " " .. k1.close[1] .. ".." .. k1.close[#k1]
          .. " h" .. k1.high[#k1] .. " l" .. k1.low[1]
      else
        d = d .. " no1m"
      end
      if k5 then d = d .. " 5m:" .. #k5 .. " " .. k5.close[#k5] else d = d .. " no5m" end
      return true, d
      """)
    let expected = [
      "AUSDT 1.0 0.0 1m:12/12 0.0..11.0 h12.0 l-2.0 5m:3 102.0",
      "BUSDT 2.0 10.0 1m:5/5 1000.0..1004.0 h1005.0 l998.0 no5m",
      "CUSDT 3.0 20.0 no1m no5m",
    ]
    for symbol in [0, 1, 2, 1, 0, 2, 2, 0] as [Int32] {
      #expect(Self.info(runtime.evaluate(0, symbol: symbol)) == expected[Int(symbol)])
    }
  }

  @Test("indexing outside 1..#k, or with a non-integer, gives nil")
  func outOfRange() throws {
    let store = Self.store()
    let runtime = try Self.runtime(
      store,
      """
      local c = s.klines["1m"].close
      local r = {}
      for _, i in ipairs({ 0, -1, #c + 1, 1.5 }) do r[#r + 1] = tostring(c[i]) end
      r[#r + 1] = tostring(c.x)
      r[#r + 1] = tostring(s.klines["1m"].nothing)
      r[#r + 1] = tostring(s.klines["15m"])
      return true, table.concat(r, ",")
      """)
    #expect(Self.info(runtime.evaluate(0, symbol: 1)) == "nil,nil,nil,nil,nil,nil,nil")
  }

  @Test(
    "views are read-only and keep their metatables",
    arguments: [
      #"s.klines["1m"] = 1"#, #"s.klines["1m"].close = 1"#, #"s.klines["1m"].close[1] = 1"#,
      "s.klines.x = 1", "rawset(s.klines, 'x', 1)", "setmetatable(s.klines['1m'], {})",
    ])
  func readOnly(statement: String) throws {
    let store = Self.store()
    let runtime = try Self.runtime(store, "\(statement) return true, 'wrote'")
    let result = Self.info(runtime.evaluate(0, symbol: 0)) ?? ""
    if statement.hasPrefix("s.") {
      #expect(result.hasPrefix("error: Strategies/v.lua:1: attempt to modify a read-only"))
    } else {
      // Library functions (and the sandbox's rawset guard) refuse the view.
      #expect(result.hasPrefix("error: "), "\(result)")
    }
    let meta = try Self.runtime(
      store,
      "return true, tostring(getmetatable(s.klines)) .. tostring(getmetatable(s.klines['1m']))"
        + " .. tostring(getmetatable(s.klines['1m'].close))")
    #expect(Self.info(meta.evaluate(0, symbol: 0)) == "falsefalsefalse")
  }

  @Test(
    "s is read-only: writes, rawset and the table behind pairs are refused; pairs lists the fields")
  func symbolViewIsReadOnly() throws {
    let store = Self.store()
    for statement in ["s.price = 1", "s.klines = 1", "rawset(s, 'price', 1)"] {
      let runtime = try Self.runtime(store, "\(statement) return true, 'wrote'")
      let result = Self.info(runtime.evaluate(0, symbol: 0)) ?? ""
      #expect(result.hasPrefix("error: "), "\(statement): \(result)")
    }
    // The state handed out by pairs is not the table behind `s`.
    let hidden = try Self.runtime(
      store, "local f, t = pairs(s) return true, tostring(t) .. ' ' .. type(f)")
    #expect(Self.info(hidden.evaluate(0, symbol: 0)) == "nil function")
    let listed = try Self.runtime(
      store,
      """
      local keys = {}
      for k, v in pairs(s) do if type(v) ~= "table" and type(v) ~= "userdata" then keys[#keys + 1] = k end end
      table.sort(keys)
      return true, s.symbol .. ":" .. table.concat(keys, ",")
      """)
    #expect(
      Self.info(listed.evaluate(0, symbol: 1))
        == "BUSDT:change_pct,price,symbol,time")
    // After another symbol, `s` shows that symbol (one `s` per worker, refilled).
    #expect(
      Self.info(listed.evaluate(0, symbol: 0))
        == "AUSDT:change_pct,price,symbol,time")
  }

  @Test("a strategy's own globals never change another strategy's view of the shared ones")
  func globalsStayPerStrategy() throws {
    let store = Self.store()
    let runtime = try StrategyRuntime(store: store, limits: SandboxLimits())
    let a = try runtime.compile(
      StrategySource(
        id: "a", path: "a.lua",
        source:
          "ta = 5 math = 1 return { filter = function(s) return true, tostring(ta) .. tostring(math) end }"
      ))
    let b = try runtime.compile(
      StrategySource(
        id: "b", path: "b.lua",
        source: "return { filter = function(s) return true, type(ta.rsi) .. type(math.floor) end }")
    )
    runtime.install([a, b])
    #expect(Self.info(runtime.evaluate(0, symbol: 0)) == "51")
    #expect(Self.info(runtime.evaluate(1, symbol: 0)) == "functionfunction")
  }

  /// Every field of `s` as one string (`nil` for a field never sent).
  static let allFields = """
    local r = {}
    for _, k in ipairs({ "price", "open", "high", "low", "volume", "quote_volume", "change",
      "change_pct", "vwap", "bid", "ask", "time", "symbol" }) do r[#r + 1] = tostring(s[k]) end
    return true, table.concat(r, " ")
    """

  /// What ``allFields`` gives for `symbol` in `store` (fields hold whole numbers, so Lua
  /// prints them as `N.0`).
  static func expectedFields(_ store: MarketStore, _ symbol: Int32) -> String {
    let t = store.ticker(symbol)
    let f = t.fields
    let numbers = [
      f.price, f.open, f.high, f.low, f.volume, f.quoteVolume, f.change, f.changePct, f.vwap,
      f.bid, f.ask,
    ].map { $0.isNaN ? "nil" : "\(Int($0)).0" }
    return (numbers + ["\(t.time)", store.name(of: symbol)]).joined(separator: " ")
  }

  /// Fields are written straight into the table behind `s` (`clua_directfill`); fields never
  /// sent are nil, also after full collections clear the keys of nil fields, in lazy and in
  /// eager fills.
  @Test("s shows each symbol's fields through direct fills, nil fields and collections")
  func directFills() throws {
    let store = MarketStore(maxSymbols: 16, maxCandles: 10)
    var rng = SystemRandomNumberGenerator()
    /// A full ticker (every field) or a mini ticker (no vwap, bid, ask for a new symbol).
    func tick(_ s: Int, _ version: Int, mini: Bool) {
      var f = TickerFields()
      let base = Double(s * 100 + version * 1000)
      f.price = base + 1
      // A mini ticker's derived change and change_pct are then 0 (printed as whole numbers).
      f.open = base + (mini ? 1 : 2)
      f.high = base + 3
      f.low = base + 4
      f.volume = base + 5
      f.quoteVolume = base + 6
      if !mini {
        f.change = base + 7
        f.changePct = base + 8
        f.vwap = base + 9
        f.bid = base + 10
        f.ask = base + 11
      }
      _ = store.apply(
        .ticker(
          TickerEvent(
            symbol: "S\(s)USDT", eventTime: Int64(version * 10 + s), isMini: mini, fields: f)))
    }
    // Symbols 0-3 full tickers, 4-7 mini tickers only (vwap, bid, ask never sent).
    for s in 0..<8 { tick(s, 0, mini: s >= 4) }
    let runtime = try Self.runtime(store, Self.allFields)
    #expect(runtime.directFill, "this Lua build's table layout passed the direct-fill checks")
    var version = 1
    for step in 0..<600 {
      let symbol = Int32(Int.random(in: 0..<8, using: &rng))
      #expect(
        Self.info(runtime.evaluate(0, symbol: symbol)) == Self.expectedFields(store, symbol),
        "step \(step), symbol \(symbol)")
      // A full collection clears the keys of fields whose value is nil (the mini tickers').
      if step % 7 == 0 { clua_fullgc(runtime.L) }
      if step % 11 == 0 {
        let s = Int.random(in: 0..<8, using: &rng)
        tick(s, version, mini: s >= 4)
        version += 1
      }
      // Switches between lazy fills (first field read) and eager ones (before the call).
      if step % 50 == 49 { runtime.beginPass() }
    }
  }
}
