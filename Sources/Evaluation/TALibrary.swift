import CLua
import CLuaHost
import Indicators
import LuaKit
import Tracking

/// The `ta` library strategies see: TA-Lib-compatible indicators computed natively over the
/// store's columns (no copy into Lua), returning the value at the newest candle or nil when
/// the series is too short. Inputs: a kline column (`k.close`) or a Lua list of numbers;
/// `atr stoch adx mfi cci willr obv vwap` take the whole series `k`.
extension StrategyRuntime {
  package func installTA() throws(LuaError) {
    let lua = state.lua
    let me = Unmanaged.passUnretained(self).toOpaque()
    lua_createtable(L, 0, Int32(TALibrary.functions.count))
    for (name, function) in TALibrary.functions {
      lua_pushlightuserdata(L, me)
      lua.push(function, upvalues: 1)
      lua_setfield(L, -2, name)
    }
    try state.makeReadonly(name: "ta")
    try state.addGlobal("ta")
  }
}

package enum TALibrary {
  package static let functions: [(String, clua_SwiftFunction)] = [
    ("sma", sma), ("ema", ema), ("wma", wma), ("rsi", rsi), ("stddev", stddev),
    ("highest", highest), ("lowest", lowest), ("roc", roc), ("macd", macd), ("bbands", bbands),
    ("atr", atr), ("adx", adx), ("stoch", stoch), ("willr", willr), ("cci", cci), ("mfi", mfi),
    ("obv", obv), ("vwap", vwap), ("crossover", crossover), ("crossunder", crossunder),
  ]
}

extension TALibrary {
  // MARK: One series and one period

  package static func periodic(
    _ L: OpaquePointer?, name: String, id: UInt8,
    _ f: @escaping (UnsafeBufferPointer<Double>, Int) -> Double?
  ) -> Int32 {
    guard let rt = runtime(L) else { return fail(L, "ta.\(name): runtime unavailable") }
    guard let s = series(L, 1, rt, slot: 0) else {
      return fail(
        L, "ta.\(name): argument 1 must be a kline column (like k.close) or a list of numbers")
    }
    guard let n = integer(L, 2) else {
      return fail(L, "ta.\(name): argument 2 (period) must be an integer")
    }
    return push(L, cached(rt, key(s, id, n)) { one(f(s.values, n)) })
  }

  package static let sma: clua_SwiftFunction = { L in
    periodic(L, name: "sma", id: 1) { TA.sma($0, $1) }
  }
  package static let ema: clua_SwiftFunction = { L in incremental(L, name: "ema", id: 2) }
  package static let wma: clua_SwiftFunction = { L in
    periodic(L, name: "wma", id: 3) { TA.wma($0, $1) }
  }
  package static let rsi: clua_SwiftFunction = { L in incremental(L, name: "rsi", id: 4) }
  package static let stddev: clua_SwiftFunction = { L in
    periodic(L, name: "stddev", id: 5) { TA.stddev($0, $1) }
  }
  package static let highest: clua_SwiftFunction = { L in
    periodic(L, name: "highest", id: 6) { TA.highest($0, $1) }
  }
  package static let lowest: clua_SwiftFunction = { L in
    periodic(L, name: "lowest", id: 7) { TA.lowest($0, $1) }
  }
  package static let roc: clua_SwiftFunction = { L in
    periodic(L, name: "roc", id: 8) { TA.roc($0, $1) }
  }

  package static let macd: clua_SwiftFunction = { L in
    guard let rt = runtime(L) else { return fail(L, "ta.macd: runtime unavailable") }
    guard let s = series(L, 1, rt, slot: 0) else {
      return fail(
        L, "ta.macd: argument 1 must be a kline column (like k.close) or a list of numbers")
    }
    guard let fast = integer(L, 2, default: 12), let slow = integer(L, 3, default: 26),
      let signal = integer(L, 4, default: 9)
    else { return fail(L, "ta.macd: fast, slow and signal periods must be integers") }
    return push(
      L,
      cached(rt, key(s, 9, fast, slow, signal)) {
        guard let r = TA.macd(s.values, fast: fast, slow: slow, signal: signal) else {
          return (0, 0, 0, 0)
        }
        return (3, r.macd, r.signal, r.histogram)
      })
  }

  package static let bbands: clua_SwiftFunction = { L in
    guard let rt = runtime(L) else { return fail(L, "ta.bbands: runtime unavailable") }
    guard let s = series(L, 1, rt, slot: 0) else {
      return fail(
        L, "ta.bbands: argument 1 must be a kline column (like k.close) or a list of numbers")
    }
    guard let n = integer(L, 2, default: 20), let k = number(L, 3, default: 2) else {
      return fail(L, "ta.bbands: the period must be an integer and the width a number")
    }
    return push(
      L,
      cached(rt, key(s, 10, n, 0, 0, k)) {
        guard let r = TA.bbands(s.values, n, k) else { return (0, 0, 0, 0) }
        return (3, r.upper, r.middle, r.lower)
      })
  }
}

