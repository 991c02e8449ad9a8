import CLua
import CLuaHost
import LuaKit
import Support
import Tracking

/// The result of one filter call.
package enum Outcome {
  case match(DiffInfo?)
  case noMatch
  case notEvaluable
  case failed(String)
}

extension StrategyRuntime {
  /// What the evaluation loop needs of each strategy, copied out once per job so the loop
  /// touches only local arrays.
  package struct Plan {
    package var filterRefs: [Int32]
    package var callClasses: [Int32]
    package var guards: [UnsafeMutablePointer<clua_EnvGuard>?]
    package var minCandles: [Int]
    /// Store interval index of each declared timeframe (-1: not seen yet, so no candles).
    package var intervals: [[Int]]
    /// Strategies whose signals the engine gates (confirmation, cooldown): their workers
    /// report every match, not only changes, so the gate knows the latest price and info.
    package var gated: [Bool]
    /// Strategies with `trigger = "close"`.
    package var onClose: [Bool]
  }

  package func makePlan() -> Plan {
    Plan(
      filterRefs: strategies.map(\.filterRef), callClasses: strategies.map(\.callClass),
      guards: strategies.map { $0.envGuard?.pointer },
      minCandles: strategies.map(\.info.minCandles),
      intervals: strategies.map { c in c.info.timeframes.map { store.knownIntervalIndex($0) ?? -1 }
      }, gated: strategies.map(\.info.isGated),
      onClose: strategies.map { $0.info.trigger == .close })
  }

  /// Whether `symbol` has the data strategy `k` needs (`min_candles` candles in every
  /// declared timeframe; the ticker is checked by the caller).
  @inline(__always)
  package func isEvaluable(_ k: Int, symbol: Int32, plan: Plan) -> Bool {
    let minCandles = plan.minCandles[k]
    guard minCandles > 0 else { return true }
    for iv in plan.intervals[k] {
      guard iv >= 0, store.candleCount(symbol, interval: iv) >= minCandles else { return false }
    }
    return true
  }

  /// Calls strategy `k`'s filter on `symbol` (whose view must be prepared); convenience for
  /// tools and tests.
  package func evaluate(_ k: Int, symbol: Int32) -> Outcome {
    let plan = makePlan()
    guard store.ticker(symbol).hasTicker, isEvaluable(k, symbol: symbol, plan: plan) else {
      return .notEvaluable
    }
    return call(
      plan.filterRefs[k], callClass: plan.callClasses[k], envGuard: plan.guards[k],
      proxy: prepareView(symbol), tag: Self.callTag(strategy: k, symbol: symbol),
      path: strategies[k].info.path)
  }

  /// What a filter call evaluates, as a watchdog on another thread reads it (`clua_tagof`):
  /// the strategy's index and the symbol's.
  @inline(__always)
  package static func callTag(strategy: Int, symbol: Int32) -> UInt64 {
    UInt64(truncatingIfNeeded: strategy) << 32 | UInt64(UInt32(bitPattern: symbol))
  }

  /// The strategy and symbol indices of a ``callTag(strategy:symbol:)``.
  package static func decodeTag(_ tag: UInt64) -> (strategy: Int, symbol: Int32) {
    (Int(tag >> 32), Int32(bitPattern: UInt32(truncatingIfNeeded: tag)))
  }

  /// One filter call: the message handler sits at stack index 1 for the state's whole life,
  /// the filter and the view are pushed from the registry, the memory cap and (unless the
  /// filter's call class says it stays within it and no strategy code has set a metatable) the
  /// instruction budget are armed for the call only.
  @inline(__always)
  package func call(
    _ filterRef: Int32, callClass: Int32, envGuard: UnsafeMutablePointer<clua_EnvGuard>?,
    proxy: Int32, wantsInfo: Bool = true, tag: UInt64, path: @autoclosure () -> String
  ) -> Outcome {
    let L = self.L
    let status = clua_callfilter(L, filterRef, proxy, budget, 1, callClass, envGuard, tag)
    defer { lua_settop(L, 1) }
    guard status == LUA_OK else {
      if status == LUA_ERRMEM {
        lua_settop(L, 1)
        clua_fullgc(L)
        return .failed("not enough memory: the strategy passed the state's memory cap")
      }
      let message = state.lua.string(at: -1) ?? "error object is not a string"
      return .failed(restorePaths(message, path()))
    }
    guard lua_toboolean(L, -2) != 0 else { return .noMatch }
    // `info` only travels on an enter line: a symbol that already matched needs none.
    guard wantsInfo else { return .match(nil) }
    return .match(info(at: -1))
  }

  /// The info value at stack index `idx` (a filter's second result).
  func info(at idx: Int32) -> DiffInfo? {
    switch lua_type(L, idx) {
    case LUA_TNUMBER:
      if lua_isinteger(L, idx) != 0 { return .integer(Int64(lua_tointegerx(L, idx, nil))) }
      return .number(lua_tonumberx(L, idx, nil))
    case LUA_TSTRING:
      var length = 0
      guard let p = lua_tolstring(L, idx, &length) else { return nil }
      // An info string is a label, not a payload: keep the first 256 bytes (whole characters).
      let bytes = UnsafeRawBufferPointer(start: p, count: min(length, Self.maxInfoBytes))
      var info = String(decoding: bytes, as: UTF8.self)
      if length > Self.maxInfoBytes { info = String(info.prefix(while: { $0 != "\u{FFFD}" })) }
      return .string(info)
    default:
      return nil
    }
  }

  /// Longest `info` string kept, in bytes.
  package static let maxInfoBytes = 256
}
