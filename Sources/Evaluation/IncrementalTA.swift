import CLua
import CLuaHost
import Indicators
import LuaKit
import Tracking

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

extension TALibrary {
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
}
