import CLua
import CLuaHost
import Indicators
import LuaKit
import Tracking

extension TALibrary {
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
      let start = slot.pointee?.values(column)
      if p.closedOnly != 0 {
        // A view ending at the last closed candle (`trigger = "close"`): the window's count,
        // every value in storage, computed in full (no incremental state follows it).
        slot.pointee?.materialize()
        return Series(
          values: UnsafeBufferPointer(start: start, count: Int(p.window.pointee.count)),
          key: (p.symbol, Self.closedKey(p.interval), Int8(p.column)))
      }
      if materialize { slot.pointee?.materialize() }
      let count = slot.pointee?.count ?? 0
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
    let closed = p.closedOnly != 0
    let key = (p.symbol, closed ? Self.closedKey(p.interval) : Int16(p.interval))
    p.slot.pointee?.materialize()
    guard let s = rt.store.series(p.symbol, interval: Int(p.interval)) else {
      let empty = UnsafeBufferPointer<Double>(start: nil, count: 0)
      return (empty, empty, empty, empty, key)
    }
    let count = closed ? Int(p.window.pointee.count) : s.count
    func column(_ c: KlineSeries.Column) -> UnsafeBufferPointer<Double> {
      UnsafeBufferPointer(start: s.values(c), count: count)
    }
    return (column(.high), column(.low), column(.close), column(.volume), key)
  }

  package static func integer(_ L: OpaquePointer?, _ arg: Int32, default value: Int? = nil) -> Int?
  {
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

  /// The interval in the cache key of a view ending at the last closed candle: the interval
  /// index with a bit no index has (there are far fewer intervals), so its cached results
  /// never meet those of the full series.
  @inline(__always)
  static func closedKey(_ interval: Int32) -> Int16 { Int16(truncatingIfNeeded: interval) | 0x4000 }
}
