import CLua
import CLuaHost
import Indicators
import LuaKit
import Tracking

/// What a cached indicator value was computed from.
package struct IndicatorKey: Hashable {
  package var symbol: Int32
  package var interval: Int16
  package var column: Int8
  package var function: UInt8
  package var a: Int32
  package var b: Int32
  package var c: Int32
  package var d: UInt64
}

/// The running state of an EMA or RSI over a column's candles but the newest.
package struct SmoothingState: BitwiseCopyable {
  package var ema: EMAState?
  package var rsi: RSIState?
  /// The series' append count and length when the state was last brought up to date: it
  /// then covers every candle but the newest.
  package var appends = -1
  package var count = 0

  /// No series yet (``isEmpty``).
  package init() {}

  package var isEmpty: Bool { appends < 0 }

  init?(id: UInt8, n: Int, values: UnsafeBufferPointer<Double>) {
    if id == 2 {
      guard let s = EMAState(period: n, series: values) else { return nil }
      ema = s
    } else {
      guard let s = RSIState(period: n, series: values) else { return nil }
      rsi = s
    }
  }

  package mutating func append(_ x: Double) {
    ema?.append(x)
    rsi?.append(x)
  }

  package func value(appending x: Double) -> Double? {
    if let ema { return ema.value(appending: x) }
    return rsi?.value(appending: x)
  }
}

