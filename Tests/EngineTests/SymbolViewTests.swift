import Testing
import Tracking

@testable import Engine

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

  static func info(_ outcome: StrategyRuntime.Outcome) -> String? {
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
}