extension TALibrary {
  // MARK: Whole kline series

  package static func onKlines(
    _ L: OpaquePointer?, name: String, id: UInt8, defaults: [Int],
    _ f:
      @escaping (
        (
          high: UnsafeBufferPointer<Double>, low: UnsafeBufferPointer<Double>,
          close: UnsafeBufferPointer<Double>, volume: UnsafeBufferPointer<Double>
        ), [Int]
      ) -> (Int8, Double, Double, Double)
  ) -> Int32 {
    guard let rt = runtime(L) else { return fail(L, "ta.\(name): runtime unavailable") }
    guard let k = klines(L, 1, rt) else {
      return fail(L, "ta.\(name): argument 1 must be a kline series (like s.klines[\"1m\"])")
    }
    var params: [Int] = []
    for (i, d) in defaults.enumerated() {
      guard let v = integer(L, Int32(i + 2), default: d) else {
        return fail(L, "ta.\(name): argument \(i + 2) must be an integer")
      }
      params.append(v)
    }
    let p = params + [0, 0, 0]
    return push(
      L,
      cached(rt, key(k.key, id, p[0], p[1], p[2])) {
        f((k.high, k.low, k.close, k.volume), params)
      })
  }

  package static let atr: clua_SwiftFunction = { L in
    onKlines(L, name: "atr", id: 20, defaults: [14]) { k, p in
      one(TA.atr(high: k.high, low: k.low, close: k.close, p[0]))
    }
  }
  package static let adx: clua_SwiftFunction = { L in
    onKlines(L, name: "adx", id: 21, defaults: [14]) { k, p in
      one(TA.adx(high: k.high, low: k.low, close: k.close, p[0]))
    }
  }
  package static let willr: clua_SwiftFunction = { L in
    onKlines(L, name: "willr", id: 22, defaults: [14]) { k, p in
      one(TA.willr(high: k.high, low: k.low, close: k.close, p[0]))
    }
  }
  package static let cci: clua_SwiftFunction = { L in
    onKlines(L, name: "cci", id: 23, defaults: [20]) { k, p in
      one(TA.cci(high: k.high, low: k.low, close: k.close, p[0]))
    }
  }
  package static let mfi: clua_SwiftFunction = { L in
    onKlines(L, name: "mfi", id: 24, defaults: [14]) { k, p in
      one(TA.mfi(high: k.high, low: k.low, close: k.close, volume: k.volume, p[0]))
    }
  }
  package static let obv: clua_SwiftFunction = { L in
    onKlines(L, name: "obv", id: 25, defaults: []) { k, _ in
      one(TA.obv(close: k.close, volume: k.volume))
    }
  }
  package static let vwap: clua_SwiftFunction = { L in
    onKlines(L, name: "vwap", id: 26, defaults: []) { k, _ in
      one(TA.vwap(high: k.high, low: k.low, close: k.close, volume: k.volume))
    }
  }
  package static let stoch: clua_SwiftFunction = { L in
    onKlines(L, name: "stoch", id: 27, defaults: [5, 3, 3]) { k, p in
      guard
        let r = TA.stoch(
          high: k.high, low: k.low, close: k.close, fastK: p[0], slowK: p[1], slowD: p[2])
      else { return (0, 0, 0, 0) }
      return (2, r.k, r.d, 0)
    }
  }
}

extension TALibrary {
  // MARK: Crossings

  /// The last two values of argument `arg`: a series (column or list) or a number.
  package static func lastTwo(_ L: OpaquePointer?, _ arg: Int32, _ rt: StrategyRuntime, slot: Int)
    -> (
      Double, Double
    )??
  {
    if lua_type(L, arg) == LUA_TNUMBER {
      let v = lua_tonumberx(L, arg, nil)
      return .some((v, v))
    }
    guard let s = series(L, arg, rt, slot: slot) else { return nil }
    let n = s.values.count
    guard n >= 2 else { return .some(nil) }
    return .some((s.values[n - 2], s.values[n - 1]))
  }

  package static func crossing(_ L: OpaquePointer?, name: String, above: Bool) -> Int32 {
    guard let rt = runtime(L) else { return fail(L, "ta.\(name): runtime unavailable") }
    guard let a = lastTwo(L, 1, rt, slot: 0), let b = lastTwo(L, 2, rt, slot: 1) else {
      return fail(L, "ta.\(name): arguments must be kline columns, lists of numbers or numbers")
    }
    guard let a, let b else {
      lua_pushboolean(L, 0)
      return 1
    }
    let crossed = above ? (a.0 <= b.0 && a.1 > b.1) : (a.0 >= b.0 && a.1 < b.1)
    lua_pushboolean(L, crossed ? 1 : 0)
    return 1
  }

  package static let crossover: clua_SwiftFunction = { L in
    crossing(L, name: "crossover", above: true)
  }
  package static let crossunder: clua_SwiftFunction = { L in
    crossing(L, name: "crossunder", above: false)
  }
}