/// A cached indicator result, valid while the symbol's store version is `version`.
package struct IndicatorValue: BitwiseCopyable {
  package var version: UInt64
  package var count: Int8  // 0: nil result
  package var r0: Double
  package var r1: Double
  package var r2: Double
}

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

  // MARK: Inputs

  /// A resolved numeric series: either a store column (cacheable) or a copied Lua list.
  package struct Series {
    package var values: UnsafeBufferPointer<Double>
    package var key: (symbol: Int32, interval: Int16, column: Int8)?
    /// The store's slot of the series behind a column view, and the column (a pointer, not
    /// a copy: the series struct is 100-odd bytes, and copying it through the optionals
    /// here showed as store-forwarding stalls in profiles).
    package var kline: (slot: UnsafeMutablePointer<KlineSeries?>, column: KlineSeries.Column)? = nil
  }

  @inline(__always)
  package static func runtime(_ L: OpaquePointer?) -> StrategyRuntime? {
    guard let p = lua_touserdata(L, clua_upvalueindex(2)) else { return nil }
    return Unmanaged<StrategyRuntime>.fromOpaque(p).takeUnretainedValue()
  }

  /// Pushes `where: message` and returns the error marker for the trampoline.
  package static func fail(_ L: OpaquePointer?, _ message: String) -> Int32 {
    luaL_where(L, 1)
    lua_pushstring(L, message)
    lua_concat(L, 2)
    return -1
  }

  /// The series at argument `arg`: a kline column view or a list of numbers. A column's
  /// newest candle is written into the store first (``MarketStore/materializeNewest``) unless
  /// `materialize` is false (then only `values[0..<count-1]` and the series' `newest` may be
  /// read).
  package static func series(
    _ L: OpaquePointer?, _ arg: Int32, _ rt: StrategyRuntime, slot: Int, materialize: Bool = true
  ) -> Series? {
    if let p = rt.columnPayload(arg) {
      let slot = p.slot
      guard let column = KlineSeries.Column(rawValue: Int(p.column)), slot.pointee != nil else {
        return Series(values: UnsafeBufferPointer(start: nil, count: 0), key: nil)
      }
      if materialize { slot.pointee?.materialize() }
      let count = slot.pointee?.count ?? 0
      let start = slot.pointee?.values(column)
      return Series(
        values: UnsafeBufferPointer(start: start, count: count),
        key: (p.symbol, Int16(p.interval), Int8(p.column)), kline: (slot, column))
    }
    guard lua_type(L, arg) == LUA_TTABLE else { return nil }
    let n = Int(lua_rawlen(L, arg))
    // Reading and computing over a list is work done in Swift, charged to the call's budget
    // like the library's C functions; past it, an empty series (the call fails at its next
    // instruction).
    guard clua_trycharge(L, n / 4) != 0 else {
      return Series(values: UnsafeBufferPointer(start: nil, count: 0), key: nil)
    }
    let buffer = rt.scratchBuffer(slot, count: max(1, n))
    for i in 0..<n {
      lua_rawgeti(L, arg, lua_Integer(i + 1))
      var isNumber: Int32 = 0
      let v = lua_tonumberx(L, -1, &isNumber)
      clua_pop(L, 1)
      guard isNumber != 0 else { return nil }
      buffer[i] = v
    }
    return Series(values: UnsafeBufferPointer(start: buffer, count: n), key: nil)
  }

  /// The columns of the kline series view at argument `arg`.
  package static func klines(_ L: OpaquePointer?, _ arg: Int32, _ rt: StrategyRuntime) -> (
    high: UnsafeBufferPointer<Double>, low: UnsafeBufferPointer<Double>,
    close: UnsafeBufferPointer<Double>, volume: UnsafeBufferPointer<Double>,
    key: (symbol: Int32, interval: Int16)
  )? {
    guard let p = rt.seriesPayload(arg) else { return nil }
    let key = (p.symbol, Int16(p.interval))
    p.slot.pointee?.materialize()
    guard let s = rt.store.series(p.symbol, interval: Int(p.interval)) else {
      let empty = UnsafeBufferPointer<Double>(start: nil, count: 0)
      return (empty, empty, empty, empty, key)
    }
    func column(_ c: KlineSeries.Column) -> UnsafeBufferPointer<Double> {
      UnsafeBufferPointer(start: s.values(c), count: s.count)
    }
    return (column(.high), column(.low), column(.close), column(.volume), key)
  }

  package static func integer(_ L: OpaquePointer?, _ arg: Int32, default value: Int? = nil) -> Int? {
    if let value, lua_type(L, arg) <= LUA_TNIL { return value }
    var isInteger: Int32 = 0
    let v = clua_tointeger(L, arg, &isInteger)
    return isInteger != 0 ? Int(v) : nil
  }

  package static func number(_ L: OpaquePointer?, _ arg: Int32, default value: Double) -> Double? {
    if lua_type(L, arg) <= LUA_TNIL { return value }
    var isNumber: Int32 = 0
    let v = lua_tonumberx(L, arg, &isNumber)
    return isNumber != 0 ? v : nil
  }

  // MARK: Caching and results

  /// Looks up `key` in the runtime's cache (when the input is a store view), else computes.
  @inline(__always)
  package static func cached(
    _ rt: StrategyRuntime, _ key: IndicatorKey?, compute: () -> (Int8, Double, Double, Double)
  ) -> (Int8, Double, Double, Double) {
    guard let key else { return compute() }
    let version = rt.store.version(key.symbol)
    if let hit = rt.indicatorCache[key], hit.version == version {
      return (hit.count, hit.r0, hit.r1, hit.r2)
    }
    let r = compute()
    if rt.indicatorCache.count > 200_000 { rt.indicatorCache.removeAll() }
    rt.indicatorCache.set(
      key, IndicatorValue(version: version, count: r.0, r0: r.1, r1: r.2, r2: r.3))
    return r
  }

  package static func push(_ L: OpaquePointer?, _ r: (Int8, Double, Double, Double)) -> Int32 {
    switch r.0 {
    case 0:
      lua_pushnil(L)
      return 1
    case 1:
      lua_pushnumber(L, r.1)
      return 1
    case 2:
      lua_pushnumber(L, r.1)
      lua_pushnumber(L, r.2)
      return 2
    default:
      lua_pushnumber(L, r.1)
      lua_pushnumber(L, r.2)
      lua_pushnumber(L, r.3)
      return 3
    }
  }

  package static func one(_ v: Double?) -> (Int8, Double, Double, Double) {
    v.map { (1, $0, 0, 0) } ?? (0, 0, 0, 0)
  }

  package static func key(
    _ s: Series, _ function: UInt8, _ a: Int = 0, _ b: Int = 0, _ c: Int = 0, _ d: Double = 0
  ) -> IndicatorKey? {
    guard let k = s.key else { return nil }
    return IndicatorKey(
      symbol: k.symbol, interval: k.interval, column: k.column, function: function,
      a: Int32(clamping: a), b: Int32(clamping: b), c: Int32(clamping: c), d: d.bitPattern)
  }

  package static func key(
    _ k: (symbol: Int32, interval: Int16), _ function: UInt8, _ a: Int = 0, _ b: Int = 0,
    _ c: Int = 0
  ) -> IndicatorKey {
    IndicatorKey(
      symbol: k.symbol, interval: k.interval, column: -1, function: function,
      a: Int32(clamping: a), b: Int32(clamping: b), c: Int32(clamping: c), d: 0)
  }

  // MARK: Incremental EMA and RSI

  /// EMA and RSI smooth over the whole series, so a full computation is O(candles). On a
  /// store column they are kept incrementally instead: a state covering every candle but the
  /// newest, advanced by one when a candle is appended, and asked for the value with the
  /// newest (possibly still open) candle added, O(1). Equal to the full computation: the
  /// only divergence is when the store drops its oldest candle (at `max_candles`), whose
  /// weight in the smoothing is then below (1 − 1/n)^(candles − n); the state is rebuilt
  /// unless that is under 1e-12 (at least 30·n candles).
  package static func incremental(_ L: OpaquePointer?, name: String, id: UInt8) -> Int32 {
    guard let p = lua_touserdata(L, clua_upvalueindex(2)) else {
      return fail(L, "ta.\(name): runtime unavailable")
    }
    // The runtime owns the Lua state this call runs in, so it outlives the call: borrowed
    // without a retain/release pair (two atomic operations per call, on the hot path).
    return Unmanaged<StrategyRuntime>.fromOpaque(p)._withUnsafeGuaranteedRef {
      incremental(L, name: name, id: id, rt: $0)
    }
  }

  @inline(__always)
  private static func incremental(
    _ L: OpaquePointer?, name: String, id: UInt8, rt: StrategyRuntime
  ) -> Int32 {
    // Not materialized: the O(1) path reads the newest value from beside the series' pointer
    // and older candles only; every other path materializes first.
    guard let s = series(L, 1, rt, slot: 0, materialize: false) else {
      return fail(
        L, "ta.\(name): argument 1 must be a kline column (like k.close) or a list of numbers")
    }
    guard let n = integer(L, 2) else {
      return fail(L, "ta.\(name): argument 2 (period) must be an integer")
    }
    let x = s.values
    func full() -> Double? {
      s.kline?.slot.pointee?.materialize()
      return id == 2 ? TA.ema(x, n) : TA.rsi(x, n)
    }
    guard let k = s.key, x.count >= 2, let (slot, column) = s.kline,
      let appends = slot.pointee?.appends, let limit = slot.pointee?.limit,
      let newest = slot.pointee?.newest(column)
    else {
      return push(L, one(full()))
    }
    let count = x.count
    // Which candles the state covers is told by the series' append count: no candle storage
    // is read on the O(1) path (the newest value comes from beside the series' pointer), so
    // a cycle over thousands of cold symbols costs no miss in their candles.
    let kind = SmoothingTable.kind(
      interval: k.interval, column: k.column, function: id, period: Int32(clamping: n))
    // No state for a period TA-Lib rejects (the result is nil), nor beyond the table's kinds.
    guard id == 2 ? EMAState.accepts(period: n) : RSIState.accepts(period: n),
      let e = rt.smoothingStates.state(k.symbol, kind: kind)
    else {
      return push(L, one(full()))
    }
    if !e.pointee.isEmpty {
      if e.pointee.appends == appends, e.pointee.count == count {
        // Same candles but the newest: O(1).
        return push(L, one(e.pointee.value(appending: newest)))
      }
      if count >= 3, e.pointee.appends == appends - 1,
        e.pointee.count == count - 1
          || (e.pointee.count == count && count == limit && count >= 30 * max(1, n))
      {
        // One candle appended since: fold the previous newest in (in place).
        e.pointee.append(x[count - 2])
        e.pointee.appends = appends
        e.pointee.count = count
        return push(L, one(e.pointee.value(appending: newest)))
      }
    }
    guard
      var state = SmoothingState(
        id: id, n: n, values: UnsafeBufferPointer(rebasing: x[0..<(count - 1)]))
    else {
      e.pointee = SmoothingState()
      return push(L, one(full()))
    }
    state.appends = appends
    state.count = count
    e.pointee = state
    return push(L, one(state.value(appending: newest)))
  }

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

  package static let sma: clua_SwiftFunction = { L in periodic(L, name: "sma", id: 1) { TA.sma($0, $1) } }
  package static let ema: clua_SwiftFunction = { L in incremental(L, name: "ema", id: 2) }
  package static let wma: clua_SwiftFunction = { L in periodic(L, name: "wma", id: 3) { TA.wma($0, $1) } }
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
  package static let roc: clua_SwiftFunction = { L in periodic(L, name: "roc", id: 8) { TA.roc($0, $1) } }

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

  // MARK: Crossings

  /// The last two values of argument `arg`: a series (column or list) or a number.
  package static func lastTwo(_ L: OpaquePointer?, _ arg: Int32, _ rt: StrategyRuntime, slot: Int) -> (
    Double, Double
  )?? {
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

  package static let crossover: clua_SwiftFunction = { L in crossing(L, name: "crossover", above: true) }
  package static let crossunder: clua_SwiftFunction = { L in crossing(L, name: "crossunder", above: false) }
}
